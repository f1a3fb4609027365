"""The points ledger on the database: spend FIFO, give back, earn on payment, reverse on refund."""

import pytest
from sqlalchemy import func, select

from app.finance.journal import trial_balance
from app.finance.models import JournalEntry
from app.membership import handlers, points
from app.membership.batches import expire_batch, release_batch
from app.membership.benefits import NEUTRAL, benefits_for
from app.membership.errors import InsufficientPoints, InvalidPoints
from app.membership.growth import add_growth
from app.membership.models import LotStatus, Member, MoveKind, PointsLot, PointsMove
from app.orders.models import OrderStatus
from app.tenancy.scope import system_scope
from tests.factories import add_consumer, consumer_scope_of, make_tenant
from tests.integration.test_orders_fixtures import pay, retail_order, stocked_catalog
from tests.support.membership import (
    event_for,
    fresh_member,
    member_with_lots,
    refund_lines,
    setup_program,
    soon,
)
from tests.support.payments import make_order
from tests.support.scope import use_scope


@pytest.fixture
def world(session):
    net = make_tenant(session)
    program, levels = setup_program(session, net)
    consumer = add_consumer(session, net, "jingan")
    return net, program, levels, consumer


def lot_remaining(session, member) -> dict:
    return {lot.id: lot.remaining for lot in session.scalars(
        select(PointsLot).where(PointsLot.tenant_id == member.tenant_id, PointsLot.member_id == member.id)
        .execution_options(populate_existing=True))}


def balance_from_moves(session, member) -> int:
    moved = session.scalar(select(func.coalesce(func.sum(PointsMove.points), 0)).where(
        PointsMove.tenant_id == member.tenant_id, PointsMove.member_id == member.id))
    expired = session.scalar(select(func.coalesce(func.sum(PointsLot.expired_points), 0)).where(
        PointsLot.tenant_id == member.tenant_id, PointsLot.member_id == member.id))
    return moved - expired


def assert_totals_match_lots(session, member) -> None:
    member = fresh_member(session, member)
    lots = list(session.scalars(select(PointsLot).where(PointsLot.tenant_id == member.tenant_id,
                                                        PointsLot.member_id == member.id)
                                .execution_options(populate_existing=True)))
    by_status = {status: sum(lot.remaining for lot in lots if lot.status is status) for status in LotStatus}
    assert member.points_available == by_status[LotStatus.available]
    assert member.points_pending == by_status[LotStatus.pending]
    assert member.points_debt == by_status[LotStatus.debt]
    assert balance_from_moves(session, member) == (member.points_available + member.points_pending
                                                   - member.points_debt)


@pytest.mark.parametrize("spend", [points.spend, points.spend_at_checkout])
def test_spend_takes_the_soonest_expiring_lots_first(session, world, spend):
    net, _, _, consumer = world
    member = member_with_lots(session, net, consumer, (100, soon(300)), (50, soon(10)), (70, None))
    use_scope(session, consumer_scope_of(session, consumer))
    takes = spend(session, tenant_id=net.tenant.id, consumer_id=consumer.id, points=120,
                         order_id=None, source_key="checkout:a")
    assert [taken for _, taken in takes] == [50, 70]
    assert fresh_member(session, member).points_available == 100
    assert_totals_match_lots(session, member)


def test_a_checkout_spend_that_fits_the_first_lot_takes_only_from_it(session, world):
    net, _, _, consumer = world
    member = member_with_lots(session, net, consumer, (100, soon(300)), (50, soon(10)), (70, None))
    use_scope(session, consumer_scope_of(session, consumer))
    takes = points.spend_at_checkout(session, tenant_id=net.tenant.id, consumer_id=consumer.id,
                                     points=40, order_id=None, source_key="checkout:first")
    remaining = lot_remaining(session, member)
    assert [(remaining[lot], taken) for lot, taken in takes] == [(10, 40)]  # the 50 expiring soonest
    assert sorted(remaining.values()) == [10, 70, 100]
    assert fresh_member(session, member).points_available == 180
    assert_totals_match_lots(session, member)


def test_a_checkout_spend_short_of_points_is_refused(session, world):
    """Nothing to undo here: placement's whole transaction rolls back (see test_checkout_budget)."""
    net, _, _, consumer = world
    member_with_lots(session, net, consumer, (30, soon(5)), (30, soon(50)))
    with pytest.raises(InsufficientPoints):
        points.spend_at_checkout(session, tenant_id=net.tenant.id, consumer_id=consumer.id, points=61,
                                 order_id=None, source_key="checkout:short")


def test_a_replayed_spend_returns_the_first_takes_and_spends_nothing_more(session, world):
    net, _, _, consumer = world
    member = member_with_lots(session, net, consumer, (100, soon(30)))
    first = points.spend(session, tenant_id=net.tenant.id, consumer_id=consumer.id, points=40,
                         order_id=None, source_key="checkout:b")
    again = points.spend(session, tenant_id=net.tenant.id, consumer_id=consumer.id, points=40,
                         order_id=None, source_key="checkout:b")
    assert first == again
    assert fresh_member(session, member).points_available == 60


def test_spending_more_than_available_is_refused_and_takes_nothing(session, world):
    net, _, _, consumer = world
    member = member_with_lots(session, net, consumer, (30, soon(5)), (30, soon(50)))
    before = lot_remaining(session, member)
    with pytest.raises(InsufficientPoints):
        points.spend(session, tenant_id=net.tenant.id, consumer_id=consumer.id, points=61, order_id=None,
                     source_key="checkout:c")
    assert lot_remaining(session, member) == before
    assert fresh_member(session, member).points_available == 60


def test_expired_lots_are_not_spent(session, world):
    net, _, _, consumer = world
    member_with_lots(session, net, consumer, (30, soon(-1)), (10, soon(5)))
    with pytest.raises(InsufficientPoints):
        points.spend(session, tenant_id=net.tenant.id, consumer_id=consumer.id, points=20, order_id=None,
                     source_key="checkout:d")


@pytest.mark.parametrize("bad", [0, -5, 1.5, True, "10"])
def test_points_are_strict_positive_integers(session, world, bad):
    net, _, _, consumer = world
    with pytest.raises(InvalidPoints):
        points.spend(session, tenant_id=net.tenant.id, consumer_id=consumer.id, points=bad, order_id=None,
                     source_key="checkout:e")


@pytest.fixture
def paid_order(session, world):
    net, program, levels, consumer = world
    catalog = stocked_catalog(session, net, price=10_000)  # 100 yuan a unit
    order = retail_order(session, consumer_scope_of(session, consumer), catalog, 3, 2).order
    return net, program, consumer, order


def test_give_back_returns_the_latest_takes_first_to_their_lots_and_only_once(session, paid_order):
    net, _, consumer, order = paid_order
    member = member_with_lots(session, net, consumer, (100, soon(5)), (100, soon(50)))
    takes = points.spend(session, tenant_id=net.tenant.id, consumer_id=consumer.id, points=150,
                         order_id=order.id, source_key=f"checkout:{order.id}")
    (early, _), (late, _) = takes
    assert points.give_back(session, tenant_id=net.tenant.id, order_id=order.id, points=30,
                            source_key="cancel:1") == 30
    assert points.give_back(session, tenant_id=net.tenant.id, order_id=order.id, points=30,
                            source_key="cancel:1") == 30  # replay
    assert lot_remaining(session, member)[late] == 80
    assert points.give_back(session, tenant_id=net.tenant.id, order_id=order.id, points=500,
                            source_key="cancel:2") == 120
    assert lot_remaining(session, member) == {early: 100, late: 100}
    assert points.give_back(session, tenant_id=net.tenant.id, order_id=order.id, points=1,
                            source_key="cancel:3") == 0
    assert_totals_match_lots(session, member)


def test_points_returned_to_an_expired_lot_go_into_a_new_lot(session, paid_order):
    net, _, consumer, order = paid_order
    member = member_with_lots(session, net, consumer, (100, soon(5)))
    points.spend(session, tenant_id=net.tenant.id, consumer_id=consumer.id, points=60,
                 order_id=order.id, source_key=f"checkout:{order.id}")
    session.execute(PointsLot.__table__.update().where(PointsLot.member_id == member.id)
                    .values(expires_at=soon(-1)))
    points.give_back(session, tenant_id=net.tenant.id, order_id=order.id, points=60, source_key="cancel")
    fresh = session.scalars(select(PointsLot).where(PointsLot.member_id == member.id,
                                                    PointsLot.origin == "give_back")).one()
    assert fresh.remaining == 60 and fresh.expires_at > soon(0)


def test_payment_earns_pending_points_by_the_level_multiplier_and_a_replay_changes_nothing(
        session, paid_order):
    net, program, consumer, order = paid_order
    pay(session, order)
    handlers.points_on_paid(session, event_for(order))
    handlers.points_on_paid(session, event_for(order))
    lot = session.scalars(select(PointsLot).where(PointsLot.order_id == order.id)).one()
    assert (lot.status, lot.points) == (LotStatus.pending, 500)  # 500 yuan × 1 point × 100%
    member = fresh_member(session, lot_member(session, lot))
    assert member.points_pending == 500
    entries = session.scalars(select(JournalEntry).where(JournalEntry.tenant_id == net.tenant.id,
                                                         JournalEntry.kind == "points_earn")).all()
    assert len(entries) == 1
    assert trial_balance(session, net.tenant.id) == 0


def test_a_refund_reverses_its_share_and_what_was_spent_becomes_a_debt_repaid_by_later_earnings(
        session, paid_order):
    net, program, consumer, order = paid_order
    pay(session, order)
    handlers.points_on_paid(session, event_for(order))
    lot = session.scalars(select(PointsLot).where(PointsLot.order_id == order.id)).one()
    session.execute(PointsLot.__table__.update().where(PointsLot.id == lot.id)
                    .values(available_at=soon(-1)))
    assert release_batch(session, net.tenant.id) == 500
    points.spend(session, tenant_id=net.tenant.id, consumer_id=consumer.id, points=400, order_id=None,
                 source_key="mall:1")
    refund_lines(session, order, [30_000, 20_000])  # everything
    handlers.points_on_refund(session, event_for(order, "order.refunded"))
    handlers.points_on_refund(session, event_for(order, "order.refunded"))
    member = fresh_member(session, lot_member(session, lot))
    assert (member.points_available, member.points_debt) == (0, 400)
    assert_totals_match_lots(session, member)
    later = member_with_lots(session, net, consumer, (250, None))
    assert (later.points_available, later.points_debt) == (0, 150)
    assert_totals_match_lots(session, member)
    assert trial_balance(session, net.tenant.id) == 0


def lot_member(session, lot):
    return session.get(Member, (lot.tenant_id, lot.member_id))


def test_an_org_order_earns_nothing(session, world):
    net, program, _, _ = world
    order = make_order(session, net, buyer="jingan", seller="shanghai", status=OrderStatus.paid)
    use_scope(session, system_scope(net.tenant.id))
    handlers.points_on_paid(session, event_for(order))
    assert session.scalar(select(func.count()).select_from(PointsLot).where(
        PointsLot.tenant_id == net.tenant.id)) == 0
    assert session.scalar(select(func.count()).select_from(PointsMove).where(
        PointsMove.tenant_id == net.tenant.id, PointsMove.kind == MoveKind.earn)) == 0


def test_benefits_follow_the_level_and_are_neutral_without_a_member_or_an_active_program(session, world):
    net, program, levels, consumer = world
    assert benefits_for(session, net.tenant.id, consumer.id) == NEUTRAL
    member = member_with_lots(session, net, consumer)
    add_growth(session, member, 1_000, reason="action", source_key="b1")
    gold = benefits_for(session, net.tenant.id, consumer.id)
    assert (gold.level_code, gold.discount_bp, gold.points_multiplier_pct, gold.free_shipping_min_minor) == (
        "gold", 500, 150, 9_900)
    program.active = False
    session.flush()
    assert benefits_for(session, net.tenant.id, consumer.id) == NEUTRAL


def test_a_refund_after_the_earned_points_expired_writes_them_off_instead_of_charging(session, paid_order):
    net, program, consumer, order = paid_order
    pay(session, order)
    handlers.points_on_paid(session, event_for(order))
    lot = session.scalars(select(PointsLot).where(PointsLot.order_id == order.id)).one()
    session.execute(PointsLot.__table__.update().where(PointsLot.id == lot.id)
                    .values(available_at=soon(-2), expires_at=soon(-1)))
    release_batch(session, net.tenant.id)
    assert expire_batch(session, net.tenant.id) == 500
    refund_lines(session, order, [30_000])  # 60% of the goods
    handlers.points_on_refund(session, event_for(order, "order.refunded"))
    member = fresh_member(session, lot_member(session, lot))
    assert (member.points_available, member.points_debt) == (0, 0)
    written_off = session.scalar(select(PointsLot.written_off_points).where(PointsLot.id == lot.id))
    assert written_off == 300
    assert trial_balance(session, net.tenant.id) == 0
