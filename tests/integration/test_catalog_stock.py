"""Stock services on PostgreSQL: reserve, release, ship, receive, restock, stocktake, movements."""

from sqlalchemy import func, select

from app.catalog import products, stock
from app.catalog.models import StockLevel, StockMovement
from app.db import uuid7
from app.tenancy.rls import use_scope
from app.tenancy.scope import system_scope
from tests.factories import make_tenant, scope_of


def a_sku(session, net, code="CUP-01"):
    brand = scope_of(session, net, "brand")
    product = products.create_product(session, brand, name="Celadon cup")
    return products.create_sku(session, brand, product_id=product.id, code=code, name="Cup")


def level(session, net, org_key, sku):
    use_scope(session, system_scope(net.tenant.id))
    return session.scalars(select(StockLevel).where(
        StockLevel.tenant_id == net.tenant.id, StockLevel.org_id == net.org(org_key).id,
        StockLevel.sku_id == sku.id)).one()


def keys(net, org_key, sku):
    return {"tenant_id": net.tenant.id, "org": net.org(org_key), "sku_id": sku.id}


def assert_movements_rebuild_every_level(session, tenant_id):
    """on_hand and reserved equal the sums of the movements, for every stock row."""
    use_scope(session, system_scope(tenant_id))
    sums = select(StockMovement.org_id, StockMovement.sku_id,
                  func.sum(StockMovement.qty).label("on_hand"),
                  func.sum(StockMovement.reserved_delta).label("reserved")).where(
        StockMovement.tenant_id == tenant_id).group_by(StockMovement.org_id, StockMovement.sku_id)
    rebuilt = {(r.org_id, r.sku_id): (r.on_hand, r.reserved) for r in session.execute(sums)}
    levels = {(r.org_id, r.sku_id): (r.on_hand, r.reserved) for r in session.scalars(
        select(StockLevel).where(StockLevel.tenant_id == tenant_id))}
    assert levels == rebuilt


def test_a_reservation_ships_from_the_seller_and_arrives_at_the_buyer(session):
    net = make_tenant(session)
    sku = a_sku(session, net)
    use_scope(session, system_scope(net.tenant.id))
    order_id = uuid7()
    stock.add_initial(session, **keys(net, "east", sku), qty=10)
    stock.reserve(session, **keys(net, "east", sku), qty=4, order_id=order_id)
    stock.ship(session, **keys(net, "east", sku), qty=4, order_id=order_id)
    stock.receive(session, **keys(net, "hangzhou", sku), qty=4, order_id=order_id)
    east, store = level(session, net, "east", sku), level(session, net, "hangzhou", sku)
    assert (east.on_hand, east.reserved) == (6, 0)
    assert (store.on_hand, store.reserved) == (4, 0)
    assert_movements_rebuild_every_level(session, net.tenant.id)
