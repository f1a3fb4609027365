"""Smaller holes (issue 9, item 8): deep JSON, NUL bytes, unknown tenants, parallel guesses,
per-buyer prices."""

import threading
import time

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.auth import services
from app.auth.models import LoginAttempt
from app.catalog import pricing, products
from app.catalog.models import PriceChannel
from tests.factories import login, make_tenant, scope_of
from tests.support.apps import fresh_app
from tests.support.committed import app_role_engine, delete_tenant
from tests.support.scope import use_scope

pytestmark = pytest.mark.many_connections  # threads on their own connections: one at a time under xdist


def test_a_deeply_nested_json_body_answers_400_not_500(client, session):
    deep = "[" * 100_000 + "]" * 100_000
    response = client.post("/auth/login", data=deep, content_type="application/json")
    assert response.status_code == 400 and response.get_json()["code"] == "bad_request"


def test_nul_characters_in_text_answer_422_not_409(client, session):
    net = make_tenant(session)
    session.commit()
    headers = login(client, net, "brand")
    response = client.post(f"/network/orgs/{net.org('brand').id}/users", headers=headers, json={
        "email": "nul@example.com", "name": "Nul\x00Byte", "password": "long-enough-pass",
        "role": "viewer"})
    assert response.status_code == 422 and response.get_json()["code"] == "invalid_input"


def counting_verify(monkeypatch) -> list:
    calls, lock, real = [], threading.Lock(), services.verify_password

    def verify(password_hash, password):
        with lock:
            calls.append(password_hash)
        return real(password_hash, password)

    monkeypatch.setattr(services, "verify_password", verify)
    return calls


def test_an_unknown_tenant_checks_a_dummy_hash_and_takes_as_long_as_a_wrong_password(
        client, session, monkeypatch, real_password_cost):
    net = make_tenant(session)
    session.commit()
    calls = counting_verify(monkeypatch)
    timings = {}
    for tenant in ("no-such-tenant", net.slug):
        started = time.perf_counter()
        response = client.post("/auth/login", json={
            "tenant": tenant, "email": net.users["east"].email, "password": "wrong-password"})
        timings[tenant] = time.perf_counter() - started
        assert response.status_code == 401
    assert calls[0] is None  # the unknown tenant verified against the dummy hash
    assert timings["no-such-tenant"] > 0.3 * timings[net.slug], timings


@pytest.mark.postgres
def test_of_20_parallel_wrong_passwords_at_most_5_are_evaluated(monkeypatch):
    from tests.database import test_urls, url_text  # noqa: PLC0415

    _, _, app_url = test_urls()
    with Session(app_role_engine(), expire_on_commit=False) as setup:
        net = make_tenant(setup)
        setup.commit()
    email = net.users["east"].email
    calls = counting_verify(monkeypatch)
    statuses, barrier = [], threading.Barrier(20)
    try:
        with fresh_app(SQLALCHEMY_DATABASE_URI=url_text(app_url), LOGIN_MAX_FAILURES=5,
                       SQLALCHEMY_ENGINE_OPTIONS={"pool_size": 20, "max_overflow": 5}) as app:
            def guess():
                with app.test_client() as client:
                    barrier.wait(timeout=30)
                    statuses.append(client.post("/auth/login", json={
                        "tenant": net.slug, "email": email, "password": "wrong"}).status_code)

            threads = [threading.Thread(target=guess) for _ in range(20)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join(timeout=120)
        assert len(statuses) == 20 and set(statuses) <= {401, 429}
        assert len(calls) <= 5, len(calls)
        assert statuses.count(401) == len(calls) and statuses.count(429) == 20 - len(calls)
    finally:
        delete_tenant(net.tenant.id)
        with Session(app_role_engine()) as cleanup:
            cleanup.execute(LoginAttempt.__table__.delete())
            cleanup.commit()


@pytest.mark.postgres  # its last check is the database wall (RLS)
def test_a_price_for_one_distributor_is_not_listed_to_its_stores(session):
    net = make_tenant(session)
    brand = scope_of(session, net, "brand")
    product = products.create_product(session, brand, name="Tea", attributes={})
    sku = products.create_sku(session, brand, product_id=product.id, code="T-1", name="Tea 1")
    pricing.set_price(session, brand, seller_org_id=net.org("brand").id, sku_id=sku.id,
                      channel=PriceChannel.supply, amount_minor=9000, buyer_org_id=net.org("shanghai").id)
    for org, listed in (("shanghai", 1), ("east", 1), ("jingan", 0), ("hangzhou", 0)):
        assert len(pricing.list_prices(session, scope_of(session, net, org)).items) == listed, org
    use_scope(session, scope_of(session, net, "jingan"))
    assert session.scalars(select(pricing.PriceEntry)).all() == []
