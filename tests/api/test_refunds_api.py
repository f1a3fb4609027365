"""Refunds over HTTP: parallel requests for one unit, and finance's refund desk."""

import uuid

import pytest

from app.orders.models import Order
from app.orders.queries import lines_of
from app.payments import refunds
from app.tenancy.resolve import consumer_scope
from tests.factories import login, make_tenant
from tests.support.money import money_world, paid_order, parallel
from tests.support.payments import approve_refund, make_order


@pytest.mark.postgres
def test_ten_parallel_http_refund_requests_for_one_unit_make_one_refund(app):
    with money_world() as world:
        client = app.test_client()
        signed_in = client.post("/auth/consumer/login", json={
            "tenant": world.net.slug, "code": "dev-zoe", "store_id": str(world.net.org("jingan").id)})
        headers = {"Authorization": f"Bearer {signed_in.get_json()['access_token']}"}
        me = client.get("/network/me", headers=headers).get_json()
        consumer = consumer_scope(world.tenant_id, uuid.UUID(me["actor_id"]))
        order = paid_order(world, consumer, 1, 2)
        with world.system() as session:
            line_id = lines_of(session, session.get(Order, (world.tenant_id, order.id)))[0].id

        def ask(i: int) -> str:
            response = app.test_client().post(
                f"/storefront/orders/{order.id}/refunds", headers=headers,
                json={"kind": "refund_only", "lines": [{"line_id": str(line_id), "qty": 1}]})
            assert response.status_code != 500, response.get_json()
            return str(response.status_code)

        assert parallel(10, ask) == {"201": 1, "422": 9}
        detail = client.get(f"/storefront/orders/{order.id}", headers=headers).get_json()
        assert [r["amount_minor"] for r in detail["refunds"]] == [999]


def test_finance_sees_an_offline_refund_on_the_desk_and_confirms_it_once(client, session):
    net = make_tenant(session)
    order = make_order(session, net, seller="shanghai", buyer="jingan", total=6_000)
    seller = login(client, net, "shanghai")
    paid = client.post(f"/payments/orders/{order.id}/offline-confirmation", headers=seller,
                       json={"reference": "ICBC-in-7"})
    assert paid.status_code == 200, paid.get_json()
    refund = approve_refund(session, order, 2_500)
    attempt = refunds.execute_refund(session, tenant_id=net.tenant.id, refund_id=refund.id)

    desk = client.get("/payments/refunds", headers=seller)
    assert desk.status_code == 200, desk.get_json()
    assert [(a["id"], a["channel"], a["status"]) for a in desk.get_json()["items"]] == [
        (str(attempt.id), "offline", "pending")]
    buyer = client.post(f"/payments/refunds/{attempt.id}/confirm", headers=login(client, net, "jingan"),
                        json={"reference": "x"})
    assert buyer.status_code == 403 and buyer.get_json()["code"] == "not_seller_finance"
    confirmed = client.post(f"/payments/refunds/{attempt.id}/confirm", headers=seller,
                            json={"reference": "ICBC-out-3"})
    assert confirmed.status_code == 200, confirmed.get_json()
    assert (confirmed.get_json()["status"], confirmed.get_json()["reference"]) == ("succeeded", "ICBC-out-3")
    again = client.post(f"/payments/refunds/{attempt.id}/confirm", headers=seller, json={"reference": "y"})
    assert again.status_code == 409 and again.get_json()["code"] == "refund_not_actionable"
    assert client.get("/payments/refunds", headers=seller).get_json()["items"] == []
    retry = client.post(f"/payments/refunds/{attempt.id}/retry", headers=seller, json={"channel": "credit"})
    assert retry.status_code == 422
