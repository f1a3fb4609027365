"""Reach over HTTP: an org above a store acts on the store's orders only where the matrix says so."""

from app.tenancy.enums import Role
from tests.api.test_audit_api import login_header
from tests.api.test_orders_api import body, consumer_headers, paid
from tests.factories import add_consumer, add_user, login, make_tenant
from tests.integration.test_orders_fixtures import stocked_catalog


def test_the_brand_cancels_a_stores_unpaid_order_but_never_ships_for_the_store(client, session, app):
    net = make_tenant(session)
    catalog = stocked_catalog(session, net)
    alice = consumer_headers(app, add_consumer(session, net, "jingan"))
    session.commit()
    brand = login(client, net, "brand")
    unpaid = client.post("/storefront/orders", headers=alice, json=body(catalog, 1)).get_json()
    cancelled = client.post(f"/portal/orders/{unpaid['id']}/cancel", headers=brand, json={})
    assert cancelled.status_code == 200 and cancelled.get_json()["status"] == "cancelled"
    order = client.post("/storefront/orders", headers=alice, json=body(catalog, 1)).get_json()
    paid(session, net, order["id"])
    refused = client.post(f"/portal/orders/{order['id']}/ship", headers=brand, json={"carrier": "SF"})
    assert refused.status_code == 403 and refused.get_json()["permission"] == "order.ship"
    shipped = client.post(f"/store/orders/{order['id']}/ship", headers=login(client, net, "jingan"),
                          json={"carrier": "SF"})
    assert shipped.status_code == 201, shipped.get_json()


def test_a_distributor_buyer_cancels_only_its_own_orgs_orders(client, session, app):
    net = make_tenant(session)
    catalog = stocked_catalog(session, net)
    alice = consumer_headers(app, add_consumer(session, net, "jingan"))
    buyer = add_user(session, net, "shanghai", Role.buyer)
    session.commit()
    order = client.post("/storefront/orders", headers=alice, json=body(catalog, 1)).get_json()
    headers = {"Authorization": login_header(client, net, buyer.email)}
    refused = client.post(f"/portal/orders/{order['id']}/cancel", headers=headers, json={})
    assert refused.status_code == 403 and refused.get_json()["permission"] == "order.cancel"
    assert "an org below yours" in refused.get_json()["message"]
