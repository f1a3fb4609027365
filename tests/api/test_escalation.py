"""No escalation: users and API keys get only roles at or below the caller's own."""

import pytest

from app.tenancy.enums import Role
from tests.factories import PASSWORD, add_user, login, make_tenant


def sign_in(client, net, email) -> dict:
    response = client.post("/auth/login", json={"tenant": net.slug, "email": email, "password": PASSWORD})
    assert response.status_code == 200, response.get_json()
    return {"Authorization": f"Bearer {response.get_json()['access_token']}"}


def new_user(client, headers, org, role: str, email: str):
    return client.post(f"/network/orgs/{org.id}/users", headers=headers, json={
        "email": email, "name": "New", "password": "long-enough-pw", "role": role})


def new_key(client, headers, org, role: str):
    return client.post("/auth/api-keys", headers=headers, json={"org_id": str(org.id), "name": "k",
                                                                "role": role})


@pytest.fixture
def admin(client, session):
    net = make_tenant(session)
    user = add_user(session, net, "east", Role.admin)
    session.commit()
    return net, sign_in(client, net, user.email)


def test_an_admin_cannot_create_an_owner_user_below_or_in_its_own_org(client, admin):
    net, headers = admin
    for org in (net.org("east"), net.org("jingan")):
        refused = new_user(client, headers, org, "owner", f"boss-{org.id.hex[:6]}@example.com")
        assert refused.status_code == 403 and refused.get_json()["code"] == "role_above_caller"
    for role in ("admin", "finance", "buyer", "guide", "viewer"):
        made = new_user(client, headers, net.org("jingan"), role, f"{role}@example.com")
        assert made.status_code == 201, made.get_json()


def test_an_admin_cannot_mint_an_owner_key_and_an_admin_key_cannot_either(client, admin):
    net, headers = admin
    refused = new_key(client, headers, net.org("east"), "owner")
    assert refused.status_code == 403 and refused.get_json()["code"] == "role_above_caller"
    key = new_key(client, headers, net.org("east"), "admin")
    assert key.status_code == 201, key.get_json()
    as_key = {"X-Api-Key": key.get_json()["key"]}
    assert new_key(client, as_key, net.org("east"), "owner").status_code == 403
    assert new_user(client, as_key, net.org("jingan"), "owner", "boss@example.com").status_code == 403
    assert new_key(client, as_key, net.org("jingan"), "guide").status_code == 201


def test_an_owner_may_make_owners(client, session):
    net = make_tenant(session)
    headers = login(client, net, "east")  # the east owner
    assert new_user(client, headers, net.org("jingan"), "owner", "new-boss@example.com").status_code == 201
    assert new_key(client, headers, net.org("east"), "owner").status_code == 201


@pytest.mark.parametrize("role", [Role.finance, Role.buyer, Role.guide, Role.viewer])
def test_roles_without_user_management_create_no_user_even_a_viewer(client, session, role):
    net = make_tenant(session)
    user = add_user(session, net, "jingan", role)
    session.commit()
    refused = new_user(client, sign_in(client, net, user.email), net.org("jingan"), "viewer", "v@example.com")
    assert refused.status_code == 403 and refused.get_json()["permission"] == "users.manage"


def test_a_viewer_key_the_default_changes_nothing(client, session):
    net = make_tenant(session)
    key = client.post("/auth/api-keys", headers=login(client, net, "jingan"),
                      json={"org_id": str(net.org("jingan").id), "name": "reader"})
    assert key.status_code == 201 and key.get_json()["role"] == "viewer"
    as_key = {"X-Api-Key": key.get_json()["key"]}
    replenish = client.post("/store/replenishments", headers={**as_key, "Idempotency-Key": "v1"},
                            json={"lines": [{"sku_id": str(net.org("brand").id), "qty": 1}]})
    assert replenish.status_code == 403 and replenish.get_json()["permission"] == "order.place_supply"
    assert client.get("/store/orders", headers=as_key).status_code == 200  # viewers read
