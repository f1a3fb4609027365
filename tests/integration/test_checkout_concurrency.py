"""50 parallel checkouts against 10 units: exactly 10 orders, and stock equals its movements.

Real commits on separate connections as the app role (RLS on), so this test builds its own
tenant with the admin connection and removes every row of it afterwards.
"""

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import create_engine, func, select
from sqlalchemy.orm import Session, sessionmaker

import app.models  # noqa: F401  (every table, for the clean-up)
from app.catalog import stock
from app.catalog.errors import InsufficientStock
from app.catalog.models import (
    PriceChannel,
    PriceEntry,
    Product,
    Sku,
    StockLevel,
    StockMovement,
    StoreAssortment,
)
from app.db import utcnow, uuid7
from app.orders.models import Order
from app.orders.placement import OrderRequest, place_retail
from app.tenancy.enums import OrgKind
from app.tenancy.models import Consumer, Org, Tenant
from app.tenancy.resolve import consumer_scope
from app.tenancy.scope import PLATFORM_SCOPE, system_scope
from tests import database
from tests.support.committed import delete_tenant
from tests.support.scope import use_scope

pytestmark = pytest.mark.many_connections  # threads on their own connections: one at a time under xdist

BUYERS, UNITS = 50, 10


def build_shop(admin: Session) -> dict:
    """A tenant with one store holding UNITS of one SKU and BUYERS consumers, committed."""
    tenant = Tenant(id=uuid7(), slug=f"race-{uuid7().hex[-10:]}", name="Race", currency="CNY", settings={})
    brand_id, store_id = uuid7(), uuid7()
    brand = Org(tenant_id=tenant.id, id=brand_id, kind=OrgKind.brand, name="Brand", path=f"/{brand_id}/",
                depth=0)
    store = Org(tenant_id=tenant.id, id=store_id, kind=OrgKind.store, name="Store", parent_id=brand_id,
                path=f"/{brand_id}/{store_id}/", depth=1)
    product = Product(tenant_id=tenant.id, id=uuid7(), owner_path=brand.path, name="Tea")
    sku = Sku(tenant_id=tenant.id, id=uuid7(), owner_path=brand.path, product_id=product.id,
              code="RACE-1", name="Tea 1")
    admin.add(tenant)
    admin.flush()
    admin.add_all([brand])
    admin.flush()
    admin.add_all([store, product])
    admin.flush()
    admin.add(sku)
    admin.flush()
    admin.add_all([
        PriceEntry(tenant_id=tenant.id, id=uuid7(), owner_path=brand.path, seller_org_id=brand.id,
                   sku_id=sku.id, channel=PriceChannel.retail, amount_minor=9900, effective_from=utcnow()),
        StoreAssortment(tenant_id=tenant.id, id=uuid7(), owner_path=store.path, store_id=store.id,
                        sku_id=sku.id)])
    consumers = [Consumer(tenant_id=tenant.id, id=uuid7(), home_store_id=store.id, owner_path=store.path)
                 for _ in range(BUYERS)]
    admin.add_all(consumers)
    admin.flush()
    stock.add_initial(admin, tenant_id=tenant.id, org=store, sku_id=sku.id, qty=UNITS)
    admin.commit()
    return {"tenant_id": tenant.id, "store_id": store.id, "sku_id": sku.id,
            "consumer_ids": [c.id for c in consumers]}





@pytest.fixture
def shop(app):
    admin_url, _, app_url = database.test_urls()
    admin_engine = create_engine(admin_url)
    with Session(admin_engine) as admin:
        use_scope(admin, PLATFORM_SCOPE)
        built = build_shop(admin)
    admin_engine.dispose()
    yield built, app_url
    delete_tenant(built["tenant_id"])


def test_fifty_parallel_checkouts_for_ten_units_make_exactly_ten_orders(app, shop):
    built, app_url = shop
    engine = create_engine(app_url, pool_size=BUYERS, max_overflow=0)
    factory = sessionmaker(bind=engine, expire_on_commit=False)
    start = threading.Barrier(BUYERS)

    def checkout(consumer_id) -> str:
        scope = consumer_scope(built["tenant_id"], consumer_id)
        with factory() as session:
            session.info["relay_enqueued_for"] = {built["tenant_id"]}  # the relay is not under test
            use_scope(session, scope)
            start.wait()
            try:
                place_retail(session, scope, request=OrderRequest(
                    lines=[{"sku_id": built["sku_id"], "qty": 1}], delivery="pickup"))
                session.commit()
                return "placed"
            except InsufficientStock:
                session.rollback()
                return "sold_out"

    with ThreadPoolExecutor(max_workers=BUYERS) as pool:
        outcomes = list(pool.map(checkout, built["consumer_ids"]))
    engine.dispose()

    assert outcomes.count("placed") == UNITS
    assert outcomes.count("sold_out") == BUYERS - UNITS
    admin_engine = create_engine(database.test_urls()[0])
    with Session(admin_engine) as admin:
        use_scope(admin, system_scope(built["tenant_id"]))
        tenant_id = built["tenant_id"]
        orders = admin.scalar(select(func.count()).select_from(Order).where(Order.tenant_id == tenant_id))
        level = admin.execute(select(StockLevel.on_hand, StockLevel.reserved).where(
            StockLevel.tenant_id == tenant_id)).one()
        moved = admin.execute(select(func.sum(StockMovement.qty), func.sum(StockMovement.reserved_delta))
                              .where(StockMovement.tenant_id == tenant_id)).one()
    admin_engine.dispose()
    assert orders == UNITS
    assert (level.on_hand, level.reserved) == (UNITS, UNITS)
    assert (moved[0], moved[1]) == (level.on_hand, level.reserved)
