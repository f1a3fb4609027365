"""Membership through HTTP: the brand configures, a consumer joins and earns, stores see their members."""

import pytest

from app.platform.outbox import relay_pending
from app.tenancy import grants
from app.tenancy.enums import Dataset, Fidelity
from app.tenancy.scope import system_scope
from tests.api.test_orders_api import body, consumer_headers, paid
from tests.factories import add_consumer, login, make_tenant, scope_of
from tests.integration.test_orders_fixtures import RETAIL_PRICE, stocked_catalog
from tests.support.membership import LEVELS
from tests.support.scope import use_scope


@pytest.fixture
def shop(session, app, client):
    net = make_tenant(session)
    catalog = stocked_catalog(session, net)
    alice = add_consumer(session, net, "jingan", name="李娜", phone="13900001111")
    session.commit()
    brand = login(client, net, "brand")
    program = client.put("/membership/program", headers=brand, json={
        "return_window_days": 7, "points_expiry": "days:365", "earn_points_per_unit": 1,
        "points_per_unit": 100, "growth_per_unit": 1})
    assert program.status_code == 200, program.get_json()
    for code, fields in LEVELS.items():
        level = client.put(f"/membership/levels/{code}", headers=brand, json=fields)
        assert level.status_code == 200, level.get_json()
    return net, catalog, consumer_headers(app, alice), brand


def relay(session, net):
    use_scope(session, system_scope(net.tenant.id))
    while relay_pending(session, tenant_id=net.tenant.id):
        pass
    session.commit()


def test_only_the_brand_configures_the_program(client, shop):
    net, _, _, brand = shop
    store = login(client, net, "jingan")
    refused = client.put("/membership/program", headers=store, json={"grace_days": 1})
    assert refused.status_code == 403 and refused.get_json()["permission"] == "membership.configure"
    got = client.get("/membership/program", headers=store).get_json()
    assert got["points_expiry"] == "days:365" and got["currency"] == "CNY"
    assert [level["code"] for level in client.get("/membership/levels", headers=store).get_json()] == [
        "silver", "gold", "platinum"]


@pytest.mark.parametrize("bad", [{"grace_days": 1.5}, {"points_expiry": "days:0"},
                                 {"max_points_share_bp": 10_001}, {"points_per_unit": 0}])
def test_program_settings_are_validated(client, shop, bad):
    _, _, _, brand = shop
    response = client.put("/membership/program", headers=brand, json=bad)
    assert response.status_code == 422, response.get_json()


def test_a_level_cannot_keep_with_more_growth_than_it_takes_to_reach(client, shop):
    _, _, _, brand = shop
    response = client.put("/membership/levels/diamond", headers=brand, json={
        "name": "Diamond", "rank": 3, "growth_threshold": 100, "retention_threshold": 200})
    assert response.status_code == 422 and response.get_json()["code"] == "invalid_member_level"
    clash = client.put("/membership/levels/diamond", headers=brand, json={
        "name": "Diamond", "rank": 1, "growth_threshold": 100})
    assert clash.status_code == 409 and clash.get_json()["code"] == "level_code_taken"


def test_a_consumer_joins_pays_and_sees_pending_points_and_the_next_level(client, session, shop):
    net, catalog, alice, _ = shop
    assert client.get("/storefront/membership/card", headers=alice).status_code == 404
    joined = client.post("/storefront/membership/join", headers=alice)
    assert joined.status_code == 200, joined.get_json()
    card = joined.get_json()
    assert card["level"]["code"] == "silver"
    assert card["next_level"] == {"code": "gold", "name": "Gold", "rank": 1, "growth_threshold": 1000,
                                  "growth_missing": 1000}
    rejoined = client.post("/storefront/membership/join", headers=alice).get_json()
    assert rejoined["member_id"] == card["member_id"]
    order = client.post("/storefront/orders", headers=alice, json=body(catalog, 2)).get_json()
    paid(session, net, order["id"])
    relay(session, net)
    card = client.get("/storefront/membership/card", headers=alice).get_json()
    earned = 2 * RETAIL_PRICE // 100
    assert card["points"] == {"available": 0, "pending": earned, "debt": 0, "expiring_soon": []}
    assert card["benefits"]["points_multiplier_pct"] == 100 and card["coupons"] == []
    moves = client.get("/storefront/membership/points/moves?limit=10", headers=alice).get_json()
    assert [(m["kind"], m["points"]) for m in moves["items"]] == [("earn", earned)]
    lots = client.get("/storefront/membership/points/lots?status=pending", headers=alice).get_json()
    assert lots["items"][0]["available_at"] and not lots["has_more"]


def test_a_store_sees_its_members_and_a_sibling_store_does_not(client, session, shop):
    net, _, alice, _ = shop
    member_id = client.post("/storefront/membership/join", headers=alice).get_json()["member_id"]
    jingan, chengdu = login(client, net, "jingan"), login(client, net, "chengdu")
    listed = client.get("/membership/members", headers=jingan).get_json()
    assert [row["id"] for row in listed["items"]] == [member_id]
    assert client.get("/membership/members", headers=chengdu).get_json()["items"] == []
    assert client.get(f"/membership/members/{member_id}", headers=chengdu).status_code == 404
    detail = client.get(f"/membership/members/{member_id}", headers=jingan).get_json()
    assert detail["card"]["level"]["code"] == "silver"


def test_staff_adjust_points_by_permission_idempotently_and_never_below_zero(client, session, shop):
    net, _, alice, _ = shop
    member_id = client.post("/storefront/membership/join", headers=alice).get_json()["member_id"]
    store = {**login(client, net, "jingan"), "Idempotency-Key": "goodwill-1"}
    url = f"/membership/members/{member_id}/points/adjustments"
    added = client.post(url, headers=store, json={"points": 200, "reason": "late delivery"})
    assert added.status_code == 201, added.get_json()
    again = client.post(url, headers=store, json={"points": 200, "reason": "late delivery"})
    assert again.get_json()["member"]["points_available"] == 200
    too_much = client.post(url, headers=login(client, net, "jingan"), json={"points": -201, "reason": "x"})
    assert too_much.status_code == 409 and too_much.get_json()["code"] == "insufficient_points"
    assert client.post(url, headers=store, json={"points": 1.5, "reason": "x"}).status_code == 422
    assert client.post(url, headers=login(client, net, "chengdu"),
                       json={"points": 5, "reason": "x"}).status_code == 404
    taken = client.post(url, headers=login(client, net, "jingan"), json={"points": -50, "reason": "typo"})
    assert taken.get_json()["member"]["points_available"] == 150


def test_the_brand_sees_a_distributors_members_masked_when_the_distributor_grants_masked(
        app, client, session, shop):
    net, _, _, brand = shop
    bob = add_consumer(session, net, "chengdu", name="张伟", phone="13900002222")
    grants.set_grant(session, scope_of(session, net, "west"), grantor_org_id=net.org("west").id,
                     grantee_org_id=net.org("brand").id, dataset=Dataset.consumers, fidelity=Fidelity.masked)
    session.commit()
    client.post("/storefront/membership/join", headers=consumer_headers(app, bob))
    listed = client.get("/membership/members", headers=brand).get_json()["items"]
    rows = {row["consumer_id"]: row for row in listed}
    seen = rows[str(bob.id)]
    assert seen["fidelity"] == "masked" and seen["name"] != "张伟" and seen["phone"] != "13900002222"
    west = client.get("/membership/members", headers=login(client, net, "chengdu")).get_json()["items"]
    assert [(row["name"], row["fidelity"]) for row in west] == [("张伟", "full")]
