"""Demo catalog: categories, tea/cups/gift boxes, tier prices and bands, assortments, stock.

Works on any network: it walks the orgs it is given by kind (distributors by depth, stores).
"""

from dataclasses import replace
from datetime import timedelta

from sqlalchemy.orm import Session

from app.catalog import assortment, pricing, products, stock
from app.catalog.models import PriceChannel
from app.db import utcnow
from app.tenancy.elevation import Why, enter_scope
from app.tenancy.enums import ActorKind, OrgKind, Role
from app.tenancy.models import Org, Tenant
from app.tenancy.scope import Scope, system_scope

# (category, product, description, [(sku code, sku name, barcode, retail price in fen)])
CATALOG = [
    ("Green tea", "West Lake Longjing 西湖龙井", "Pre-Qingming, pan-fired", [
        ("LJ-100", "Longjing 100 g tin", "6901234500011", 16800),
        ("LJ-250", "Longjing 250 g tin", "6901234500028", 39800)]),
    ("Green tea", "Biluochun 碧螺春", "Dongting mountain, spring picking", [
        ("BLC-100", "Biluochun 100 g", "6901234500035", 12800),
        ("BLC-250", "Biluochun 250 g", "6901234500042", 29800)]),
    ("Oolong", "Da Hong Pao 大红袍", "Wuyi rock tea, medium roast", [
        ("DHP-125", "Da Hong Pao 125 g", "6901234500059", 22800),
        ("DHP-500", "Da Hong Pao 500 g", "6901234500066", 78800)]),
    ("Teaware", "Celadon cup 青瓷杯", "Longquan celadon, 80 ml", [
        ("CUP-CEL-1", "Celadon cup, single", "6901234500073", 5800),
        ("CUP-CEL-4", "Celadon cups, set of 4", "6901234500080", 19800)]),
    ("Teaware", "Glass travel infuser", "Borosilicate, 350 ml", [
        ("INF-350-CL", "Infuser, clear", "6901234500097", 8900),
        ("INF-350-AM", "Infuser, amber", "6901234500103", 8900)]),
    ("Gift boxes", "Four seasons gift box 四季礼盒", "Four teas and two cups", [
        ("GIFT-4S", "Four seasons box", "6901234500110", 58800),
        ("GIFT-4S-XL", "Four seasons box, deluxe", "6901234500127", 98800)]),
]

SUPPLY_SHARE_BY_DEPTH = {1: 50, 2: 58}  # brand → distributor, % of retail, by level
DISTRIBUTOR_TO_STORE = 65  # a distributor's supply price to its stores, % of retail
SUPPLY_BAND = (55, 75)  # brand's floor and ceiling on distributor prices, % of retail
RETAIL_BAND = (90, 120)  # retail floor (brand minimum) and ceiling, % of list price


def _brand_scope(tenant: Tenant, brand: Org) -> Scope:
    """The brand owner's reach, for seeding through the services."""
    return replace(system_scope(tenant.id), actor_kind=ActorKind.staff, org_id=brand.id,
                   org_path=brand.path, role=Role.owner)


def seed_catalog(session: Session, tenant: Tenant, orgs: dict[str, Org]) -> dict[str, object]:
    """Seed the catalog for `orgs` (must include "brand"); returns SKUs by code."""
    brand = orgs["brand"]
    scope = _brand_scope(tenant, brand)
    enter_scope(session, Why.seed_demo, scope=scope)
    since = utcnow() - timedelta(days=1)
    categories = {}
    skus = {}
    for category_name, product_name, description, variants in CATALOG:
        if category_name not in categories:
            categories[category_name] = products.create_category(session, scope,
                                                                 name=category_name)
        product = products.create_product(
            session, scope, name=product_name, description=description,
            category_id=categories[category_name].id,
            image_urls=[f"https://img.example.com/{variants[0][0].lower()}.jpg"])
        for code, name, barcode, retail in variants:
            sku = products.create_sku(session, scope, product_id=product.id, code=code,
                                      name=name, barcode=barcode)
            skus[code] = sku
            _price_sku(session, scope, brand, orgs, sku, retail, since)
    _stock(session, tenant, orgs, skus)
    return skus


def _pct(amount: int, percent: int) -> int:
    return amount * percent // 100


def _price_sku(session, scope, brand: Org, orgs, sku, retail: int, since) -> None:
    common = {"sku_id": sku.id, "effective_from": since}
    pricing.set_band(session, scope, channel=PriceChannel.supply,
                     floor_minor=_pct(retail, SUPPLY_BAND[0]),
                     ceiling_minor=_pct(retail, SUPPLY_BAND[1]), **common)
    pricing.set_band(session, scope, channel=PriceChannel.retail,
                     floor_minor=_pct(retail, RETAIL_BAND[0]),
                     ceiling_minor=_pct(retail, RETAIL_BAND[1]), **common)
    pricing.set_price(session, scope, seller_org_id=brand.id, channel=PriceChannel.retail,
                      amount_minor=retail, **common)
    for depth, share in SUPPLY_SHARE_BY_DEPTH.items():
        pricing.set_price(session, scope, seller_org_id=brand.id, channel=PriceChannel.supply,
                          buyer_depth=depth, amount_minor=_pct(retail, share), **common)
    for org in orgs.values():
        if org.kind is OrgKind.distributor:
            pricing.set_price(session, scope, seller_org_id=org.id, channel=PriceChannel.supply,
                              amount_minor=_pct(retail, DISTRIBUTOR_TO_STORE), **common)
        elif org.kind is OrgKind.store:
            assortment.add_sku(session, scope, store_id=org.id, sku_id=sku.id)
    stores = [org for org in orgs.values() if org.kind is OrgKind.store]
    if stores:  # one store runs a small premium on its shelf, inside the band
        pricing.set_price(session, scope, seller_org_id=stores[0].id,
                          channel=PriceChannel.retail, amount_minor=_pct(retail, 105), **common)


def _stock(session, tenant: Tenant, orgs: dict[str, Org], skus: dict) -> None:
    opening = {OrgKind.brand: 500, OrgKind.distributor: 120, OrgKind.store: 24}
    for org in orgs.values():
        for sku in skus.values():
            stock.add_initial(session, tenant_id=tenant.id, org=org, sku_id=sku.id,
                              qty=opening[org.kind], note="demo opening stock")
    session.flush()
