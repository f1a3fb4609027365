"""Operators create tenants: `flask create-tenant` and POST /platform/tenants (operator token only)."""

import uuid

import pytest

from app.config import ConfigError, load_config
from app.platform.outbox import relay_pending
from app.tenancy.models import Tenant
from app.tenancy.scope import PLATFORM_SCOPE, system_scope
from tests.factories import login, make_tenant
from tests.support.scope import use_scope

TOKEN = "op-" + "x" * 40
OWNER_PASSWORD = "a long owner password"


def slug() -> str:
    return f"brand-{uuid.uuid4().hex[:8]}"


def sign_in(client, tenant: str, email: str, password: str = OWNER_PASSWORD):
    return client.post("/auth/login", json={"tenant": tenant, "email": email, "password": password})


@pytest.fixture
def operator(app, monkeypatch):
    monkeypatch.setitem(app.config, "PLATFORM_API_TOKEN", TOKEN)
    return {"X-Platform-Token": TOKEN}


def test_an_operator_creates_a_tenant_from_the_cli_and_its_owner_signs_in(app, client, session):
    name = slug()
    result = app.test_cli_runner().invoke(args=[
        "create-tenant", "--slug", name, "--name", "Yunnan Tea", "--owner-email", "Boss@Yunnan.example"],
        env={"TIERMALL_OWNER_PASSWORD": OWNER_PASSWORD})
    assert result.exit_code == 0, result.output
    assert f"tenant {name}" in result.output and OWNER_PASSWORD not in result.output
    signed_in = sign_in(client, name, "boss@yunnan.example")
    assert signed_in.status_code == 200, signed_in.get_json()
    me = client.get("/network/me", headers={
        "Authorization": f"Bearer {signed_in.get_json()['access_token']}"}).get_json()
    assert me["role"] == "owner" and me["org_path"].count("/") == 2  # the brand root
    assert me["permissions"]["users.manage"] == "subtree"


def test_the_cli_refuses_a_taken_slug_a_bad_slug_and_a_short_password(app, session):
    net = make_tenant(session)
    session.commit()
    runner = app.test_cli_runner()
    base = ["create-tenant", "--name", "X", "--owner-email", "o@x.example"]
    taken = runner.invoke(args=[*base, "--slug", net.slug], env={"TIERMALL_OWNER_PASSWORD": OWNER_PASSWORD})
    assert taken.exit_code != 0 and "exists already" in taken.output
    bad = runner.invoke(args=[*base, "--slug", "Not A Slug"], env={"TIERMALL_OWNER_PASSWORD": OWNER_PASSWORD})
    assert bad.exit_code != 0 and "--slug" in bad.output
    short = runner.invoke(args=[*base, "--slug", slug()], env={"TIERMALL_OWNER_PASSWORD": "short"})
    assert short.exit_code != 0 and "at least" in short.output


def test_the_cli_prompts_for_the_password_without_echoing_it(app, session):
    name = slug()
    result = app.test_cli_runner().invoke(
        args=["create-tenant", "--slug", name, "--name", "N", "--owner-email", "o@n.example"],
        input=f"{OWNER_PASSWORD}\n{OWNER_PASSWORD}\n", env={"TIERMALL_OWNER_PASSWORD": ""})
    assert result.exit_code == 0, result.output
    assert "Owner password" in result.output and OWNER_PASSWORD not in result.output


def test_the_platform_api_creates_a_tenant_for_the_operator_token_only(client, session, operator):
    net = make_tenant(session)
    session.commit()
    new = {"slug": slug(), "name": "Fujian Tea", "owner_email": "owner@fujian.example",
           "owner_password": OWNER_PASSWORD, "currency": "CNY"}
    for headers in ({}, {"X-Platform-Token": TOKEN[:-1] + "y"}, login(client, net, "brand")):
        refused = client.post("/platform/tenants", headers=headers, json=new)
        assert refused.status_code == 401 and refused.get_json()["code"] == "invalid_platform_token"
    created = client.post("/platform/tenants", headers=operator, json=new)
    assert created.status_code == 201, created.get_json()
    answer = created.get_json()
    assert answer["slug"] == new["slug"] and "owner_password" not in answer
    again = client.post("/platform/tenants", headers=operator, json=new)
    assert again.status_code == 409 and again.get_json()["code"] == "tenant_slug_taken"
    owner = sign_in(client, new["slug"], new["owner_email"])
    assert owner.status_code == 200
    use_scope(session, system_scope(uuid.UUID(answer["tenant_id"])))
    relay_pending(session, tenant_id=uuid.UUID(answer["tenant_id"]))
    session.commit()
    (entry,) = client.get("/network/audit", query_string={"action": "tenant.created"}, headers={
        "Authorization": f"Bearer {owner.get_json()['access_token']}"}).get_json()["items"]
    assert entry["actor_kind"] == "system" and entry["details"]["via"] == "platform_api"
    assert entry["details"]["owner_user_id"] == answer["owner_user_id"]


def test_the_platform_api_validates_its_body(client, session, operator):
    good = {"slug": slug(), "name": "n", "owner_email": "o@x.example", "owner_password": OWNER_PASSWORD}
    for wrong in ({**good, "slug": "UPPER"}, {**good, "owner_password": "short"},
                  {key: value for key, value in good.items() if key != "owner_password"}):
        response = client.post("/platform/tenants", headers=operator, json=wrong)
        assert response.status_code == 422, response.get_json()


def test_without_a_configured_token_the_platform_api_is_off(app, client, session, monkeypatch):
    monkeypatch.setitem(app.config, "PLATFORM_API_TOKEN", None)
    response = client.post("/platform/tenants", headers={"X-Platform-Token": ""}, json={
        "slug": slug(), "name": "n", "owner_email": "o@x.example", "owner_password": OWNER_PASSWORD})
    assert response.status_code == 401
    use_scope(session, PLATFORM_SCOPE)
    assert session.query(Tenant).filter(Tenant.name == "n").count() == 0


def test_a_short_platform_token_refuses_to_start(monkeypatch):
    monkeypatch.setenv("PLATFORM_API_TOKEN", "too-short")
    with pytest.raises(ConfigError, match="PLATFORM_API_TOKEN"):
        load_config()
