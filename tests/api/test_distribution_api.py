"""Distribution through HTTP: a promoter's mini-program page, binding by code, the brand's plan,
the portal's entries by scope and fidelity, strict inputs."""

import pytest

from app.db import uuid7
from app.platform.outbox import relay_pending
from app.tenancy.scope import system_scope
from tests.api.test_orders_api import consumer_headers
from tests.factories import add_consumer, consumer_scope_of, login, make_tenant
from tests.integration.test_orders_fixtures import pay, retail_order, stocked_catalog
from tests.support.scope import use_scope

PRICE = 10_000


@pytest.fixture
def shop(session, app, client):
    net = make_tenant(session, settings={"distribution": {"promoter_mode": "open"}})
    catalog = stocked_catalog(session, net, price=PRICE)
    sharer = add_consumer(session, net, "jingan", name="李娜", phone="13900001111")
    buyer = add_consumer(session, net, "jingan", name="张伟", phone="13900002222")
    session.commit()
    return net, catalog, sharer, buyer


def test_a_consumer_shares_a_customer_buys_and_the_promoter_sees_pending_commission(client, session, app,
                                                                                  shop):
    net, catalog, sharer, buyer = shop
    sharer_h, buyer_h = consumer_headers(app, sharer), consumer_headers(app, buyer)
    assert client.get("/storefront/promoter", headers=sharer_h).status_code == 404
    me = client.post("/storefront/promoter", headers=sharer_h)
    assert me.status_code == 200 and me.get_json()["status"] == "active"
    bound = client.post("/storefront/bindings", headers=buyer_h, json={"code": me.get_json()["code"]})
    assert bound.status_code == 200 and bound.get_json()["changed"] is True
    brand = login(client, net, "brand")
    plan = client.post("/distribution/plans", headers=brand, json={"name": "launch", "rules": [
        {"role": "promoter_l1", "rate_bp": 1000}, {"role": "home_store", "rate_bp": 200}]})
    assert plan.status_code == 201 and len(plan.get_json()["rules"]) == 2
    order = retail_order(session, consumer_scope_of(session, buyer), catalog, 3).order
    pay(session, order)
    use_scope(session, system_scope(net.tenant.id))
    while relay_pending(session, tenant_id=net.tenant.id):
        pass
    session.commit()

    page = client.get("/storefront/promoter", headers=sharer_h).get_json()
    assert (page["pending_minor"], page["available_minor"], page["today_minor"]) == (3000, 0, 3000)
    orders = client.get("/storefront/promoter/orders", headers=sharer_h).get_json()
    assert [o["amount_minor"] for o in orders["items"]] == [3000] and orders["has_more"] is False
    team = client.get("/storefront/promoter/team", headers=sharer_h).get_json()
    assert [member["name"] for member in team["items"]] == ["张*"] and team["has_more"] is False
    assert client.get("/storefront/promoter/team?offset=1", headers=sharer_h).status_code == 422

    jingan = login(client, net, "jingan")
    store = client.get("/distribution/entries", headers=jingan).get_json()
    assert store["has_more"] is False and store["next_cursor"] is None
    roles = {(e["role"], e["amount_minor"]) for e in store["items"]}
    assert roles == {("promoter_l1", 3000), ("home_store", 600)}
    first = client.get("/distribution/entries?limit=1", headers=jingan).get_json()
    assert len(first["items"]) == 1 and first["has_more"] is True
    second = client.get(f"/distribution/entries?limit=1&cursor={first['next_cursor']}",
                        headers=jingan).get_json()
    assert second["has_more"] is False and first["items"] + second["items"] == store["items"]
    assert client.get("/distribution/entries?page=2", headers=jingan).status_code == 422
    chengdu = login(client, net, "chengdu")
    assert client.get("/distribution/entries", headers=chengdu).get_json()["items"] == []
    east = login(client, net, "east")  # commissions below it: aggregate by default, totals only
    assert client.get("/distribution/entries", headers=east).get_json()["items"] == []
    totals = client.get("/distribution/entries/totals", headers=east).get_json()
    assert totals["pending_minor"] == 3600 and totals["entries"] == 2
    promoters = client.get("/distribution/promoters?limit=1", headers=brand).get_json()
    assert len(promoters["items"]) == 1 and promoters["items"][0]["promoter"]["id"] == me.get_json()["id"]
    assert promoters["has_more"] is False  # the one promoter, on one page
    assert client.get("/distribution/promoters?offset=1", headers=jingan).status_code == 422


def test_only_the_brand_writes_plans_and_rates_are_strict_integers(client, shop):
    net, *_ = shop
    store = client.post("/distribution/plans", headers=login(client, net, "jingan"),
                        json={"name": "mine", "rules": []})
    assert store.status_code == 403
    brand = login(client, net, "brand")
    bad = client.post("/distribution/levels", headers=brand, json={"name": "S", "rank": 1, "l1_rate_bp": 1.5})
    assert bad.status_code == 422
    both = client.post("/distribution/plans", headers=brand, json={"name": "x", "rules": [
        {"role": "guide", "rate_bp": 10, "fixed_minor": 5}]})
    assert both.status_code == 422 and both.get_json()["code"] == "invalid_commission_rule"


def test_binding_an_unknown_code_is_404_and_binding_oneself_is_422(client, app, shop):
    net, _, sharer, _ = shop
    headers = consumer_headers(app, sharer)
    assert client.post("/storefront/bindings", headers=headers, json={"code": "NOPE1234"}).status_code == 404
    code = client.post("/storefront/promoter", headers=headers).get_json()["code"]
    answer = client.post("/storefront/bindings", headers=headers, json={"code": code})
    assert answer.status_code == 422 and answer.get_json()["code"] == "self_binding"


def _promoter_with_orders(client, session, app, shop, count: int):
    """The sharer is a promoter whose customer placed and paid `count` orders (newest last)."""
    net, catalog, sharer, buyer = shop
    sharer_h = consumer_headers(app, sharer)
    code = client.post("/storefront/promoter", headers=sharer_h).get_json()["code"]
    client.post("/storefront/bindings", headers=consumer_headers(app, buyer), json={"code": code})
    client.post("/distribution/plans", headers=login(client, net, "brand"),
                json={"name": "launch", "rules": [{"role": "promoter_l1", "rate_bp": 1000}]})
    orders = []
    for quantity in range(1, count + 1):
        orders.append(retail_order(session, consumer_scope_of(session, buyer), catalog, quantity).order)
        pay(session, orders[-1])
    use_scope(session, system_scope(net.tenant.id))
    while relay_pending(session, tenant_id=net.tenant.id):
        pass
    session.commit()
    return sharer_h, orders


def test_my_commission_orders_page_by_cursor_newest_first(client, session, app, shop):
    sharer_h, orders = _promoter_with_orders(client, session, app, shop, 3)
    first = client.get("/storefront/promoter/orders?limit=2", headers=sharer_h).get_json()
    assert [o["amount_minor"] for o in first["items"]] == [3000, 2000] and first["has_more"] is True
    rest = client.get("/storefront/promoter/orders", headers=sharer_h,
                      query_string={"limit": 2, "cursor": first["next_cursor"]}).get_json()
    assert [o["amount_minor"] for o in rest["items"]] == [1000]
    assert rest["has_more"] is False and rest["next_cursor"] is None
    refs = [o["order_ref"] for o in first["items"] + rest["items"]]
    assert refs == [str(order.id)[-8:] for order in reversed(orders)]  # each order once, newest first


def test_an_orders_commission_status_is_its_least_advanced_entry_and_reversed_only_when_all_are(
        client, session, app, shop):
    """A partly reversed order still waits for the rest (it showed "reversed": max() of the texts)."""
    from sqlalchemy import Uuid, bindparam, text  # noqa: PLC0415

    sharer_h, (partly, fully) = _promoter_with_orders(client, session, app, shop, 2)
    use_scope(session, system_scope(shop[0].tenant.id))
    columns = ("tenant_id, owner_path, beneficiary_kind, beneficiary_id, beneficiary_org_id,"
               " beneficiary_consumer_id, kind, role, order_id, order_line_id, base_minor, currency,"
               " available_at, created_at")
    ids = (bindparam("id", type_=Uuid()), bindparam("order", type_=Uuid()))  # SQLite keeps them as text
    session.execute(text(  # a refund's adjustment, already netted: reversed
        f"INSERT INTO distribution_entries (id, amount_minor, status, source_key, {columns})"
        f" SELECT :id, -400, 'reversed', 'test:partly', {columns} FROM distribution_entries"
        " WHERE order_id = :order AND kind = 'commission'").bindparams(*ids),
        {"id": uuid7(), "order": partly.id})
    session.execute(text("UPDATE distribution_entries SET status = 'reversed' WHERE order_id = :order")
                    .bindparams(ids[1]), {"order": fully.id})
    session.commit()
    items = client.get("/storefront/promoter/orders", headers=sharer_h).get_json()["items"]
    assert [(o["amount_minor"], o["status"]) for o in items] == [(2000, "reversed"), (600, "frozen")]


@pytest.mark.parametrize("query", ["offset=1", "page=2", "per_page=5", "starting_after=x", "cursor=made-up",
                                   "limit=0", "limit=201"])
def test_my_commission_orders_refuse_other_paging_and_bad_cursors(client, session, app, shop, query):
    sharer_h, _ = _promoter_with_orders(client, session, app, shop, 1)
    answer = client.get(f"/storefront/promoter/orders?{query}", headers=sharer_h)
    assert answer.status_code == 422 and answer.get_json()["code"] == "validation_error"


def test_my_commission_orders_are_documented_as_a_cursor_page(client):
    spec = client.get("/openapi.json").get_json()
    operation = spec["paths"]["/storefront/promoter/orders"]["get"]
    assert {p["name"] for p in operation["parameters"] if p["in"] == "query"} == {"limit", "cursor"}
    assert "422" in operation["responses"]
    body = operation["responses"]["200"]["content"]["application/json"]["schema"]
    page = spec["components"]["schemas"][body["$ref"].rsplit("/", 1)[-1]]
    assert set(page["properties"]) == {"items", "next_cursor", "has_more"}
    assert page["properties"]["items"]["items"]["$ref"].endswith("/MyOrderOut")
