"""Property: refunds in any order and any split reverse exactly what the order earned.

Points (including points already spent, which become a debt) and growth alike: after each
refund the order has reversed floor(earned × refunded goods / paid goods), and after a full
refund exactly everything; replayed handlers change nothing; the journal balances.
"""

from datetime import timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select, update

from app.db import utcnow
from app.finance.journal import trial_balance
from app.membership import handlers, points
from app.membership.batches import release_batch
from app.membership.models import GrowthEntry, Member, PointsLot
from app.orders.models import Order, OrderLine
from app.tenancy.scope import system_scope
from tests.factories import add_consumer, consumer_scope_of, make_tenant
from tests.integration.test_orders_fixtures import pay, retail_order, stocked_catalog
from tests.support.membership import event_for, fresh_member, refund_lines, setup_program
from tests.support.scope import use_scope


@pytest.fixture
def shop(session):
    net = make_tenant(session)
    setup_program(session, net, growth_per_unit=3)
    catalog = stocked_catalog(session, net, skus=3, on_hand=10_000, price=3_333)
    return net, catalog


steps = st.lists(st.tuples(st.integers(0, 2), st.integers(1, 10_000)), min_size=0, max_size=6)


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(qtys=st.tuples(st.integers(1, 4), st.integers(1, 3), st.integers(1, 2)),
       spend_share=st.integers(0, 100), steps=steps)
def test_refunds_in_any_order_and_split_reverse_exactly_the_points_and_growth(session, shop, qtys,
                                                                              spend_share, steps):
    net, catalog = shop
    consumer = add_consumer(session, net, "jingan")
    order = retail_order(session, consumer_scope_of(session, consumer), catalog, *qtys).order
    pay(session, order)
    handlers.points_on_paid(session, event_for(order))
    session.execute(update(Order).where(Order.id == order.id).values(completed_at=utcnow()))
    handlers.growth_on_order(session, event_for(order, "order.completed"))
    lot = session.scalars(select(PointsLot).where(PointsLot.order_id == order.id)).one()
    earned, growth_full = lot.points, order_growth(session, order)
    session.execute(update(PointsLot).where(PointsLot.id == lot.id)
                    .values(available_at=utcnow() - timedelta(seconds=1)))
    release_batch(session, net.tenant.id)
    spent = earned * spend_share // 100
    if spent:
        points.spend(session, tenant_id=net.tenant.id, consumer_id=consumer.id, points=spent, order_id=None,
                     source_key=f"mall:{order.id}")
    lines = line_totals(session, order)
    paid_goods, refunded = sum(lines), [0, 0, 0]
    for index, share in steps + [(i, 10_000) for i in range(3)]:  # then whatever is left, in full
        if index >= len(lines):
            continue
        amount = min(lines[index] - refunded[index], max(1, lines[index] * share // 10_000))
        if amount <= 0:
            continue
        refunded[index] += amount
        refund_lines(session, order, [amount if i == index else 0 for i in range(len(lines))])
        for _ in range(2):  # a replayed event changes nothing
            handlers.points_on_refund(session, event_for(order, "order.refunded"))
            handlers.growth_on_order(session, event_for(order, "order.refunded"))
        total_refunded = sum(refunded)
        assert reversed_points(session, lot) == earned * total_refunded // paid_goods
        assert growth_full - order_growth(session, order) == growth_full * total_refunded // paid_goods
    assert reversed_points(session, lot) == earned and order_growth(session, order) == 0
    member = fresh_member(session, session.get(Member, (lot.tenant_id, lot.member_id)))
    assert member.points_available - member.points_debt == -spent
    assert trial_balance(session, net.tenant.id) == 0


def line_totals(session, order) -> list[int]:
    use_scope(session, system_scope(order.tenant_id))
    return [line.total_minor for line in session.scalars(
        select(OrderLine).where(OrderLine.tenant_id == order.tenant_id, OrderLine.order_id == order.id)
        .order_by(OrderLine.line_no))]


def reversed_points(session, lot) -> int:
    return session.scalar(select(PointsLot.reversed_points).where(PointsLot.tenant_id == lot.tenant_id,
                                                                  PointsLot.id == lot.id))


def order_growth(session, order) -> int:
    return session.scalar(select(func.coalesce(func.sum(GrowthEntry.amount), 0)).where(
        GrowthEntry.tenant_id == order.tenant_id, GrowthEntry.order_id == order.id))
