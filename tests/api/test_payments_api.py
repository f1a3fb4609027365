"""Payments and finance over HTTP: the offline demo walk, credit on account, the journal read API."""

import uuid

import pytest

from app.payments.gateway import use_gateway
from app.payments.offline_gateway import OfflineGateway
from app.tenancy.models import Consumer
from tests.factories import login, make_tenant
from tests.support.payments import make_order


@pytest.fixture
def offline():
    with use_gateway(OfflineGateway()) as gateway:
        yield gateway


def consumer_headers(client, net, code="dev-alice"):
    response = client.post("/auth/consumer/login", json={
        "tenant": net.slug, "code": code, "store_id": str(net.org("jingan").id)})
    assert response.status_code == 200, response.get_json()
    return {"Authorization": f"Bearer {response.get_json()['access_token']}"}


def _consumer_of(client, net):
    headers = consumer_headers(client, net)
    me = client.get("/network/me", headers=headers).get_json()
    return headers, me["actor_id"]


def test_a_consumer_pays_offline_and_the_store_confirms_it_in_the_demo(client, session, offline):
    net = make_tenant(session)
    headers, consumer_id = _consumer_of(client, net)
    consumer = session.get(Consumer, (net.tenant.id, uuid.UUID(consumer_id)))
    order = make_order(session, net, consumer=consumer, total=3_900)
    started = client.post(f"/payments/orders/{order.id}/intent", headers=headers)
    assert started.status_code == 201, started.get_json()
    assert started.get_json()["status"] == "pending" and started.get_json()["gateway"] == "offline"
    confirmed = client.post(f"/payments/orders/{order.id}/offline-confirmation",
                            headers=login(client, net, "jingan"), json={"reference": "cash desk 3"})
    assert confirmed.status_code == 200, confirmed.get_json()
    assert confirmed.get_json()["id"] == started.get_json()["id"]
    assert confirmed.get_json()["status"] == "succeeded"
    payments = client.get(f"/payments/orders/{order.id}", headers=headers).get_json()
    assert [p["status"] for p in payments] == ["succeeded"]
    again = client.post(f"/payments/orders/{order.id}/intent", headers=headers)
    assert again.status_code == 409 and again.get_json()["code"] == "not_payable"


def test_only_the_sellers_finance_confirms_an_offline_payment(client, session):
    net = make_tenant(session)
    order = make_order(session, net, seller="shanghai", buyer="jingan", total=1_000)
    response = client.post(f"/payments/orders/{order.id}/offline-confirmation",
                           headers=login(client, net, "jingan"), json={"reference": "x"})
    assert response.status_code == 403 and response.get_json()["code"] == "not_seller_finance"


def test_credit_on_account_over_http_refuses_past_the_limit_with_422(client, session):
    net = make_tenant(session)
    seller, buyer = login(client, net, "shanghai"), login(client, net, "jingan")
    limit = client.put("/payments/credit-accounts", headers=seller,
                       json={"buyer_org_id": str(net.org("jingan").id), "limit_minor": 10_000})
    assert limit.status_code == 200, limit.get_json()
    assert limit.get_json()["available_minor"] == 10_000
    small = make_order(session, net, seller="shanghai", buyer="jingan", total=8_000)
    big = make_order(session, net, seller="shanghai", buyer="jingan", total=3_000)
    assert client.post(f"/payments/orders/{small.id}/credit", headers=buyer).status_code == 201
    refused = client.post(f"/payments/orders/{big.id}/credit", headers=buyer)
    assert refused.status_code == 422 and refused.get_json()["code"] == "credit_limit_exceeded"
    account_id = limit.get_json()["id"]
    repaid = client.post(f"/payments/credit-accounts/{account_id}/repayments", headers=seller,
                         json={"amount_minor": 5_000, "reference": "ICBC 991"})
    assert repaid.status_code == 201 and repaid.get_json()["kind"] == "repayment"
    (aged,) = client.get("/payments/credit-accounts", headers=buyer).get_json()
    assert aged["total_minor"] == 3_000 and aged["buckets"]["0-30"] == 3_000


def test_a_sibling_store_sees_no_credit_account_and_no_journal_of_mine(client, session):
    net = make_tenant(session)
    seller = login(client, net, "shanghai")
    client.put("/payments/credit-accounts", headers=seller,
               json={"buyer_org_id": str(net.org("jingan").id), "limit_minor": 10_000})
    order = make_order(session, net, seller="shanghai", buyer="jingan", total=2_000)
    client.post(f"/payments/orders/{order.id}/credit", headers=login(client, net, "jingan"))
    other = login(client, net, "chengdu")
    assert client.get("/payments/credit-accounts", headers=other).get_json() == []
    assert client.get("/finance/accounts", headers=other).get_json() == []
    assert client.get(f"/payments/orders/{order.id}", headers=other).status_code == 404


def test_finance_reads_balances_and_balanced_entries_in_its_scope(client, session):
    net = make_tenant(session)
    seller = login(client, net, "shanghai")
    client.put("/payments/credit-accounts", headers=seller,
               json={"buyer_org_id": str(net.org("jingan").id), "limit_minor": 10_000})
    order = make_order(session, net, seller="shanghai", buyer="jingan", total=4_000)
    client.post(f"/payments/orders/{order.id}/credit", headers=login(client, net, "jingan"))
    accounts = client.get("/finance/accounts", headers=seller).get_json()
    by_code = {a["code"]: a for a in accounts}
    assert by_code["receivable"]["balance"] == 4_000 and by_code["sales_revenue"]["balance"] == 4_000
    entries = client.get("/finance/entries", headers=seller).get_json()["items"]  # the buyer's books too
    assert sorted(entry["kind"] for entry in entries) == ["order_payment", "purchase"]
    assert all(sum(line["amount_minor"] for line in entry["lines"]) == 0 for entry in entries)


def test_the_journal_is_not_for_buyers_or_guides(client, session):
    from app.tenancy.enums import Role
    from tests.factories import add_user

    net = make_tenant(session)
    user = add_user(session, net, "jingan", Role.guide)
    response = client.post("/auth/login", json={"tenant": net.slug, "email": user.email,
                                                "password": "correct-horse-battery"})
    headers = {"Authorization": f"Bearer {response.get_json()['access_token']}"}
    answer = client.get("/finance/accounts", headers=headers)
    assert answer.status_code == 403 and answer.get_json()["permission"] == "finance.view"
    assert client.get("/finance/entries").status_code == 401
