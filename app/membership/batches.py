"""Scheduled membership work, set-based: a few statements per batch of rows, never a loop per row.

- expire: available lots past their expiry → expired (their remaining recorded as expired_points);
- release: pending lots past the return window → available;
- re-evaluate: each member's growth over the rolling window, and their level by it (retention, grace).

Each batch claims its lots with one UPDATE whose WHERE is re-checked on the locked row, so two
runs in parallel never take a lot twice (the later one waits and skips it) and a run repeated
finds nothing left: idempotent. The members' totals then change by one UPDATE ... FROM
the batch's per-member sums, members locked in id order first (parallel batches cannot deadlock);
on PostgreSQL both in one statement (`_claim_for_members`).
"""

import calendar
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Uuid, and_, case, func, literal, select, update
from sqlalchemy.orm import Session, aliased

from app.db import UtcDateTime, utcnow, uuid7
from app.finance.models import AccountCode
from app.membership.models import GrowthEntry, LotStatus, Member, MembershipProgram, PointsLot
from app.membership.postings import post_points
from app.membership.programs import levels_of, points_value_minor, program_for

BATCH = 5_000
A = AccountCode


def _is_postgres(session: Session) -> bool:
    return session.get_bind().dialect.name == "postgresql"


def _claim(session: Session, tenant_id: uuid.UUID, due, values: dict, limit: int) -> uuid.UUID:
    """Tag up to `limit` lots matching `due` with a fresh batch id, changing them by `values`."""
    batch_id = uuid7()
    lots = aliased(PointsLot)  # not correlated with the UPDATE's own table
    pick = select(lots.id).where(lots.tenant_id == tenant_id, *due(lots)).limit(limit)
    # Evaluated once (an IN (... LIMIT) subquery may be re-run per row). No FOR UPDATE: the
    # UPDATE re-checks `due` on each locked row, so a parallel run waits, then skips what this
    # one took; locking first would write every row twice.
    picked = pick.cte("picked").prefix_with("MATERIALIZED")
    session.execute(update(PointsLot).add_cte(picked)
                    .where(PointsLot.tenant_id == tenant_id, PointsLot.id.in_(select(picked.c.id)),
                           *due(PointsLot))
                    .values(batch_id=batch_id, **values).execution_options(synchronize_session=False))
    return batch_id


def _apply_to_members(session: Session, tenant_id: uuid.UUID, batch_id: uuid.UUID, sum_of,
                      deltas: dict) -> int:
    """members += per-member sums of the batch's lots; returns the batch's total (SQLite: one
    writer at a time, no row locks to order)."""
    per_member = (select(PointsLot.member_id.label("member_id"), func.sum(sum_of).label("points"))
                  .where(PointsLot.tenant_id == tenant_id, PointsLot.batch_id == batch_id)
                  .group_by(PointsLot.member_id).subquery())
    session.execute(update(Member).where(Member.tenant_id == tenant_id, Member.id == per_member.c.member_id)
                    .values(_moved(deltas, per_member.c.points))
                    .execution_options(synchronize_session=False))
    return int(session.scalar(select(func.coalesce(func.sum(per_member.c.points), 0))) or 0)


def _moved(deltas: dict, points) -> dict:
    return {getattr(Member, column): getattr(Member, column) + sign * points
            for column, sign in deltas.items()}


def _claim_for_members(session: Session, tenant_id: uuid.UUID, due, values: dict, points, deltas: dict,
                       limit: int) -> tuple[uuid.UUID, int]:
    """Claim up to `limit` lots matching `due` (tagged with a fresh batch id, changed by `values`) and
    move each member's totals by the sum of `points` over its claimed lots: (batch id, total).

    PostgreSQL: one statement. The lots' UPDATE returns what each claimed; the members are locked
    in id order (`locked`, materialised: a member row is updated only once this CTE has locked it,
    so parallel batches take member locks in the same order and cannot deadlock), then moved.
    It was five statements, three of them re-reading the batch's lots (bench/membership_batch.py).
    """
    if not _is_postgres(session):
        batch_id = _claim(session, tenant_id, due, values, limit)
        return batch_id, _apply_to_members(session, tenant_id, batch_id, points, deltas)
    batch_id = uuid7()
    lots = aliased(PointsLot)
    picked = (select(lots.id).where(lots.tenant_id == tenant_id, *due(lots)).limit(limit)
              .cte("picked").prefix_with("MATERIALIZED"))
    claimed = (update(PointsLot)
               .where(PointsLot.tenant_id == tenant_id, PointsLot.id.in_(select(picked.c.id)),
                      *due(PointsLot))
               .values(batch_id=batch_id, **values)
               .returning(PointsLot.member_id, points.label("points")).cte("claimed"))
    per_member = (select(claimed.c.member_id, func.sum(claimed.c.points).label("points"))
                  .group_by(claimed.c.member_id).cte("per_member"))
    locked = (select(Member.id)
              .where(Member.tenant_id == tenant_id, Member.id.in_(select(per_member.c.member_id)))
              .order_by(Member.id).with_for_update().cte("locked").prefix_with("MATERIALIZED"))
    moved = (update(Member).where(Member.tenant_id == tenant_id, Member.id == per_member.c.member_id,
                                  Member.id.in_(select(locked.c.id)))
             .values(_moved(deltas, per_member.c.points)).returning(Member.id).cte("moved"))
    total = session.scalar(select(func.coalesce(func.sum(per_member.c.points), 0))
                           .add_cte(picked, claimed, locked, moved))
    return batch_id, int(total or 0)


def expire_batch(session: Session, tenant_id: uuid.UUID, *, now: datetime | None = None,
                 limit: int = BATCH, program: MembershipProgram | None = None) -> int:
    """Expire up to `limit` due lots; post the released liability as breakage. Points expired."""
    now = now or utcnow()
    def due(lots):
        return lots.status == LotStatus.available, lots.expires_at <= now

    expire = {"status": LotStatus.expired, "expired_points": PointsLot.remaining, "remaining": 0}
    batch_id, expired = _claim_for_members(session, tenant_id, due, expire, PointsLot.expired_points,
                                           {"points_available": -1}, limit)
    program = program or program_for(session, tenant_id)
    if expired and program is not None:
        post_points(session, program, kind="points_expire", source_key=f"points.expire:{batch_id}",
                    debit=A.points_liability, credit=A.points_breakage,
                    value_minor=points_value_minor(program, expired),
                    details={"batch_id": str(batch_id), "points": expired})
    return expired


def release_batch(session: Session, tenant_id: uuid.UUID, *, now: datetime | None = None,
                  limit: int = BATCH) -> int:
    """Make up to `limit` pending lots past their return window available. Points released."""
    now = now or utcnow()
    def due(lots):
        return lots.status == LotStatus.pending, lots.available_at <= now

    release = {"points_pending": -1, "points_available": 1}
    _, released = _claim_for_members(session, tenant_id, due, {"status": LotStatus.available},
                                     PointsLot.remaining, release, limit)
    return released


# --- levels --------------------------------------------------------------------------------

def months_before(moment: datetime, months: int) -> datetime:
    month_index = moment.year * 12 + moment.month - 1 - months
    year, month = divmod(month_index, 12)
    day = min(moment.day, calendar.monthrange(year, month + 1)[1])
    return moment.replace(year=year, month=month + 1, day=day)


@dataclass(frozen=True)
class Evaluated:
    members: int
    last_id: uuid.UUID | None


def reevaluate_batch(session: Session, tenant_id: uuid.UUID, *, after: uuid.UUID | None = None,
                     now: datetime | None = None, limit: int = BATCH,
                     program: MembershipProgram | None = None) -> Evaluated:
    """One UPDATE for the next `limit` members by id: growth over the window, then the level.

    Reaching a higher level's threshold moves up; meeting the current level's retention keeps it;
    otherwise a grace period starts, and once it has passed the member moves to the level their
    growth reaches. The level table is small and inlined as CASE expressions.
    """
    now = now or utcnow()
    program = program or program_for(session, tenant_id)
    if program is None:
        return Evaluated(0, None)
    levels = levels_of(session, tenant_id)
    since = months_before(now, program.growth_window_months)
    members = aliased(Member)  # the batch's ids, not correlated with the UPDATE's own table
    batch = select(members.id).where(members.tenant_id == tenant_id)
    if after is not None:
        batch = batch.where(members.id > after)
    batch = batch.order_by(members.id).limit(limit)
    window = (select(Member.id.label("member_id"),
                     func.coalesce(func.sum(GrowthEntry.amount), 0).label("growth"))
              .select_from(Member)
              .outerjoin(GrowthEntry, and_(GrowthEntry.tenant_id == Member.tenant_id,
                                           GrowthEntry.member_id == Member.id,
                                           GrowthEntry.created_at >= since))
              .where(Member.tenant_id == tenant_id, Member.id.in_(batch))
              .group_by(Member.id).subquery())
    growth = window.c.growth
    reached_rank, reached_id = _reached(levels, growth)
    current_rank = _by_level(levels, "rank", -1)
    retention = _by_level(levels, "retention_threshold", 0)
    moves_up = reached_rank >= current_rank
    retained = growth >= retention
    grace_over = and_(Member.grace_until.is_not(None), Member.grace_until <= now)
    grace_ends = literal(now + timedelta(days=program.grace_days), UtcDateTime())
    stays = moves_up | retained
    result = session.execute(
        update(Member).where(Member.tenant_id == tenant_id, Member.id == window.c.member_id)
        .values(growth=growth, evaluated_at=now,
                level_id=case((moves_up, reached_id), (retained, Member.level_id),
                              (grace_over, reached_id), else_=Member.level_id),
                grace_until=case((stays, None), (Member.grace_until.is_(None), grace_ends),
                                 (grace_over, None), else_=Member.grace_until),
                level_since=case((reached_rank > current_rank, now),
                                 (and_(~stays, grace_over, reached_rank != current_rank), now),
                                 else_=Member.level_since))
        .returning(Member.id).execution_options(synchronize_session=False))
    ids = [row[0] for row in result]
    return Evaluated(len(ids), max(ids) if ids else None)


def _reached(levels, growth):
    """(rank, id) of the highest level `growth` reaches, as CASE expressions; (-1, NULL) if none."""
    ordered = sorted(levels, key=lambda level: level.rank, reverse=True)
    whens = [(growth >= level.growth_threshold, level) for level in ordered]
    rank = case(*[(cond, literal(level.rank)) for cond, level in whens], else_=literal(-1))
    level_id = case(*[(cond, literal(level.id, Uuid())) for cond, level in whens],
                    else_=None) if whens else None
    return rank, level_id


def _by_level(levels, attribute: str, default: int):
    """An attribute of the member's current level, as a CASE over the (few) level ids."""
    if not levels:
        return literal(default)
    return case({level.id: literal(getattr(level, attribute)) for level in levels},
                value=Member.level_id, else_=literal(default))
