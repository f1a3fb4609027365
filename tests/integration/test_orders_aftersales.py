"""After-sales on PostgreSQL: per-line partial refunds, the seller's decision, money ties out."""

import pytest
from sqlalchemy import select

from app.errors import NotFound
from app.orders import aftersales, fulfilment
from app.orders.errors import IllegalTransition, RefundTooLarge
from app.orders.models import RefundKind, RefundStatus
from app.orders.payment_hooks import approved_refund, mark_refund_executed
from app.orders.queries import lines_of, refund_lines_of
from app.platform.models import OutboxEvent
from app.tenancy.permissions import PermissionDenied
from app.tenancy.scope import system_scope
from tests.factories import add_consumer, consumer_scope_of, make_tenant, scope_of
from tests.integration.test_orders_fixtures import level, pay, retail_order, stocked_catalog
from tests.support.scope import use_scope


@pytest.fixture
def paid_order(session):
    net = make_tenant(session)
    catalog = stocked_catalog(session, net, price=999)
    consumer = add_consumer(session, net, "jingan")
    order = retail_order(session, consumer_scope_of(session, consumer), catalog, 3, 2).order
    pay(session, order)
    return net, catalog, consumer, order


def request(session, consumer, order, kind=RefundKind.refund_only, amount=None, qtys=(1,)):
    order_lines = lines_of(session, order)
    wanted = [{"line_id": line.id, "qty": qty} for line, qty in zip(order_lines, qtys, strict=False) if qty]
    return aftersales.request_refund(session, scope=consumer_scope_of(session, consumer), order_id=order.id,
                                     kind=kind, lines=wanted, amount_minor=amount, reason="damaged")


def test_a_partial_refund_is_split_over_lines_by_largest_remainder_to_the_cent(session, paid_order):
    net, catalog, consumer, order = paid_order
    refund = request(session, consumer, order, amount=1000, qtys=(1, 1))
    parts = refund_lines_of(session, refund)
    assert sum(part.amount_minor for part in parts) == 1000
    assert sorted(part.amount_minor for part in parts) == [500, 500]
    assert refund.status is RefundStatus.refund_requested


def test_by_default_the_refund_is_what_the_units_are_worth(session, paid_order):
    net, catalog, consumer, order = paid_order
    refund = request(session, consumer, order, qtys=(2,))
    assert refund.amount_minor == 2 * 999


def test_more_units_than_remain_are_refused(session, paid_order):
    net, catalog, consumer, order = paid_order
    request(session, consumer, order, qtys=(2,))
    with pytest.raises(RefundTooLarge):
        request(session, consumer, order, qtys=(2,))
    with pytest.raises(RefundTooLarge):
        request(session, consumer, order, amount=999 * 2, qtys=(0, 1))


def test_approval_releases_unshipped_units_and_execution_records_the_money(session, paid_order):
    net, catalog, consumer, order = paid_order
    refund = request(session, consumer, order, qtys=(1,))
    aftersales.approve_refund(session, scope=scope_of(session, net, "jingan"), refund_id=refund.id)
    assert level(session, net, "jingan", catalog.sku_ids[0]) == (100, 2)
    use_scope(session, system_scope(net.tenant.id))
    assert approved_refund(session, tenant_id=net.tenant.id, refund_id=refund.id).id == refund.id
    mark_refund_executed(session, tenant_id=net.tenant.id, refund_id=refund.id, gateway_ref="re_1")
    assert refund.status is RefundStatus.refunded and order.refunded_minor == 999
    (line, _) = lines_of(session, order)
    assert (line.refunded_qty, line.refunded_minor, line.released_qty) == (1, 999, 1)
    event = session.scalars(select(OutboxEvent).where(OutboxEvent.tenant_id == net.tenant.id,
                                                      OutboxEvent.type == "order.refunded")).one()
    assert event.payload["amount_minor"] == 999
    assert event.payload["lines"] == [{"line_id": str(line.id), "amount_minor": 999, "qty": 1}]
    with pytest.raises(IllegalTransition):
        mark_refund_executed(session, tenant_id=net.tenant.id, refund_id=refund.id, gateway_ref="re_1")


def test_once_all_open_units_are_refunded_or_shipped_the_order_counts_as_shipped(session, paid_order):
    net, catalog, consumer, order = paid_order
    first, second = lines_of(session, order)
    store = scope_of(session, net, "jingan")
    fulfilment.ship(session, scope=store, order_id=order.id, carrier="SF",
                    lines=[{"line_id": first.id, "qty": 3}])
    refund = request(session, consumer, order, qtys=(0, 2))
    aftersales.approve_refund(session, scope=scope_of(session, net, "jingan"), refund_id=refund.id)
    assert order.status.value == "shipped"


def test_a_return_restocks_the_seller_on_approval(session, paid_order):
    net, catalog, consumer, order = paid_order
    fulfilment.ship(session, scope=scope_of(session, net, "jingan"), order_id=order.id, carrier="SF")
    refund = request(session, consumer, order, kind=RefundKind.return_and_refund, qtys=(1,))
    aftersales.approve_refund(session, scope=scope_of(session, net, "jingan"), refund_id=refund.id)
    assert level(session, net, "jingan", catalog.sku_ids[0]) == (98, 0)


def test_only_the_seller_side_decides_and_a_rejected_refund_frees_its_units(session, paid_order):
    net, catalog, consumer, order = paid_order
    refund = request(session, consumer, order, qtys=(3,))
    with pytest.raises(PermissionDenied):
        aftersales.approve_refund(session, scope=consumer_scope_of(session, consumer), refund_id=refund.id)
    aftersales.reject_refund(session, scope=scope_of(session, net, "shanghai"), refund_id=refund.id,
                             note="used")
    assert refund.status is RefundStatus.refund_rejected
    again = request(session, consumer, order, qtys=(3,))
    assert again.amount_minor == 3 * 999
    with pytest.raises(IllegalTransition):
        aftersales.approve_refund(session, scope=scope_of(session, net, "jingan"), refund_id=refund.id)


def test_a_sibling_store_does_not_even_see_the_refund(session, paid_order):
    net, catalog, consumer, order = paid_order
    refund = request(session, consumer, order, qtys=(1,))
    with pytest.raises(NotFound):
        aftersales.approve_refund(session, scope=scope_of(session, net, "chengdu"), refund_id=refund.id)


def test_an_unpaid_order_has_no_after_sales(session):
    net = make_tenant(session)
    catalog = stocked_catalog(session, net)
    consumer = add_consumer(session, net, "jingan")
    order = retail_order(session, consumer_scope_of(session, consumer), catalog, 1).order
    with pytest.raises(IllegalTransition):
        request(session, consumer, order, qtys=(1,))
