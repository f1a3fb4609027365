"""Order services on PostgreSQL: placement, payment, shipping, receipt, cancel, timeouts, idempotency."""

from datetime import timedelta

import pytest
from sqlalchemy import select

from app.catalog.errors import InsufficientStock
from app.db import utcnow
from app.orders import fulfilment, timeouts
from app.orders.errors import AmountMismatch, IdempotencyKeyReused, IllegalTransition
from app.orders.models import OrderFlow, OrderHistory, OrderStatus
from app.orders.payment_hooks import mark_paid
from app.orders.queries import lines_of
from app.platform.models import OutboxEvent
from app.tenancy.permissions import PermissionDenied
from app.tenancy.scope import system_scope
from tests.factories import add_consumer, consumer_scope_of, make_tenant, scope_of
from tests.integration.test_orders_fixtures import (
    RETAIL_PRICE,
    SUPPLY_PRICE,
    level,
    movements_sum,
    pay,
    retail_order,
    stocked_catalog,
    supply_order,
)
from tests.support.scope import use_scope


def events_of(session, tenant_id, type_):
    use_scope(session, system_scope(tenant_id))
    return [event for event in session.scalars(select(OutboxEvent).where(
        OutboxEvent.tenant_id == tenant_id, OutboxEvent.type == type_).order_by(OutboxEvent.id))]


@pytest.fixture
def shop(session):
    net = make_tenant(session, settings={"orders": {"shipping_flat_minor": 800}})
    catalog = stocked_catalog(session, net)
    consumer = add_consumer(session, net, "jingan")
    return net, catalog, consumer


def test_a_retail_order_snapshots_prices_reserves_stock_and_records_order_placed(session, shop):
    net, catalog, consumer = shop
    placed = retail_order(session, consumer_scope_of(session, consumer), catalog, 2, 1)
    order = placed.order
    assert placed.created and order.status is OrderStatus.pending_payment
    assert order.flow is OrderFlow.retail and order.seller_org_id == net.org("jingan").id
    assert order.owner_path == net.org("jingan").path and order.buyer_consumer_id == consumer.id
    assert (order.goods_minor, order.shipping_minor) == (3 * RETAIL_PRICE, 800)
    assert order.total_minor == 3 * RETAIL_PRICE + 800
    assert [line.name for line in placed.lines] == ["Longjing 1", "Longjing 2"]
    assert level(session, net, "jingan", catalog.sku_ids[0]) == (100, 2)
    (event,) = events_of(session, net.tenant.id, "order.placed")
    assert event.payload["total_minor"] == order.total_minor and len(event.payload["lines"]) == 2


def test_paying_moves_the_order_to_paid_once_and_only_for_the_full_amount(session, shop):
    net, catalog, consumer = shop
    order = retail_order(session, consumer_scope_of(session, consumer), catalog, 1).order
    use_scope(session, system_scope(net.tenant.id))
    with pytest.raises(AmountMismatch):
        mark_paid(session, tenant_id=net.tenant.id, order_id=order.id, amount_minor=1,
                  payment_ref="pi_x", method="stripe")
    pay(session, order)
    assert order.status is OrderStatus.paid and order.paid_at is not None
    with pytest.raises(IllegalTransition):
        pay(session, order)
    (event,) = events_of(session, net.tenant.id, "order.paid")
    assert event.payload["amount_minor"] == order.total_minor


def test_partial_shipments_keep_the_order_paid_until_every_unit_has_left(session, shop):
    net, catalog, consumer = shop
    order = retail_order(session, consumer_scope_of(session, consumer), catalog, 3).order
    pay(session, order)
    store = scope_of(session, net, "jingan")
    (line,) = lines_of(session, order)
    fulfilment.ship(session, scope=store, order_id=order.id, carrier="SF", tracking_number="SF1",
                    lines=[{"line_id": line.id, "qty": 1}])
    assert order.status is OrderStatus.paid
    fulfilment.ship(session, scope=store, order_id=order.id, carrier="SF", tracking_number="SF2")
    assert order.status is OrderStatus.shipped
    assert level(session, net, "jingan", catalog.sku_ids[0]) == (97, 0)
    assert movements_sum(session, net, "jingan", catalog.sku_ids[0]) == (97, 0)
    fulfilment.complete(session, scope=consumer_scope_of(session, consumer), order_id=order.id)
    assert order.status is OrderStatus.completed
    assert len(events_of(session, net.tenant.id, "order.shipped")) == 1


def test_an_unpaid_order_cannot_ship_and_only_the_seller_ships(session, shop):
    net, catalog, consumer = shop
    order = retail_order(session, consumer_scope_of(session, consumer), catalog, 1).order
    with pytest.raises(IllegalTransition):
        fulfilment.ship(session, scope=scope_of(session, net, "jingan"), order_id=order.id, carrier="SF")
    pay(session, order)
    with pytest.raises(PermissionDenied):
        fulfilment.ship(session, scope=consumer_scope_of(session, consumer), order_id=order.id, carrier="SF")


def test_a_store_replenishes_from_its_distributor_and_receives_the_goods_on_receipt(session, shop):
    net, catalog, _ = shop
    placed = supply_order(session, scope_of(session, net, "jingan"), catalog, 10)
    order = placed.order
    assert order.flow is OrderFlow.replenish and order.seller_org_id == net.org("shanghai").id
    assert order.owner_path == net.org("jingan").path and order.total_minor == 10 * SUPPLY_PRICE
    assert level(session, net, "shanghai", catalog.sku_ids[0]) == (100, 10)
    pay(session, order)
    fulfilment.ship(session, scope=scope_of(session, net, "shanghai"), order_id=order.id, carrier="DHL")
    fulfilment.complete(session, scope=scope_of(session, net, "jingan"), order_id=order.id)
    assert level(session, net, "shanghai", catalog.sku_ids[0]) == (90, 0)
    assert level(session, net, "jingan", catalog.sku_ids[0]) == (110, 0)
    assert movements_sum(session, net, "jingan", catalog.sku_ids[0]) == (110, 0)


def test_a_distributor_purchases_from_its_parent(session, shop):
    net, catalog, _ = shop
    order = supply_order(session, scope_of(session, net, "east"), catalog, 5).order
    assert order.flow is OrderFlow.purchase and order.seller_org_id == net.org("brand").id


def test_cancelling_releases_the_reservation_and_a_paid_order_cannot_be_cancelled(session, shop):
    net, catalog, consumer = shop
    scope = consumer_scope_of(session, consumer)
    order = retail_order(session, scope, catalog, 4).order
    fulfilment.cancel(session, scope=consumer_scope_of(session, consumer), order_id=order.id)
    assert order.status is OrderStatus.cancelled
    assert level(session, net, "jingan", catalog.sku_ids[0]) == (100, 0)
    other = retail_order(session, consumer_scope_of(session, consumer), catalog, 1).order
    pay(session, other)
    with pytest.raises(IllegalTransition):
        fulfilment.cancel(session, scope=consumer_scope_of(session, consumer), order_id=other.id)


def test_overselling_is_refused(session, shop):
    net, catalog, consumer = shop
    with pytest.raises(InsufficientStock):
        retail_order(session, consumer_scope_of(session, consumer), catalog, 101)


def test_unpaid_orders_past_the_deadline_are_cancelled_in_one_statement(session, shop):
    net, catalog, consumer = shop
    order = retail_order(session, consumer_scope_of(session, consumer), catalog, 2).order
    use_scope(session, system_scope(net.tenant.id))
    assert timeouts.cancel_unpaid(session, tenant=net.tenant) == []
    later = utcnow() + timedelta(minutes=31)
    assert timeouts.cancel_unpaid(session, tenant=net.tenant, now=later) == [order.id]
    session.refresh(order)
    assert order.status is OrderStatus.cancelled and order.cancel_reason == "timeout"
    assert level(session, net, "jingan", catalog.sku_ids[0]) == (100, 0)
    history = session.scalars(select(OrderHistory).where(OrderHistory.order_id == order.id,
                                                         OrderHistory.action == "cancel")).one()
    assert history.actor_kind.value == "system" and history.note == "timeout"
    assert len(events_of(session, net.tenant.id, "order.cancelled")) == 1


def test_shipped_orders_complete_after_the_tenants_days(session, shop):
    net, catalog, _ = shop
    net.tenant.settings = {"orders": {"auto_complete_days": 3}}
    order = supply_order(session, scope_of(session, net, "hangzhou"), catalog, 2).order
    pay(session, order)
    fulfilment.ship(session, scope=scope_of(session, net, "east"), order_id=order.id, carrier="SF")
    use_scope(session, system_scope(net.tenant.id))
    assert timeouts.complete_shipped(session, tenant=net.tenant, now=utcnow() + timedelta(days=2)) == []
    done = timeouts.complete_shipped(session, tenant=net.tenant, now=utcnow() + timedelta(days=4))
    assert done == [order.id]
    assert level(session, net, "hangzhou", catalog.sku_ids[0]) == (102, 0)


def test_the_same_idempotency_key_and_body_answer_the_same_order(session, shop):
    net, catalog, consumer = shop
    first = retail_order(session, consumer_scope_of(session, consumer), catalog, 1, key="k-1")
    again = retail_order(session, consumer_scope_of(session, consumer), catalog, 1, key="k-1")
    assert again.order.id == first.order.id and not again.created
    assert level(session, net, "jingan", catalog.sku_ids[0]) == (100, 1)
    with pytest.raises(IdempotencyKeyReused):
        retail_order(session, consumer_scope_of(session, consumer), catalog, 2, key="k-1")


def test_every_transition_leaves_a_history_row(session, shop):
    net, catalog, consumer = shop
    order = retail_order(session, consumer_scope_of(session, consumer), catalog, 1).order
    pay(session, order)
    fulfilment.pick_up(session, scope=scope_of(session, net, "jingan"), order_id=order.id)
    use_scope(session, system_scope(net.tenant.id))
    rows = session.scalars(select(OrderHistory).where(OrderHistory.order_id == order.id)
                           .order_by(OrderHistory.created_at, OrderHistory.id)).all()
    assert [(r.from_status, r.to_status) for r in rows] == [
        (None, "pending_payment"), ("pending_payment", "paid"), ("paid", "shipped"), ("shipped", "completed")]


def test_the_timeout_tasks_are_scheduled_and_run_per_tenant(session, shop):
    from app.extensions import celery
    from app.orders import tasks

    net, catalog, consumer = shop
    net.tenant.settings = {"orders": {"auto_cancel_minutes": 0}}
    order = retail_order(session, consumer_scope_of(session, consumer), catalog, 1).order
    session.flush()
    schedule = {entry["task"] for entry in celery.conf.beat_schedule.values()}
    assert {"app.orders.tasks.cancel_unpaid_orders", "app.orders.tasks.complete_shipped_orders"} <= schedule
    assert tasks.cancel_unpaid_for_tenant.run(str(net.tenant.id)) == 1
    use_scope(session, system_scope(net.tenant.id))
    session.refresh(order)
    assert order.status is OrderStatus.cancelled
