"""Placement's membership writes on PostgreSQL: one statement for the coupon, the lots, the balance,
the moves and the adjustments (app/membership/checkout_writes.py), and what happens when a lot or
the coupon it planned on changed between the read before the order and that statement."""

import pytest
from sqlalchemy import func, select, update

from app.membership import checkout_reads
from app.membership.checkout_errors import CouponUnavailable
from app.membership.checkout_models import OrderAdjustment
from app.membership.coupon_models import Coupon, CouponStatus
from app.membership.errors import InsufficientPoints
from app.membership.models import Member, PointsLot, PointsMove
from app.tenancy.scope import system_scope
from bench.statements import statements_sent
from tests.factories import add_consumer, consumer_scope_of, make_tenant
from tests.integration.test_orders_fixtures import retail_order, stocked_catalog
from tests.support.membership import member_with_lots, soon
from tests.support.offers import coupon_for, program_with_gold, template
from tests.support.scope import use_scope

pytestmark = pytest.mark.postgres


@pytest.fixture
def shop(session):
    """A member (no level) holding four lots of 10 points: three expiring in 1, 2, 3 days, one never."""
    net = make_tenant(session)
    catalog = stocked_catalog(session, net, skus=2, price=10_000)
    program_with_gold(session, net)
    consumer = add_consumer(session, net, "jingan")
    member_with_lots(session, net, consumer, (10, soon(2)), (10, None), (10, soon(1)), (10, soon(3)))
    return net, catalog, consumer, _lots(session, net)


def _lots(session, net) -> list[PointsLot]:
    """The tenant's lots, soonest expiry first (never last)."""
    use_scope(session, system_scope(net.tenant.id))
    return list(session.scalars(select(PointsLot).where(PointsLot.tenant_id == net.tenant.id)
                                .order_by(PointsLot.expires_at.is_(None), PointsLot.expires_at)
                                .execution_options(populate_existing=True)))


def _ledger(session, net, order):
    """(the member's available points, the order's spend moves as (lot, points) by seq, its takes)."""
    use_scope(session, system_scope(net.tenant.id))
    available = session.scalar(select(Member.points_available).where(Member.tenant_id == net.tenant.id))
    moves = session.execute(select(PointsMove.lot_id, PointsMove.points).where(
        PointsMove.tenant_id == net.tenant.id, PointsMove.order_id == order.id)
        .order_by(PointsMove.seq)).all()
    takes = session.scalar(select(OrderAdjustment.source).where(
        OrderAdjustment.tenant_id == net.tenant.id, OrderAdjustment.order_id == order.id,
        OrderAdjustment.step == "points"))["takes"]
    return available, [(lot, points) for lot, points in moves], [(str(lot), n) for lot, n in takes]


def _after_the_read(monkeypatch, change):
    """Run `change(session)` between placement's read and its writes (a parallel request's commit)."""
    real = checkout_reads.read

    def read_then_change(session, *args, **kwargs):
        holdings = real(session, *args, **kwargs)
        change(session)
        return holdings

    monkeypatch.setattr(checkout_reads, "read", read_then_change)


def _drain(session, lot: PointsLot) -> None:
    points = lot.remaining
    session.execute(update(PointsLot).where(PointsLot.tenant_id == lot.tenant_id, PointsLot.id == lot.id)
                    .values(remaining=0))
    session.execute(update(Member).where(Member.tenant_id == lot.tenant_id, Member.id == lot.member_id)
                    .values(points_available=Member.points_available - points))


def test_points_over_several_lots_are_taken_soonest_expiry_first_in_one_statement(session, shop):
    net, catalog, consumer, (first, second, third, never) = shop
    with statements_sent(session.get_bind().engine) as sent:
        order = retail_order(session, consumer_scope_of(session, consumer), catalog, 1, points=25).order
    writes = [s for s in sent if s.lstrip().startswith(("UPDATE", "WITH used"))]
    assert len(writes) == 1 and writes[0].lstrip().startswith("WITH used")  # lots, member, moves: one
    available, moves, takes = _ledger(session, net, order)
    assert moves == [(first.id, -10), (second.id, -10), (third.id, -5)]
    assert takes == [(str(first.id), 10), (str(second.id), 10), (str(third.id), 5)]
    assert available == 15 == sum(lot.remaining for lot in _lots(session, net))
    assert [lot.remaining for lot in _lots(session, net)] == [0, 0, 5, 10]


def test_a_lot_drained_after_the_read_is_made_up_from_the_next_lots(session, shop, monkeypatch):
    net, catalog, consumer, (first, second, third, never) = shop
    _after_the_read(monkeypatch, lambda s: _drain(s, second))  # planned: 10 + 10 + 5
    order = retail_order(session, consumer_scope_of(session, consumer), catalog, 1, points=25).order
    available, moves, takes = _ledger(session, net, order)
    assert sum(points for _, points in moves) == -25 == -sum(n for _, n in takes)
    assert second.id not in {lot for lot, _ in moves}
    assert [lot.remaining for lot in _lots(session, net)] == [0, 0, 0, 5]
    assert available == 5 == sum(lot.remaining for lot in _lots(session, net))


def test_a_lot_drained_after_the_read_leaving_too_few_points_refuses_the_checkout(session, shop,
                                                                                 monkeypatch):
    net, catalog, consumer, lots = shop
    _after_the_read(monkeypatch, lambda s: [_drain(s, lot) for lot in lots[1:]])
    with pytest.raises(InsufficientPoints):
        retail_order(session, consumer_scope_of(session, consumer), catalog, 1, points=25)


def test_a_coupon_gone_after_the_read_refuses_the_checkout_before_any_point_is_taken(session, shop,
                                                                                    monkeypatch):
    net, catalog, consumer, lots = shop
    coupon = coupon_for(session, net, consumer, template(session, net))
    _after_the_read(monkeypatch, lambda s: s.execute(
        update(Coupon).where(Coupon.tenant_id == net.tenant.id, Coupon.id == coupon.id)
        .values(status=CouponStatus.expired)))
    with pytest.raises(CouponUnavailable):
        retail_order(session, consumer_scope_of(session, consumer), catalog, 1, coupon_id=coupon.id,
                     points=25)
    use_scope(session, system_scope(net.tenant.id))  # the same transaction, before its rollback
    assert [lot.remaining for lot in _lots(session, net)] == [10, 10, 10, 10]
    assert session.scalar(select(Member.points_available).where(Member.tenant_id == net.tenant.id)) == 40
    assert session.scalar(select(func.count()).select_from(OrderAdjustment).where(
        OrderAdjustment.tenant_id == net.tenant.id)) == 0


def test_a_checkout_with_a_coupon_and_no_points_uses_it_in_the_same_one_statement(session, shop):
    net, catalog, consumer, _ = shop
    coupon = coupon_for(session, net, consumer, template(session, net, amount_off_minor=700))
    order = retail_order(session, consumer_scope_of(session, consumer), catalog, 1, coupon_id=coupon.id).order
    use_scope(session, system_scope(net.tenant.id))
    used = session.get(Coupon, (net.tenant.id, coupon.id), populate_existing=True)
    assert used.status is CouponStatus.used and used.order_id == order.id
    assert session.scalar(select(Member.points_available).where(Member.tenant_id == net.tenant.id)) == 40
    steps = session.scalars(select(OrderAdjustment.step).where(OrderAdjustment.tenant_id == net.tenant.id,
                                                               OrderAdjustment.order_id == order.id)).all()
    assert [step.value for step in steps] == ["coupon"] and order.discount_minor == 700
