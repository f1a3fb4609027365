"""The audit trail over HTTP: money, stock and permission changes name who did them and from where."""

import uuid
from datetime import UTC, datetime, timedelta

from app.platform.outbox import relay_pending
from app.tenancy.enums import Role
from app.tenancy.scope import system_scope
from tests.api.test_orders_api import body, consumer_headers, paid
from tests.factories import add_consumer, add_user, login, make_tenant
from tests.integration.test_orders_fixtures import stocked_catalog
from tests.support.payments import make_order
from tests.support.scope import use_scope


def relay(session, net):
    use_scope(session, system_scope(net.tenant.id))
    relay_pending(session, tenant_id=net.tenant.id)  # explicit: eager relays are best effort in tests
    session.commit()


def audit(client, headers, **filters):
    response = client.get("/network/audit", headers=headers, query_string=filters)
    assert response.status_code == 200, response.get_json()
    return response.get_json()["items"]


def retail_refund(client, session, app, net):
    """A paid retail order at the Jing'an store with a refund request on one unit."""
    catalog = stocked_catalog(session, net)
    alice = consumer_headers(app, add_consumer(session, net, "jingan"))
    session.commit()
    order = client.post("/storefront/orders", headers=alice, json=body(catalog, 2)).get_json()
    paid(session, net, order["id"])
    refund = client.post(f"/storefront/orders/{order['id']}/refunds", headers=alice, json={
        "kind": "refund_only", "lines": [{"line_id": order["lines"][0]["id"], "qty": 1}]})
    assert refund.status_code == 201, refund.get_json()
    return order, refund.get_json()


def test_an_upstream_owner_approves_a_stores_refund_and_the_trail_names_the_user_and_the_org(
        client, session, app):
    net = make_tenant(session)
    order, refund = retail_refund(client, session, app, net)
    east = login(client, net, "east")
    approved = client.post(f"/portal/refunds/{refund['id']}/approve", headers=east, json={})
    assert approved.status_code == 200, approved.get_json()
    relay(session, net)
    (entry,) = audit(client, east, action="refund.approve")
    assert entry["actor_kind"] == "staff" and entry["actor_id"] == str(net.users["east"].id)
    assert entry["actor_org_id"] == str(net.org("east").id)
    assert entry["subject_id"] == order["id"] and entry["subject_type"] == "order"
    assert entry["details"]["refund_id"] == refund["id"] and entry["details"]["amount"] > 0
    assert audit(client, login(client, net, "jingan"), action="refund.approve") == [entry]


def test_a_distributors_finance_may_not_decide_its_stores_refunds_own_reach_only(client, session, app):
    net = make_tenant(session)
    _, refund = retail_refund(client, session, app, net)
    finance = add_user(session, net, "east", Role.finance)
    session.commit()
    headers = {"Authorization": login_header(client, net, finance.email)}
    refused = client.post(f"/portal/refunds/{refund['id']}/approve", headers=headers, json={})
    assert refused.status_code == 403, refused.get_json()
    assert refused.get_json()["permission"] == "refund.approve"
    assert "an org below yours" in refused.get_json()["message"]


def test_payment_confirmation_shipping_receipt_and_a_consumers_cancel_are_audited(client, session, app):
    net = make_tenant(session)
    catalog = stocked_catalog(session, net)
    alice = consumer_headers(app, add_consumer(session, net, "jingan"))
    session.commit()
    store, distributor = login(client, net, "jingan"), login(client, net, "shanghai")
    bought = client.post("/store/replenishments", headers={**store, "Idempotency-Key": "r1"},
                         json={"lines": [{"sku_id": str(catalog.sku_ids[0]), "qty": 5}]}).get_json()
    confirmed = client.post(f"/payments/orders/{bought['id']}/offline-confirmation", headers=distributor,
                            json={"reference": "ICBC 1"})
    assert confirmed.status_code == 200, confirmed.get_json()
    shipped = client.post(f"/portal/orders/{bought['id']}/ship", headers=distributor, json={"carrier": "SF"})
    assert shipped.status_code == 201, shipped.get_json()
    received = client.post(f"/store/orders/{bought['id']}/confirm-receipt", headers=store)
    assert received.status_code == 200, received.get_json()
    mine = client.post("/storefront/orders", headers=alice, json=body(catalog, 1)).get_json()
    assert client.post(f"/storefront/orders/{mine['id']}/cancel", headers=alice, json={}).status_code == 200
    relay(session, net)
    trail = audit(client, distributor, subject_id=bought["id"])
    assert [(e["action"], e["actor_org_id"]) for e in reversed(trail)] == [
        ("payment.confirm", str(net.org("shanghai").id)), ("order.ship", str(net.org("shanghai").id)),
        ("order.confirm_receipt", str(net.org("jingan").id))]
    assert trail[-1]["details"]["reference"] == "ICBC 1"
    (cancel,) = audit(client, store, action="order.cancel")
    assert cancel["actor_kind"] == "consumer" and cancel["actor_org_id"] is None
    assert cancel["subject_id"] == mine["id"]


def test_credit_price_stock_and_key_changes_are_audited_and_filtered_by_actor(client, session):
    net = make_tenant(session)
    catalog = stocked_catalog(session, net)
    session.commit()
    seller, brand = login(client, net, "shanghai"), login(client, net, "brand")
    limit = client.put("/payments/credit-accounts", headers=seller,
                       json={"buyer_org_id": str(net.org("jingan").id), "limit_minor": 10_000})
    assert limit.status_code == 200, limit.get_json()
    order = make_order(session, net, seller="shanghai", buyer="jingan", total=4_000)
    session.commit()
    assert client.post(f"/payments/orders/{order.id}/credit",
                       headers=login(client, net, "jingan")).status_code == 201
    repaid = client.post(f"/payments/credit-accounts/{limit.get_json()['id']}/repayments", headers=seller,
                         json={"amount_minor": 1_000, "reference": "ICBC 7"})
    assert repaid.status_code == 201, repaid.get_json()
    price = client.post("/catalog/prices", headers=seller, json={
        "seller_org_id": str(net.org("shanghai").id), "sku_id": str(catalog.sku_ids[0]),
        "channel": "supply", "amount_minor": 7_100})
    assert price.status_code == 201, price.get_json()
    counted = client.post("/catalog/stock/stocktake", headers=seller, json={
        "org_id": str(net.org("shanghai").id), "sku_id": str(catalog.sku_ids[0]), "counted": 90})
    assert counted.status_code == 200, counted.get_json()
    key = client.post("/auth/api-keys", headers=brand, json={"org_id": str(net.org("west").id),
                                                             "name": "ERP", "role": "buyer"})
    assert key.status_code == 201, key.get_json()
    relay(session, net)
    by_seller = audit(client, brand, actor_id=str(net.users["shanghai"].id))
    assert {e["action"] for e in by_seller} == {
        "credit.set_limit", "credit.post_repayment", "price_lists.edit", "stock.adjust"}
    assert all(e["actor_org_id"] == str(net.org("shanghai").id) for e in by_seller)
    (charge,) = audit(client, brand, action="order.pay")
    assert charge["actor_org_id"] == str(net.org("jingan").id) and charge["details"]["method"] == "credit"
    (created,) = audit(client, brand, action="api_key.created")
    assert created["details"]["role"] == "buyer" and created["actor_org_id"] == str(net.org("brand").id)


def test_the_audit_filters_by_time_and_refuses_unknown_filters(client, session):
    net = make_tenant(session)
    brand = login(client, net, "brand")
    client.post("/network/orgs", headers=brand, json={
        "parent_id": str(net.org("west").id), "kind": "store", "name": "Chongqing"})
    relay(session, net)
    now = datetime.now(UTC)
    recent = audit(client, brand, action="org.created", since=(now - timedelta(minutes=5)).isoformat())
    assert "Chongqing" in {e["details"].get("name") for e in recent}
    assert audit(client, brand, action="org.created", since=(now + timedelta(minutes=5)).isoformat()) == []
    assert audit(client, brand, actor_kind="api_key") == []
    for unknown in ({"who": "me"}, {"actor_id": "nope"}, {"since": "2026-12-01T00:00:00"}):
        response = client.get("/network/audit", headers=brand, query_string=unknown)
        assert response.status_code == 422, (unknown, response.get_json())
    assert client.get("/network/audit", headers=brand,
                      query_string={"subject_id": str(uuid.uuid4())}).get_json()["items"] == []


def test_a_viewer_may_not_read_the_audit_trail(client, session):
    net = make_tenant(session)
    viewer = add_user(session, net, "brand", Role.viewer)
    session.commit()
    headers = {"Authorization": login_header(client, net, viewer.email)}
    response = client.get("/network/audit", headers=headers)
    assert response.status_code == 403 and response.get_json()["permission"] == "audit.view"


def login_header(client, net, email) -> str:
    from tests.factories import PASSWORD

    response = client.post("/auth/login", json={"tenant": net.slug, "email": email, "password": PASSWORD})
    assert response.status_code == 200, response.get_json()
    return f"Bearer {response.get_json()['access_token']}"
