"""Scheduled membership batches: expiry, release of pending points, level re-evaluation; run twice."""

from datetime import date, timedelta

import pytest
from sqlalchemy import select, update

from app.db import utcnow
from app.finance.journal import trial_balance
from app.finance.models import JournalEntry
from app.membership.batches import expire_batch, months_before, reevaluate_batch, release_batch
from app.membership.gifts import grant_birthday_gifts
from app.membership.growth import add_growth
from app.membership.members import ensure_member
from app.membership.models import GrowthEntry, LotStatus, Member, MoveKind, PointsLot
from app.membership.points import credit
from tests.factories import add_consumer, make_tenant
from tests.support.membership import fresh_member, member_with_lots, setup_program, soon


@pytest.fixture
def world(session):
    net = make_tenant(session)
    program, levels = setup_program(session, net, grace_days=30, growth_window_months=12)
    consumers = [add_consumer(session, net, store) for store in ("jingan", "chengdu", "hangzhou")]
    return net, program, levels, consumers


def test_expiry_moves_only_due_lots_posts_breakage_and_a_second_run_changes_nothing(session, world):
    net, program, _, (alice, bob, _) = world
    a = member_with_lots(session, net, alice, (100, soon(-2)), (40, soon(-1)), (10, soon(3)))
    b = member_with_lots(session, net, bob, (7, soon(-1)))
    assert expire_batch(session, net.tenant.id) == 147
    assert expire_batch(session, net.tenant.id) == 0
    assert fresh_member(session, a).points_available == 10
    assert fresh_member(session, b).points_available == 0
    expired = session.scalars(select(PointsLot).where(PointsLot.tenant_id == net.tenant.id,
                                                      PointsLot.status == LotStatus.expired)).all()
    assert sorted(lot.expired_points for lot in expired) == [7, 40, 100]
    assert all(lot.remaining == 0 for lot in expired)
    breakage = session.scalars(select(JournalEntry).where(JournalEntry.tenant_id == net.tenant.id,
                                                          JournalEntry.kind == "points_expire")).all()
    assert len(breakage) == 1
    assert trial_balance(session, net.tenant.id) == 0


def test_expiry_works_in_batches_of_the_given_size(session, world):
    net, _, _, (alice, *_) = world
    member_with_lots(session, net, alice, *[(1, soon(-1)) for _ in range(5)])
    assert [expire_batch(session, net.tenant.id, limit=2) for _ in range(4)] == [2, 2, 1, 0]


def test_pending_points_become_available_after_the_return_window(session, world):
    net, _, _, (alice, *_) = world
    member = ensure_member(session, net.tenant.id, alice.id)
    for n, days in enumerate((-1, 2)):
        credit(session, member, points=50 + n, origin="earn", kind=MoveKind.earn, source_key=f"e{n}",
               status=LotStatus.pending, available_at=soon(days), expires_at=soon(300))
    assert (fresh_member(session, member).points_pending, fresh_member(session, member).points_available) == (
        101, 0)
    assert release_batch(session, net.tenant.id) == 50
    assert release_batch(session, net.tenant.id) == 0
    member = fresh_member(session, member)
    assert (member.points_pending, member.points_available) == (51, 50)
    assert release_batch(session, net.tenant.id, now=soon(3)) == 51


def grow(session, member, amount, *, days_ago=0, key=None):
    key = key or f"g:{member.id}:{amount}:{days_ago}"
    add_growth(session, member, amount, reason="action", source_key=key)
    if days_ago:
        session.execute(update(GrowthEntry).where(GrowthEntry.member_id == member.id,
                                                  GrowthEntry.amount == amount)
                        .values(created_at=utcnow() - timedelta(days=days_ago)))


def level_of(session, member, levels):
    level_id = fresh_member(session, member).level_id
    return next(code for code, level in levels.items() if level.id == level_id)


def test_growth_upgrades_at_once_and_never_downgrades_outside_re_evaluation(session, world):
    net, _, levels, (alice, *_) = world
    member = ensure_member(session, net.tenant.id, alice.id)
    assert level_of(session, member, levels) == "silver"
    grow(session, member, 1_200)
    assert level_of(session, member, levels) == "gold"
    grow(session, member, -1_000, key="refund")
    assert level_of(session, member, levels) == "gold"


def test_re_evaluation_keeps_by_retention_grants_grace_then_downgrades(session, world):
    net, _, levels, (alice, bob, carol) = world
    keeps, slips, rises = (ensure_member(session, net.tenant.id, c.id) for c in (alice, bob, carol))
    grow(session, keeps, 1_000)
    grow(session, keeps, -300, key="k-refund")  # 700 ≥ gold retention 600
    grow(session, slips, 1_500, days_ago=400)  # outside the 12-month window: 0 now
    session.execute(update(Member).where(Member.id == rises.id).values(growth=6_000))  # stale total
    grow(session, rises, 5_000)
    assert reevaluate_batch(session, net.tenant.id).members == 3
    assert [level_of(session, m, levels) for m in (keeps, slips, rises)] == ["gold", "gold", "platinum"]
    slipping = fresh_member(session, slips)
    assert slipping.growth == 0 and slipping.grace_until is not None
    assert fresh_member(session, keeps).grace_until is None
    again = reevaluate_batch(session, net.tenant.id)  # the same day: nothing changes
    assert again.members == 3 and fresh_member(session, slips).grace_until == slipping.grace_until
    after_grace = reevaluate_batch(session, net.tenant.id, now=slipping.grace_until + timedelta(seconds=1))
    assert after_grace.members == 3
    assert level_of(session, slips, levels) == "silver"
    assert fresh_member(session, slips).grace_until is None


def test_re_evaluation_pages_by_member_id(session, world):
    net, _, _, consumers = world
    for consumer in consumers:
        ensure_member(session, net.tenant.id, consumer.id)
    first = reevaluate_batch(session, net.tenant.id, limit=2)
    second = reevaluate_batch(session, net.tenant.id, limit=2, after=first.last_id)
    third = reevaluate_batch(session, net.tenant.id, limit=2, after=second.last_id)
    assert (first.members, second.members, third.members, third.last_id) == (2, 1, 0, None)


def test_months_before_clamps_to_the_end_of_a_shorter_month():
    moment = utcnow().replace(year=2026, month=3, day=31)
    assert months_before(moment, 1).date().isoformat() == "2026-02-28"
    assert months_before(moment, 15).date().isoformat() == "2024-12-31"


def test_birthday_gifts_follow_the_level_once_a_year_and_leap_day_birthdays_get_theirs_on_28_february(
        session, world):
    net, _, levels, (alice, bob, carol) = world
    gold, leap, silver = (ensure_member(session, net.tenant.id, c.id) for c in (alice, bob, carol))
    grow(session, gold, 1_000)
    grow(session, leap, 6_000)
    for member, born in ((gold, date(1990, 2, 28)), (leap, date(1992, 2, 29)), (silver, date(1991, 2, 28))):
        session.execute(update(Member).where(Member.id == member.id).values(birthday=born))
    assert grant_birthday_gifts(session, net.tenant.id, today=date(2027, 2, 28)) == 200 + 500
    assert grant_birthday_gifts(session, net.tenant.id, today=date(2027, 2, 28)) == 0
    assert fresh_member(session, gold).points_available == 200
    assert fresh_member(session, silver).points_available == 0  # silver has no gift
    assert grant_birthday_gifts(session, net.tenant.id, today=date(2028, 2, 28)) == 200  # leap year
    assert grant_birthday_gifts(session, net.tenant.id, today=date(2028, 2, 29)) == 500
    assert trial_balance(session, net.tenant.id) == 0
