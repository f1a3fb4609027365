"""Coupons, the checkout quote and the points mall through HTTP: the brand configures, members claim,
quote, check out and redeem; the store may not configure; strict numbers."""

import pytest

from tests.api.test_orders_api import body, consumer_headers
from tests.factories import add_consumer, login, make_tenant
from tests.integration.test_orders_fixtures import stocked_catalog
from tests.support.offers import gold_member, program_with_gold

TEMPLATE = {"name": "满100减10", "kind": "amount_off", "amount_off_minor": 1_000, "min_goods_minor": 10_000,
            "valid_days": 30, "total_quantity": 100}


@pytest.fixture
def shop(session, app):
    net = make_tenant(session, settings={"orders": {"shipping_flat_minor": 800}})
    catalog = stocked_catalog(session, net, price=10_000)
    program_with_gold(session, net, discount_bp=500)
    alice = add_consumer(session, net, "jingan", name="李娜")
    gold_member(session, net, alice, points=4_000)
    bob = add_consumer(session, net, "chengdu", name="张伟")
    session.commit()
    return net, catalog, consumer_headers(app, alice), consumer_headers(app, bob)


def test_the_brand_defines_a_template_a_member_claims_it_once_and_sees_it_on_their_list(client, shop):
    net, _, alice, _ = shop
    made = client.post("/membership/coupon-templates", json=TEMPLATE, headers=login(client, net, "brand"))
    assert made.status_code == 201, made.get_json()
    template_id = made.get_json()["id"]
    assert template_id in [t["id"] for t in client.get("/storefront/membership/coupon-templates",
                                                       headers=alice).get_json()["items"]]
    claimed = client.post(f"/storefront/membership/coupon-templates/{template_id}/claim", headers=alice)
    assert claimed.status_code == 201 and claimed.get_json()["status"] == "available"
    again = client.post(f"/storefront/membership/coupon-templates/{template_id}/claim", headers=alice)
    assert again.status_code == 409 and again.get_json()["code"] == "coupon_limit_reached"
    mine = client.get("/storefront/membership/coupons", headers=alice).get_json()["items"]
    assert [c["id"] for c in mine] == [claimed.get_json()["id"]]
    assert mine[0]["template"]["name"] == "满100减10"


def test_a_store_may_not_define_coupons(client, shop):
    net, *_ = shop
    refused = client.post("/membership/coupon-templates", json=TEMPLATE, headers=login(client, net, "jingan"))
    assert refused.status_code == 403


def test_the_quote_shows_the_waterfall_and_checkout_charges_exactly_it(client, shop):
    net, catalog, alice, _ = shop
    template_id = client.post("/membership/coupon-templates", json=TEMPLATE,
                              headers=login(client, net, "brand")).get_json()["id"]
    coupon_id = client.post(f"/storefront/membership/coupon-templates/{template_id}/claim",
                            headers=alice).get_json()["id"]
    wanted = {"lines": body(catalog, 1, 1)["lines"], "coupon_id": coupon_id, "points": 1_500}
    quote = client.post("/storefront/checkout/quote", json=wanted, headers=alice)
    assert quote.status_code == 200, quote.get_json()
    q = quote.get_json()
    assert [(a["step"], a["amount_minor"]) for a in q["adjustments"]] == [
        ("level", 1_000), ("coupon", 1_000), ("points", 1_500)]
    assert (q["goods_minor"], q["discount_minor"], q["shipping_minor"], q["total_minor"]) == (
        20_000, 3_500, 800, 17_300)
    assert q["max_points"] == 10_000
    placed = client.post("/storefront/orders", json={**body(catalog, 1, 1), "coupon_id": coupon_id,
                                                     "points": 1_500},
                         headers={**alice, "Idempotency-Key": "k-quote"})
    assert placed.status_code == 201, placed.get_json()
    assert placed.get_json()["total_minor"] == q["total_minor"]
    assert [line["total_minor"] for line in placed.get_json()["lines"]] == [
        line["total_minor"] for line in q["lines"]]
    replayed = client.post("/storefront/orders", json={**body(catalog, 1, 1), "coupon_id": coupon_id,
                                                       "points": 1_500},
                           headers={**alice, "Idempotency-Key": "k-quote"})
    assert replayed.status_code == 200 and replayed.get_json()["id"] == placed.get_json()["id"]
    other = client.post("/storefront/orders", json={**body(catalog, 1, 1), "coupon_id": coupon_id},
                        headers={**alice, "Idempotency-Key": "k-other"})
    assert other.status_code == 409 and other.get_json()["code"] == "coupon_unavailable"
    reused = client.post("/storefront/checkout/quote", json=wanted, headers=alice)
    assert reused.status_code == 409 and reused.get_json()["code"] == "coupon_unavailable"


def test_points_must_be_a_whole_number_and_within_the_share(client, shop):
    _, catalog, alice, _ = shop
    half = client.post("/storefront/checkout/quote", json={"lines": body(catalog, 1)["lines"], "points": 1.5},
                       headers=alice)
    assert half.status_code == 422
    over = client.post("/storefront/checkout/quote", headers=alice,
                       json={"lines": body(catalog, 1)["lines"], "points": 5_001})
    assert over.status_code == 422 and over.get_json()["code"] == "points_over_limit"


def test_a_targeted_issuance_runs_as_a_job_with_progress_and_reaches_only_the_segment(client, shop):
    net, _, alice, bob = shop
    brand = login(client, net, "brand")
    template_id = client.post("/membership/coupon-templates", json={**TEMPLATE, "claimable": False},
                              headers=brand).get_json()["id"]
    job = client.post(f"/membership/coupon-templates/{template_id}/issue",
                      json={"segment": {"level_codes": ["gold"]}}, headers=brand)
    assert job.status_code == 202, job.get_json()
    assert job.get_json()["total"] == 1
    progress = client.get(f"/membership/coupon-issue-jobs/{job.get_json()['id']}", headers=brand).get_json()
    assert (progress["status"], progress["done"], progress["issued"]) == ("done", 1, 1)
    assert len(client.get("/storefront/membership/coupons", headers=alice).get_json()["items"]) == 1
    assert client.get("/storefront/membership/coupons", headers=bob).get_json()["items"] == []
    card = client.get("/storefront/membership/card", headers=alice)
    assert card.status_code == 200, card.get_json()
    assert [c["template_id"] for c in card.get_json()["coupons"]] == [template_id]


def test_a_member_redeems_a_mall_item_into_a_retail_order_paying_only_its_cash(client, shop):
    net, catalog, alice, _ = shop
    brand = login(client, net, "brand")
    item = client.post("/membership/mall-items", json={"sku_id": str(catalog.sku_ids[0]), "name": "Gift tin",
                                                       "points_price": 3_000, "cash_minor": 500, "stock": 2},
                       headers=brand)
    assert item.status_code == 201, item.get_json()
    shelf = client.get("/storefront/membership/mall-items", headers=alice).get_json()
    assert [i["id"] for i in shelf["items"]] == [item.get_json()["id"]] and shelf["has_more"] is False
    order = client.post(f"/storefront/membership/mall-items/{item.get_json()['id']}/redeem",
                        json={"delivery": "pickup"}, headers={**alice, "Idempotency-Key": "mall-1"})
    assert order.status_code == 201, order.get_json()
    assert (order.get_json()["total_minor"], order.get_json()["discount_minor"]) == (500, 9_500)
    poor = client.post(f"/storefront/membership/mall-items/{item.get_json()['id']}/redeem",
                       json={"delivery": "pickup"}, headers={**alice, "Idempotency-Key": "mall-2"})
    assert poor.status_code == 409 and poor.get_json()["code"] == "insufficient_points"
