"""Order endpoints through HTTP: status codes, error bodies, idempotency and isolation per surface."""

import uuid

import pytest

from app.auth.tokens import issue_access_token
from app.orders.models import Order
from app.orders.payment_hooks import mark_paid
from app.tenancy.scope import system_scope
from tests.factories import add_consumer, login, make_tenant
from tests.integration.test_orders_fixtures import ADDRESS, RETAIL_PRICE, stocked_catalog
from tests.support.scope import use_scope


def consumer_headers(app, consumer) -> dict:
    token = issue_access_token(app.config["SECRET_KEY"], ttl_seconds=600, tenant_id=consumer.tenant_id,
                               subject=consumer.id, kind="consumer")
    return {"Authorization": f"Bearer {token}"}


def body(catalog, *qtys, **extra):
    return {"lines": [{"sku_id": str(sku), "qty": qty} for sku, qty in zip(catalog.sku_ids, qtys,
                                                                          strict=False)],
            "ship_to": ADDRESS, **extra}


def paid(session, net, order_id):
    use_scope(session, system_scope(net.tenant.id))
    order = session.get(Order, (net.tenant.id, uuid.UUID(order_id)))
    mark_paid(session, tenant_id=net.tenant.id, order_id=order.id, amount_minor=order.total_minor,
              payment_ref="pi_test", method="stripe")
    session.commit()
    return order


@pytest.fixture
def shop(session, app):
    net = make_tenant(session)
    catalog = stocked_catalog(session, net)
    alice = add_consumer(session, net, "jingan", name="李娜", phone="13900001111")
    bob = add_consumer(session, net, "chengdu", name="张伟", phone="13900002222")
    session.commit()
    return net, catalog, consumer_headers(app, alice), consumer_headers(app, bob)


def test_a_consumer_checks_out_three_lines_and_gets_201_with_totals(client, shop):
    net, catalog, alice, _ = shop
    response = client.post("/storefront/orders", headers=alice, json=body(catalog, 1, 2, 3))
    assert response.status_code == 201, response.get_json()
    order = response.get_json()
    assert order["status"] == "pending_payment" and order["goods_minor"] == 6 * RETAIL_PRICE
    assert len(order["lines"]) == 3 and order["ship_to"] == ADDRESS


def test_the_same_idempotency_key_answers_200_with_the_same_order_and_another_body_409(client, shop):
    net, catalog, alice, _ = shop
    headers = {**alice, "Idempotency-Key": "abc-1"}
    first = client.post("/storefront/orders", headers=headers, json=body(catalog, 1))
    again = client.post("/storefront/orders", headers=headers, json=body(catalog, 1))
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.get_json()["id"] == first.get_json()["id"]
    other = client.post("/storefront/orders", headers=headers, json=body(catalog, 2))
    assert other.status_code == 409 and other.get_json()["code"] == "idempotency_key_reused"


def test_the_cart_checks_out_into_one_order_and_empties(client, shop):
    net, catalog, alice, _ = shop
    for sku in catalog.sku_ids[:2]:
        response = client.put("/storefront/cart/items", headers=alice, json={"sku_id": str(sku), "qty": 2})
        assert response.status_code == 200, response.get_json()
    assert response.get_json()["goods_minor"] == 4 * RETAIL_PRICE
    headers = {**alice, "Idempotency-Key": "cart-1"}
    checkout = client.post("/storefront/cart/checkout", headers=headers, json={"ship_to": ADDRESS})
    assert checkout.status_code == 201 and len(checkout.get_json()["lines"]) == 2
    replay = client.post("/storefront/cart/checkout", headers=headers, json={"ship_to": ADDRESS})
    assert replay.status_code == 200 and replay.get_json()["id"] == checkout.get_json()["id"]
    assert client.get("/storefront/cart", headers=alice).get_json()["lines"] == []
    empty = client.post("/storefront/cart/checkout", headers=alice, json={"ship_to": ADDRESS})
    assert empty.status_code == 422 and empty.get_json()["code"] == "cart_empty"


def test_a_consumer_sees_only_their_own_orders(client, shop):
    net, catalog, alice, bob = shop
    mine = client.post("/storefront/orders", headers=alice, json=body(catalog, 1)).get_json()
    theirs = client.post("/storefront/orders", headers=bob, json=body(catalog, 1)).get_json()
    listed = {row["id"] for row in client.get("/storefront/orders", headers=alice).get_json()["items"]}
    assert mine["id"] in listed and theirs["id"] not in listed
    assert client.get(f"/storefront/orders/{theirs['id']}", headers=alice).status_code == 404
    response = client.post(f"/storefront/orders/{theirs['id']}/cancel", headers=alice, json={})
    assert response.status_code == 404


def test_a_consumer_cancels_an_unpaid_order_but_not_a_paid_one(client, session, shop):
    net, catalog, alice, _ = shop
    order = client.post("/storefront/orders", headers=alice, json=body(catalog, 1)).get_json()
    cancelled = client.post(f"/storefront/orders/{order['id']}/cancel", headers=alice, json={})
    assert cancelled.status_code == 200 and cancelled.get_json()["status"] == "cancelled"
    other = client.post("/storefront/orders", headers=alice, json=body(catalog, 1)).get_json()
    paid(session, net, other["id"])
    refused = client.post(f"/storefront/orders/{other['id']}/cancel", headers=alice, json={})
    assert refused.status_code == 409 and refused.get_json()["code"] == "illegal_transition"


def test_the_store_ships_the_consumer_confirms_and_asks_a_refund_the_store_approves(client, session, shop):
    net, catalog, alice, _ = shop
    order = client.post("/storefront/orders", headers=alice, json=body(catalog, 2)).get_json()
    paid(session, net, order["id"])
    store = login(client, net, "jingan")
    shipped = client.post(f"/store/orders/{order['id']}/ship", headers=store,
                          json={"carrier": "SF", "tracking_number": "SF1"})
    assert shipped.status_code == 201, shipped.get_json()
    done = client.post(f"/storefront/orders/{order['id']}/confirm-receipt", headers=alice)
    assert done.get_json()["status"] == "completed"
    line_id = done.get_json()["lines"][0]["id"]
    refund = client.post(f"/storefront/orders/{order['id']}/refunds", headers=alice, json={
        "kind": "return_and_refund", "lines": [{"line_id": line_id, "qty": 1}], "amount_minor": 5000})
    assert refund.status_code == 201, refund.get_json()
    assert refund.get_json()["lines"] == [{"order_line_id": line_id, "qty": 1, "amount_minor": 5000}]
    sibling = login(client, net, "chengdu")
    hidden = client.post(f"/store/refunds/{refund.get_json()['id']}/approve", headers=sibling, json={})
    assert hidden.status_code == 404
    approved = client.post(f"/store/refunds/{refund.get_json()['id']}/approve", headers=store, json={})
    assert approved.status_code == 200 and approved.get_json()["status"] == "refund_approved"
    twice = client.post(f"/store/refunds/{refund.get_json()['id']}/approve", headers=store, json={})
    assert twice.status_code == 409 and twice.get_json()["code"] == "illegal_transition"


def test_a_store_replenishes_and_its_distributor_sees_it_as_an_order_to_me(client, shop):
    net, catalog, _, _ = shop
    store = login(client, net, "jingan")
    placed = client.post("/store/replenishments", headers=store, json={
        "lines": [{"sku_id": str(catalog.sku_ids[0]), "qty": 12}]})
    assert placed.status_code == 201, placed.get_json()
    assert placed.get_json()["flow"] == "replenish"
    shanghai = login(client, net, "shanghai")
    to_me = client.get("/portal/orders?side=to_me", headers=shanghai).get_json()["items"]
    assert [row["id"] for row in to_me] == [placed.get_json()["id"]]
    west = login(client, net, "west")
    assert client.get(f"/portal/orders/{placed.get_json()['id']}", headers=west).status_code == 404
    assert client.get("/portal/orders", headers=west).get_json()["items"] == []


def test_a_distributor_sees_its_stores_retail_orders_with_masked_personal_data(client, shop):
    net, catalog, alice, _ = shop
    order = client.post("/storefront/orders", headers=alice, json=body(catalog, 1)).get_json()
    east = login(client, net, "east")
    seen = client.get(f"/portal/orders/{order['id']}", headers=east).get_json()
    assert seen["fidelity"] == "masked" and seen["ship_to"]["phone"] != ADDRESS["phone"]
    store = login(client, net, "jingan")
    assert client.get(f"/store/orders/{order['id']}", headers=store).get_json()["ship_to"] == ADDRESS


def test_another_tenants_order_answers_404(client, session, shop):
    net, catalog, alice, _ = shop
    order = client.post("/storefront/orders", headers=alice, json=body(catalog, 1)).get_json()
    other = make_tenant(session)
    session.commit()
    brand = login(client, other, "brand")
    assert client.get(f"/portal/orders/{order['id']}", headers=brand).status_code == 404
    assert client.get("/portal/orders", headers=brand).get_json()["items"] == []


def test_a_guide_sells_in_store_to_a_member_of_the_store(client, session, shop):
    net, catalog, _, _ = shop
    member = add_consumer(session, net, "jingan", name="陈静")
    stranger = add_consumer(session, net, "chengdu")
    session.commit()
    store = login(client, net, "jingan")
    lines = [{"sku_id": str(catalog.sku_ids[0]), "qty": 1}]
    sold = client.post("/store/orders/in-store", headers=store,
                       json={"member_id": str(member.id), "lines": lines})
    assert sold.status_code == 201, sold.get_json()
    assert sold.get_json()["buyer_consumer_id"] == str(member.id) and sold.get_json()["delivery"] == "pickup"
    refused = client.post("/store/orders/in-store", headers=store,
                          json={"member_id": str(stranger.id), "lines": lines})
    assert refused.status_code == 404


def test_errors_are_documented_and_bodies_validated(client, shop):
    net, catalog, alice, _ = shop
    response = client.post("/storefront/orders", headers=alice, json={**body(catalog, 1), "coupon": "X"})
    assert response.status_code == 422 and "coupon" in response.get_json()["errors"]
    assert client.post("/storefront/orders", json=body(catalog, 1)).status_code == 401
    staff = login(client, net, "jingan")
    assert client.post("/storefront/orders", headers=staff, json=body(catalog, 1)).status_code == 403
    spec = client.get("/openapi.json").get_json()
    responses = spec["paths"]["/storefront/orders"]["post"]["responses"]
    assert {"200", "201", "401", "403", "404", "409", "422"} <= set(responses)


def test_overselling_through_the_api_answers_409_insufficient_stock(client, shop):
    net, catalog, alice, _ = shop
    response = client.post("/storefront/orders", headers=alice, json=body(catalog, 101))
    assert response.status_code == 409 and response.get_json()["code"] == "insufficient_stock"
