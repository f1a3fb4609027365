"""Catalog API over HTTP: brand catalog, prices and bands, assortments, stock, storefront, isolation."""

import pytest

from app.auth.tokens import issue_access_token
from app.demo.catalog import seed_catalog
from tests.factories import add_consumer, login, make_tenant


def _seed(session):
    net = make_tenant(session)
    return net, seed_catalog(session, net.tenant, net.orgs)


@pytest.fixture(scope="module")
def catalog(module_seed):
    """A tenant with the demo catalog, seeded once for the module (each test in a savepoint)."""
    return module_seed(_seed)


@pytest.fixture(scope="module")
def other_tenant(module_seed):
    return module_seed(make_tenant)


def consumer_headers(app, consumer) -> dict:
    token = issue_access_token(app.config["SECRET_KEY"], ttl_seconds=300,
                               tenant_id=consumer.tenant_id, subject=consumer.id, kind="consumer")
    return {"Authorization": f"Bearer {token}"}


# --- brand catalog --------------------------------------------------------------------------

def test_the_brand_creates_a_product_and_a_sku_and_takes_it_off_the_shelf(client, session):
    net = make_tenant(session)
    brand = login(client, net, "brand")
    category = client.post("/catalog/categories", headers=brand, json={"name": "Tea"}).get_json()
    response = client.post("/catalog/products", headers=brand, json={
        "name": "Longjing", "category_id": category["id"], "attributes": {"origin": "Hangzhou"},
        "image_urls": ["https://img.example.com/lj.jpg"]})
    assert response.status_code == 201, response.get_json()
    product = response.get_json()
    response = client.post("/catalog/skus", headers=brand, json={
        "product_id": product["id"], "code": "LJ-1", "name": "Longjing 100 g", "barcode": "690001"})
    assert response.status_code == 201, response.get_json()
    response = client.patch(f"/catalog/products/{product['id']}", headers=brand,
                            json={"status": "off_shelf"})
    assert response.status_code == 200 and response.get_json()["status"] == "off_shelf"
    listed = client.get("/catalog/products?status=off_shelf", headers=brand).get_json()["items"]
    assert [p["id"] for p in listed] == [product["id"]]


def test_products_filter_by_a_parent_category_including_its_children(client, session):
    net = make_tenant(session)
    brand = login(client, net, "brand")
    tea = client.post("/catalog/categories", headers=brand, json={"name": "Tea"}).get_json()
    green = client.post("/catalog/categories", headers=brand,
                        json={"name": "Green", "parent_id": tea["id"]}).get_json()
    assert green["tree_path"].startswith(tea["tree_path"])
    client.post("/catalog/products", headers=brand, json={"name": "Longjing", "category_id": green["id"]})
    client.post("/catalog/products", headers=brand, json={"name": "Cup"})
    names = [p["name"] for p in client.get(f"/catalog/products?category_id={tea['id']}",
                                           headers=brand).get_json()["items"]]
    assert names == ["Longjing"]
    first = client.get("/catalog/products?limit=1", headers=brand).get_json()
    assert len(first["items"]) == 1 and first["has_more"]
    second = client.get("/catalog/products", headers=brand,
                        query_string={"limit": 1, "cursor": first["next_cursor"]}).get_json()
    assert len(second["items"]) == 1 and second["items"][0]["id"] != first["items"][0]["id"]


def test_a_duplicate_barcode_answers_409(client, session, catalog):
    net, skus = catalog
    brand = login(client, net, "brand")
    response = client.post("/catalog/skus", headers=brand, json={
        "product_id": str(skus["LJ-100"].product_id), "code": "NEW", "name": "x",
        "barcode": skus["LJ-100"].barcode})
    assert response.status_code == 409 and response.get_json()["code"] == "duplicate_sku"


def test_a_distributor_reads_the_catalog_but_cannot_change_it(client, session, catalog):
    net, skus = catalog
    east = login(client, net, "east")
    assert len(client.get("/catalog/skus?limit=200", headers=east).get_json()["items"]) == len(skus)
    response = client.post("/catalog/products", headers=east, json={"name": "Fake tea"})
    assert response.status_code == 403 and response.get_json()["code"] == "brand_managers_only"


def test_another_tenants_sku_answers_404(client, session, catalog, other_tenant):
    net, skus = catalog
    other = other_tenant
    response = client.get(f"/catalog/skus/{skus['LJ-100'].id}", headers=login(client, other, "brand"))
    assert response.status_code == 404


# --- prices ---------------------------------------------------------------------------------

def test_a_distributor_price_outside_the_band_is_refused_with_the_band(client, session, catalog):
    net, skus = catalog
    east = login(client, net, "east")
    sku = skus["LJ-100"]  # retail 16800: the supply band is [9240, 12600]
    response = client.post("/catalog/prices", headers=east, json={
        "seller_org_id": str(net.org("east").id), "sku_id": str(sku.id), "channel": "supply",
        "amount_minor": 5000, "buyer_kind": "store"})
    assert response.status_code == 422
    body = response.get_json()
    assert body["code"] == "price_out_of_band" and "[9240, 12600]" in body["message"]
    response = client.post("/catalog/prices", headers=east, json={
        "seller_org_id": str(net.org("east").id), "sku_id": str(sku.id), "channel": "supply",
        "amount_minor": 10000, "buyer_kind": "store"})
    assert response.status_code == 201, response.get_json()


def test_a_store_sets_its_retail_price_inside_the_band(client, session, catalog):
    net, skus = catalog
    store = login(client, net, "hangzhou")
    body = {"seller_org_id": str(net.org("hangzhou").id), "sku_id": str(skus["CUP-CEL-1"].id),
            "channel": "retail", "amount_minor": 6000}
    assert client.post("/catalog/prices", headers=store, json=body).status_code == 201
    body["amount_minor"] = 1
    response = client.post("/catalog/prices", headers=store, json=body)
    assert response.status_code == 422 and response.get_json()["code"] == "price_out_of_band"


def test_a_store_cannot_set_its_distributors_prices(client, session, catalog):
    net, skus = catalog
    store = login(client, net, "hangzhou")
    response = client.post("/catalog/prices", headers=store, json={
        "seller_org_id": str(net.org("east").id), "sku_id": str(skus["LJ-100"].id),
        "channel": "supply", "amount_minor": 10000})
    assert response.status_code == 403


def test_a_store_sees_its_distributors_prices_but_not_a_sibling_distributors(client, session, catalog):
    net, skus = catalog
    store = login(client, net, "hangzhou")
    sellers = {p["seller_org_id"] for p in client.get("/catalog/prices?limit=200",
                                                      headers=store).get_json()["items"]}
    assert str(net.org("east").id) in sellers and str(net.org("brand").id) in sellers
    assert str(net.org("west").id) not in sellers and str(net.org("chengdu").id) not in sellers


def test_a_per_distributor_override_is_hidden_from_its_siblings(client, session, catalog):
    net, skus = catalog
    brand = login(client, net, "brand")
    response = client.post("/catalog/prices", headers=brand, json={
        "seller_org_id": str(net.org("brand").id), "sku_id": str(skus["LJ-100"].id),
        "channel": "supply", "amount_minor": 7000, "buyer_org_id": str(net.org("east").id)})
    assert response.status_code == 201
    override = response.get_json()["id"]
    west = client.get("/catalog/prices?limit=200", headers=login(client, net, "west")).get_json()["items"]
    east = client.get("/catalog/prices?limit=200", headers=login(client, net, "east")).get_json()["items"]
    assert override not in {p["id"] for p in west}
    assert override in {p["id"] for p in east}


def test_the_brand_sets_a_band_and_stores_read_it(client, session, catalog):
    net, skus = catalog
    brand = login(client, net, "brand")
    response = client.post("/catalog/price-bands", headers=brand, json={
        "sku_id": str(skus["GIFT-4S"].id), "channel": "retail", "floor_minor": 50000,
        "ceiling_minor": 40000})
    assert response.status_code == 422
    response = client.post("/catalog/price-bands", headers=login(client, net, "east"), json={
        "sku_id": str(skus["GIFT-4S"].id), "channel": "retail", "floor_minor": 1})
    assert response.status_code == 403
    bands = client.get(f"/catalog/price-bands?sku_id={skus['GIFT-4S'].id}",
                       headers=login(client, net, "chengdu")).get_json()["items"]
    assert {b["channel"] for b in bands} == {"supply", "retail"}


# --- assortment and storefront ---------------------------------------------------------------

def test_a_store_takes_a_sku_off_its_assortment_and_the_storefront_stops_listing_it(
        client, session, app, catalog):
    net, skus = catalog
    consumer = add_consumer(session, net, "chengdu")
    shopper = consumer_headers(app, consumer)
    shelf = client.get(f"/storefront/stores/{net.org('chengdu').id}/catalog?limit=200",
                       headers=shopper)
    assert shelf.status_code == 200, shelf.get_json()
    assert len(shelf.get_json()["items"]) == len(skus)
    prices = {item["sku_id"]: item["price_minor"] for item in shelf.get_json()["items"]}
    assert prices[str(skus["LJ-100"].id)] == 16800  # the brand's list price

    store = login(client, net, "chengdu")
    url = f"/catalog/stores/{net.org('chengdu').id}/assortment/{skus['LJ-100'].id}"
    assert client.delete(url, headers=store).status_code == 204
    assert client.delete(url, headers=store).status_code == 404
    shelf = client.get(f"/storefront/stores/{net.org('chengdu').id}/catalog?limit=200",
                       headers=shopper).get_json()["items"]
    assert str(skus["LJ-100"].id) not in {item["sku_id"] for item in shelf}
    response = client.post(f"/catalog/stores/{net.org('chengdu').id}/assortment", headers=store,
                           json={"sku_id": str(skus["LJ-100"].id)})
    assert response.status_code == 201


def test_an_unpriced_sku_in_the_assortment_leaves_no_hole_in_a_shelf_page(client, session, app, catalog):
    """The filter is in the query: a page of 1 is never empty while more priced SKUs follow."""
    net, skus = catalog
    brand, store = login(client, net, "brand"), login(client, net, "chengdu")
    product = client.post("/catalog/products", headers=brand, json={"name": "Unpriced"}).get_json()
    sku = client.post("/catalog/skus", headers=brand, json={
        "product_id": product["id"], "code": "NOPRICE-1", "name": "No price yet"}).get_json()
    assortment = f"/catalog/stores/{net.org('chengdu').id}/assortment"
    assert client.post(assortment, headers=store, json={"sku_id": sku["id"]}).status_code == 201
    # a priced SKU added after it: the unpriced row sits between priced ones (the shelf is in the
    # order the store added its SKUs)
    assert client.delete(f"{assortment}/{skus['LJ-100'].id}", headers=store).status_code == 204
    assert client.post(assortment, headers=store, json={"sku_id": str(skus["LJ-100"].id)}).status_code == 201
    shopper = consumer_headers(app, add_consumer(session, net, "chengdu"))
    url = f"/storefront/stores/{net.org('chengdu').id}/catalog?limit=1"
    seen, cursor = [], None
    for _ in range(len(skus) + 1):
        page = client.get(url + (f"&cursor={cursor}" if cursor else ""), headers=shopper).get_json()
        assert len(page["items"]) == 1 or not page["has_more"], page
        seen += [item["sku_id"] for item in page["items"]]
        if not page["has_more"]:
            break
        cursor = page["next_cursor"]
    assert sku["id"] not in seen and len(seen) == len(skus)


def test_the_storefront_shows_the_stores_own_retail_price(client, session, app, catalog):
    net, skus = catalog
    store = net.org("jingan")  # the seed's first store asks 105 % of list
    consumer = add_consumer(session, net, "jingan")
    shelf = client.get(f"/storefront/stores/{store.id}/catalog?limit=200",
                       headers=consumer_headers(app, consumer)).get_json()["items"]
    prices = {item["sku_id"]: item["price_minor"] for item in shelf}
    assert prices[str(skus["LJ-100"].id)] == 17640


def test_the_storefront_is_for_consumers_and_knows_only_this_tenants_stores(client, session, app, catalog,
                                                                          other_tenant):
    net, _ = catalog
    other = other_tenant
    consumer = add_consumer(session, net, "jingan")
    response = client.get(f"/storefront/stores/{other.org('jingan').id}/catalog",
                          headers=consumer_headers(app, consumer))
    assert response.status_code == 404
    response = client.get(f"/storefront/stores/{net.org('jingan').id}/catalog",
                          headers=login(client, net, "jingan"))
    assert response.status_code == 403


def test_a_sibling_stores_assortment_answers_404(client, session, catalog):
    net, _ = catalog
    response = client.get(f"/catalog/stores/{net.org('chengdu').id}/assortment",
                          headers=login(client, net, "hangzhou"))
    assert response.status_code == 404


# --- stock ----------------------------------------------------------------------------------

def test_a_distributor_sees_its_own_and_its_stores_stock_but_not_a_siblings(client, session, catalog):
    net, skus = catalog
    levels = client.get("/catalog/stock?limit=200", headers=login(client, net, "west")).get_json()["items"]
    orgs = {level["org_id"] for level in levels}
    assert orgs == {str(net.org("west").id), str(net.org("chengdu").id)}
    response = client.get(f"/catalog/stock?org_id={net.org('east').id}",
                          headers=login(client, net, "west"))
    assert response.get_json()["items"] == []


def test_a_stocktake_records_an_adjust_movement(client, session, catalog):
    net, skus = catalog
    store = login(client, net, "hangzhou")
    response = client.post("/catalog/stock/stocktake", headers=store, json={
        "org_id": str(net.org("hangzhou").id), "sku_id": str(skus["CUP-CEL-1"].id),
        "counted": 20, "note": "two broken"})
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["on_hand"] == 20
    moves = client.get(f"/catalog/stock/movements?sku_id={skus['CUP-CEL-1'].id}"
                       f"&org_id={net.org('hangzhou').id}", headers=store).get_json()["items"]
    assert moves[0]["reason"] == "adjust" and moves[0]["qty"] == -4
    assert moves[0]["on_hand_after"] == 20


def test_only_the_orgs_own_staff_count_its_stock(client, session, catalog):
    net, skus = catalog
    response = client.post("/catalog/stock/stocktake", headers=login(client, net, "east"), json={
        "org_id": str(net.org("hangzhou").id), "sku_id": str(skus["CUP-CEL-1"].id), "counted": 1})
    assert response.status_code == 403 and response.get_json()["permission"] == "stock.adjust"
    response = client.post("/catalog/stock/stocktake", headers=login(client, net, "west"), json={
        "org_id": str(net.org("hangzhou").id), "sku_id": str(skus["CUP-CEL-1"].id), "counted": 1})
    assert response.status_code == 404


def test_another_tenants_stock_is_never_listed(client, session, catalog, other_tenant):
    net, _ = catalog
    other = other_tenant
    response = client.get(f"/catalog/stock/movements?org_id={net.org('brand').id}",
                          headers=login(client, other, "brand"))
    assert response.status_code == 200 and response.get_json()["items"] == []
