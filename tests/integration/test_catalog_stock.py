"""Stock services on PostgreSQL: reserve, release, ship, receive, restock, stocktake, movements."""

import random

import pytest
from sqlalchemy import func, select

from app.catalog import inventory, products, stock
from app.catalog.errors import InsufficientStock, StockConflict
from app.catalog.models import StockLevel, StockMovement, StockReason
from app.db import uuid7
from app.tenancy.enums import Role
from app.tenancy.scope import system_scope
from tests.factories import add_user, make_tenant, scope_of
from tests.support.scope import use_scope


def a_sku(session, net, code="CUP-01"):
    brand = scope_of(session, net, "brand")
    product = products.create_product(session, brand, name="Celadon cup")
    return products.create_sku(session, brand, product_id=product.id, code=code, name="Cup")


def level(session, net, org_key, sku):
    use_scope(session, system_scope(net.tenant.id))
    return session.scalars(select(StockLevel).where(
        StockLevel.tenant_id == net.tenant.id, StockLevel.org_id == net.org(org_key).id,
        StockLevel.sku_id == sku.id).execution_options(populate_existing=True)).one()


def keys(net, org_key, sku):
    return {"tenant_id": net.tenant.id, "org": net.org(org_key), "sku_id": sku.id}


def stocked(session, qty=10, org_key="east"):
    net = make_tenant(session)
    sku = a_sku(session, net)
    use_scope(session, system_scope(net.tenant.id))
    stock.add_initial(session, **keys(net, org_key, sku), qty=qty)
    return net, sku


def assert_movements_rebuild_every_level(session, tenant_id):
    """on_hand and reserved equal the sums of the movements, for every stock row."""
    use_scope(session, system_scope(tenant_id))
    sums = select(StockMovement.org_id, StockMovement.sku_id,
                  func.sum(StockMovement.qty).label("on_hand"),
                  func.sum(StockMovement.reserved_delta).label("reserved")).where(
        StockMovement.tenant_id == tenant_id).group_by(StockMovement.org_id, StockMovement.sku_id)
    rebuilt = {(r.org_id, r.sku_id): (r.on_hand, r.reserved) for r in session.execute(sums)}
    levels = {(r.org_id, r.sku_id): (r.on_hand, r.reserved) for r in session.execute(
        select(StockLevel.org_id, StockLevel.sku_id, StockLevel.on_hand, StockLevel.reserved)
        .where(StockLevel.tenant_id == tenant_id))}
    assert levels == rebuilt


def test_a_reservation_ships_from_the_seller_and_arrives_at_the_buyer(session):
    net, sku = stocked(session)
    order_id = uuid7()
    stock.reserve(session, **keys(net, "east", sku), qty=4, order_id=order_id)
    stock.ship(session, **keys(net, "east", sku), qty=4, order_id=order_id)
    stock.receive(session, **keys(net, "hangzhou", sku), qty=4, order_id=order_id)
    east, store = level(session, net, "east", sku), level(session, net, "hangzhou", sku)
    assert (east.on_hand, east.reserved) == (6, 0)
    assert (store.on_hand, store.reserved) == (4, 0)
    assert_movements_rebuild_every_level(session, net.tenant.id)


def test_reserving_more_than_is_available_is_refused_and_changes_nothing(session):
    net, sku = stocked(session, qty=3)
    stock.reserve(session, **keys(net, "east", sku), qty=2, order_id=uuid7())
    with pytest.raises(InsufficientStock):
        stock.reserve(session, **keys(net, "east", sku), qty=2, order_id=uuid7())
    row = level(session, net, "east", sku)
    assert (row.on_hand, row.reserved) == (3, 2)


def test_reserving_a_sku_the_org_never_held_is_insufficient_stock(session):
    net, sku = stocked(session)
    with pytest.raises(InsufficientStock):
        stock.reserve(session, **keys(net, "west", sku), qty=1, order_id=uuid7())


def test_a_cancelled_order_releases_its_reservation(session):
    net, sku = stocked(session)
    order_id = uuid7()
    stock.reserve(session, **keys(net, "east", sku), qty=5, order_id=order_id)
    stock.release(session, **keys(net, "east", sku), qty=5, order_id=order_id)
    row = level(session, net, "east", sku)
    assert (row.on_hand, row.reserved) == (10, 0)
    with pytest.raises(StockConflict):
        stock.release(session, **keys(net, "east", sku), qty=1, order_id=order_id)


def test_shipping_more_than_is_reserved_is_refused(session):
    net, sku = stocked(session)
    with pytest.raises(StockConflict):
        stock.ship(session, **keys(net, "east", sku), qty=1, order_id=uuid7())


def test_returned_goods_are_restocked_with_the_order_on_the_movement(session):
    net, sku = stocked(session)
    order_id = uuid7()
    stock.restock(session, **keys(net, "east", sku), qty=2, order_id=order_id)
    assert level(session, net, "east", sku).on_hand == 12
    move = session.scalars(select(StockMovement).where(
        StockMovement.tenant_id == net.tenant.id, StockMovement.reason == StockReason.restock)).one()
    assert (move.order_id, move.qty, move.on_hand_after) == (order_id, 2, 12)


def test_a_stocktake_below_what_is_reserved_is_refused(session):
    net, sku = stocked(session)
    stock.reserve(session, **keys(net, "east", sku), qty=6, order_id=uuid7())
    with pytest.raises(StockConflict):
        inventory.stocktake(session, scope_of(session, net, "east"), org_id=net.org("east").id,
                            sku_id=sku.id, counted=5)
    row = inventory.stocktake(session, scope_of(session, net, "east"),
                              org_id=net.org("east").id, sku_id=sku.id, counted=7)
    assert (row.on_hand, row.reserved) == (7, 6)


def test_a_guide_may_not_count_stock(session):
    net, sku = stocked(session, org_key="jingan")
    add_user(session, net, "jingan", Role.guide)
    with pytest.raises(Exception, match="stock.adjust"):
        inventory.stocktake(session, scope_of(session, net, "jingan", Role.guide),
                            org_id=net.org("jingan").id, sku_id=sku.id, counted=1)


def test_under_a_siblings_scope_rls_hides_the_row_so_reserve_refuses(session):
    """Why order services must call stock under the tenant's system scope."""
    net, sku = stocked(session)
    scope_of(session, net, "west")
    with pytest.raises(InsufficientStock):
        stock.reserve(session, **keys(net, "east", sku), qty=1, order_id=uuid7())


def test_after_many_mixed_operations_every_level_equals_its_movements(session):
    net = make_tenant(session)
    skus = [a_sku(session, net, code=f"MIX-{n}") for n in range(3)]
    use_scope(session, system_scope(net.tenant.id))
    rng = random.Random(7)
    orgs = ["brand", "east", "jingan"]
    for _ in range(150):
        args = keys(net, rng.choice(orgs), rng.choice(skus))
        verb = rng.choice(["reserve", "release", "ship", "receive", "restock", "initial"])
        qty = rng.randint(1, 5)
        try:
            if verb == "initial":
                stock.add_initial(session, **args, qty=qty)
            else:
                getattr(stock, verb)(session, **args, qty=qty, order_id=uuid7())
        except (InsufficientStock, StockConflict):
            pass
    assert_movements_rebuild_every_level(session, net.tenant.id)


# --- every line of an order in one statement (checkout) ---------------------------------------

def test_reserving_many_lines_holds_each_and_writes_one_movement_per_line(session):
    net, first = stocked(session, qty=10)
    second = a_sku(session, net, code="CUP-02")
    use_scope(session, system_scope(net.tenant.id))
    stock.add_initial(session, **keys(net, "east", second), qty=5)
    order_id = uuid7()
    stock.reserve_many(session, tenant_id=net.tenant.id, org=net.org("east"),
                       moves=sorted([(first.id, 4), (second.id, 5)]), order_id=order_id)
    assert [level(session, net, "east", sku).reserved for sku in (first, second)] == [4, 5]
    moves = session.scalars(select(StockMovement).where(StockMovement.order_id == order_id)).all()
    assert sorted((m.reserved_delta, m.reserved_after) for m in moves) == [(4, 4), (5, 5)]
    assert_movements_rebuild_every_level(session, net.tenant.id)


def test_one_short_line_refuses_the_whole_reservation(session):
    net, first = stocked(session, qty=10)
    second = a_sku(session, net, code="CUP-02")
    use_scope(session, system_scope(net.tenant.id))
    stock.add_initial(session, **keys(net, "east", second), qty=2)
    session.commit()
    # As in a request, the error rolls back whatever the statement wrote.
    with pytest.raises(InsufficientStock, match=str(second.id)), session.begin_nested():
        stock.reserve_many(session, tenant_id=net.tenant.id, org=net.org("east"),
                           moves=sorted([(first.id, 4), (second.id, 3)]), order_id=uuid7())
    assert [level(session, net, "east", sku).reserved for sku in (first, second)] == [0, 0]
    assert_movements_rebuild_every_level(session, net.tenant.id)
