"""Pricing services on PostgreSQL: tier price lists, bands, effective dates, retail at a store."""



from app.catalog import pricing
from app.catalog import products as catalog
from app.catalog.models import PriceChannel
from tests.factories import make_tenant, scope_of


def a_sku(session, net, *, code="TEA-250"):
    brand = scope_of(session, net, "brand")
    product = catalog.create_product(session, brand, name="Longjing tea", attributes={"origin": "West Lake"})
    return catalog.create_sku(session, brand, product_id=product.id, code=code, name="Longjing 250 g",
                              barcode=f"69{code}")


def test_a_distributor_pays_the_brand_price_for_its_level(session):
    net = make_tenant(session)
    sku = a_sku(session, net)
    brand = scope_of(session, net, "brand")
    pricing.set_price(session, brand, seller_org_id=net.org("brand").id, sku_id=sku.id,
                      channel=PriceChannel.supply, amount_minor=10000)
    pricing.set_price(session, brand, seller_org_id=net.org("brand").id, sku_id=sku.id,
                      channel=PriceChannel.supply, amount_minor=9000, buyer_depth=1)
    pricing.set_price(session, brand, seller_org_id=net.org("brand").id, sku_id=sku.id,
                      channel=PriceChannel.supply, amount_minor=8500, buyer_org_id=net.org("west").id)
    scope_of(session, net, "east")
    quoted = pricing.quote(session, tenant_id=net.tenant.id, seller=net.org("brand"),
                           buyer_org=net.org("east"), sku_ids=[sku.id])
    assert quoted == {sku.id: 9000}
    west = pricing.quote(session, tenant_id=net.tenant.id, seller=net.org("brand"),
                         buyer_org=net.org("west"), sku_ids=[sku.id])
    assert west == {sku.id: 8500}
