"""Pricing services on PostgreSQL: tier price lists, bands, effective dates, retail at a store."""

from datetime import timedelta

import pytest

from app.catalog import assortment, pricing, products
from app.catalog.errors import (
    InvalidBand,
    InvalidPriceAudience,
    InvalidPricePeriod,
    NoPrice,
    PriceOutOfBand,
    SkuUnavailable,
)
from app.catalog.models import PriceChannel, ShelfStatus
from app.db import utcnow
from app.tenancy.enums import OrgKind
from app.tenancy.scope import current_scope
from tests.factories import add_consumer, consumer_scope_of, make_tenant, scope_of

SUPPLY, RETAIL = PriceChannel.supply, PriceChannel.retail


def a_sku(session, net, *, code="TEA-250"):
    brand = scope_of(session, net, "brand")
    product = products.create_product(session, brand, name="Longjing tea",
                                      attributes={"origin": "West Lake"})
    return products.create_sku(session, brand, product_id=product.id, code=code,
                               name="Longjing 250 g", barcode=f"69{code}")


def set_price(session, net, by, seller, sku, amount, channel=SUPPLY, **extra):
    return pricing.set_price(session, scope_of(session, net, by),
                             seller_org_id=net.org(seller).id, sku_id=sku.id, channel=channel,
                             amount_minor=amount, **extra)


def quote(session, net, seller, buyer, sku, **extra):
    buyer_org = net.org(buyer) if buyer else None
    return pricing.quote(session, tenant_id=net.tenant.id, seller=net.org(seller),
                         buyer_org=buyer_org, sku_ids=[sku.id], **extra)[sku.id]


def test_a_distributor_pays_the_brand_price_for_its_level_or_its_own_override(session):
    net = make_tenant(session)
    sku = a_sku(session, net)
    set_price(session, net, "brand", "brand", sku, 10000)
    set_price(session, net, "brand", "brand", sku, 9000, buyer_depth=1)
    set_price(session, net, "brand", "brand", sku, 8500, buyer_org_id=net.org("west").id)
    scope_of(session, net, "east")
    assert quote(session, net, "brand", "east", sku) == 9000
    assert quote(session, net, "brand", "west", sku) == 8500


def test_a_distributor_prices_its_stores_and_sub_distributors_differently(session):
    net = make_tenant(session)
    sku = a_sku(session, net)
    set_price(session, net, "east", "east", sku, 12000, buyer_kind=OrgKind.store)
    set_price(session, net, "east", "east", sku, 11000, buyer_kind=OrgKind.distributor)
    scope_of(session, net, "hangzhou")
    assert quote(session, net, "east", "hangzhou", sku) == 12000
    assert quote(session, net, "east", "shanghai", sku) == 11000


def test_a_price_scheduled_for_next_monday_applies_from_then(session):
    net = make_tenant(session)
    sku = a_sku(session, net)
    now = utcnow()
    set_price(session, net, "brand", "brand", sku, 9000, effective_from=now - timedelta(days=1))
    set_price(session, net, "brand", "brand", sku, 9900, effective_from=now + timedelta(days=6))
    assert quote(session, net, "brand", "east", sku) == 9000
    assert quote(session, net, "brand", "east", sku, at=now + timedelta(days=7)) == 9900


def test_a_distributor_price_outside_the_brand_band_is_refused(session):
    net = make_tenant(session)
    sku = a_sku(session, net)
    pricing.set_band(session, scope_of(session, net, "brand"), sku_id=sku.id, channel=SUPPLY,
                     floor_minor=10000, ceiling_minor=13000)
    with pytest.raises(PriceOutOfBand, match=r"\[10000, 13000\]"):
        set_price(session, net, "east", "east", sku, 9000)
    set_price(session, net, "east", "east", sku, 13000)  # the ceiling itself is allowed


def test_the_brands_own_supply_list_is_not_bound_by_the_distributor_band(session):
    net = make_tenant(session)
    sku = a_sku(session, net)
    pricing.set_band(session, scope_of(session, net, "brand"), sku_id=sku.id, channel=SUPPLY,
                     floor_minor=10000)
    set_price(session, net, "brand", "brand", sku, 8000)
    assert quote(session, net, "brand", "east", sku) == 8000


def test_a_store_price_the_band_no_longer_allows_gives_way_to_the_brand_list_price(session):
    net = make_tenant(session)
    sku = a_sku(session, net)
    brand = scope_of(session, net, "brand")
    yesterday = utcnow() - timedelta(days=1)
    assortment.add_sku(session, brand, store_id=net.org("jingan").id, sku_id=sku.id)
    set_price(session, net, "brand", "brand", sku, 20000, RETAIL, effective_from=yesterday)
    set_price(session, net, "jingan", "jingan", sku, 18000, RETAIL, effective_from=yesterday)
    assert quote(session, net, "jingan", None, sku) == 18000
    brand = scope_of(session, net, "brand")  # the band is written as the brand, not as Jing'an
    pricing.set_band(session, brand, sku_id=sku.id, channel=RETAIL, floor_minor=19000)
    assert quote(session, net, "jingan", None, sku) == 20000


def test_retail_requires_the_sku_in_the_stores_assortment_and_on_shelf(session):
    net = make_tenant(session)
    sku = a_sku(session, net)
    set_price(session, net, "brand", "brand", sku, 20000, RETAIL)
    with pytest.raises(SkuUnavailable):
        quote(session, net, "jingan", None, sku)
    brand = scope_of(session, net, "brand")
    assortment.add_sku(session, brand, store_id=net.org("jingan").id, sku_id=sku.id)
    assert quote(session, net, "jingan", None, sku) == 20000
    products.update_product(session, brand, product_id=sku.product_id,
                            status=ShelfStatus.off_shelf)
    with pytest.raises(SkuUnavailable):
        quote(session, net, "jingan", None, sku)


def test_an_unpriced_sku_has_no_price(session):
    net = make_tenant(session)
    sku = a_sku(session, net)
    with pytest.raises(NoPrice):
        quote(session, net, "brand", "east", sku)


def test_a_consumer_scope_gets_its_retail_price_and_keeps_its_scope(session):
    net = make_tenant(session)
    sku = a_sku(session, net)
    set_price(session, net, "brand", "brand", sku, 20000, RETAIL)
    assortment.add_sku(session, scope_of(session, net, "brand"), store_id=net.org("jingan").id,
                       sku_id=sku.id)
    shopper = consumer_scope_of(session, add_consumer(session, net, "jingan"))
    assert quote(session, net, "jingan", None, sku) == 20000
    assert current_scope() is shopper


def test_retail_prices_name_no_buyer_and_come_from_stores_or_the_brand(session):
    net = make_tenant(session)
    sku = a_sku(session, net)
    with pytest.raises(InvalidPriceAudience):
        set_price(session, net, "east", "east", sku, 100, RETAIL)
    with pytest.raises(InvalidPriceAudience):
        set_price(session, net, "brand", "brand", sku, 100, RETAIL, buyer_depth=1)
    with pytest.raises(InvalidPriceAudience):
        set_price(session, net, "jingan", "jingan", sku, 100, SUPPLY)


def test_a_per_buyer_price_must_name_an_org_below_the_seller(session):
    net = make_tenant(session)
    sku = a_sku(session, net)
    with pytest.raises(InvalidPriceAudience):
        set_price(session, net, "brand", "east", sku, 100, buyer_org_id=net.org("brand").id)


def test_a_price_that_ends_before_it_starts_is_refused(session):
    net = make_tenant(session)
    sku = a_sku(session, net)
    now = utcnow()
    with pytest.raises(InvalidPricePeriod):
        set_price(session, net, "brand", "brand", sku, 100, effective_from=now,
                  effective_to=now - timedelta(days=1))


def test_a_band_whose_ceiling_is_below_its_floor_is_refused(session):
    net = make_tenant(session)
    sku = a_sku(session, net)
    with pytest.raises(InvalidBand):
        pricing.set_band(session, scope_of(session, net, "brand"), sku_id=sku.id,
                         channel=RETAIL, floor_minor=200, ceiling_minor=100)
