"""B2B returns conserve stock: what a buyer org returns leaves its stock as it arrives back at the seller."""

from sqlalchemy import func, select

from app.catalog.models import StockLevel, StockMovement, StockReason
from app.orders import aftersales, fulfilment
from app.orders.models import RefundKind
from app.orders.queries import lines_of
from app.tenancy.scope import system_scope
from tests.factories import make_tenant, scope_of
from tests.integration.test_orders_fixtures import level, movements_sum, pay, stocked_catalog, supply_order
from tests.support.scope import use_scope


def _network_total(session, net, sku_id) -> int:
    use_scope(session, system_scope(net.tenant.id))
    return int(session.scalar(select(func.sum(StockLevel.on_hand)).where(
        StockLevel.tenant_id == net.tenant.id, StockLevel.sku_id == sku_id)))


def _return(session, net, order, qty):
    line = lines_of(session, order)[0]
    refund = aftersales.request_refund(session, scope=scope_of(session, net, "jingan"), order_id=order.id,
                                       kind=RefundKind.return_and_refund,
                                       lines=[{"line_id": line.id, "qty": qty}])
    aftersales.approve_refund(session, scope=scope_of(session, net, "shanghai"), refund_id=refund.id)


def test_replenish_ship_receive_and_return_four_leaves_the_network_total_unchanged(session):
    net = make_tenant(session)
    catalog = stocked_catalog(session, net)
    sku = catalog.sku_ids[0]
    before = _network_total(session, net, sku)
    order = supply_order(session, scope_of(session, net, "jingan"), catalog, 10).order
    pay(session, order)
    fulfilment.ship(session, scope=scope_of(session, net, "shanghai"), order_id=order.id, carrier="DHL")
    fulfilment.complete(session, scope=scope_of(session, net, "jingan"), order_id=order.id)
    buyer_received = level(session, net, "jingan", sku)[0]
    seller_shipped = level(session, net, "shanghai", sku)[0]
    _return(session, net, order, 4)
    assert _network_total(session, net, sku) == before
    assert level(session, net, "jingan", sku)[0] == buyer_received - 4
    assert level(session, net, "shanghai", sku)[0] == seller_shipped + 4
    for org in ("jingan", "shanghai"):
        assert movements_sum(session, net, org, sku) == level(session, net, org, sku)
    use_scope(session, system_scope(net.tenant.id))
    reasons = set(session.scalars(select(StockMovement.reason).where(
        StockMovement.tenant_id == net.tenant.id, StockMovement.order_id == order.id)))
    assert {StockReason.return_out, StockReason.restock} <= reasons


def test_units_returned_before_the_buyer_received_them_are_not_received_either(session):
    net = make_tenant(session)
    catalog = stocked_catalog(session, net)
    sku = catalog.sku_ids[0]
    before = _network_total(session, net, sku)
    order = supply_order(session, scope_of(session, net, "jingan"), catalog, 10).order
    pay(session, order)
    fulfilment.ship(session, scope=scope_of(session, net, "shanghai"), order_id=order.id, carrier="DHL")
    buyer_before = level(session, net, "jingan", sku)[0]
    _return(session, net, order, 4)  # refused at the door: the goods come back in transit
    fulfilment.complete(session, scope=scope_of(session, net, "jingan"), order_id=order.id)
    assert level(session, net, "jingan", sku)[0] == buyer_before + 6
    assert _network_total(session, net, sku) == before
