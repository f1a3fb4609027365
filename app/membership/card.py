"""What a member sees (the mini-program card, history pages) and what a store sees of its members."""

import uuid
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.db import utcnow
from app.membership.benefits import NEUTRAL, Benefits
from app.membership.errors import NoProgram
from app.membership.members import ensure_member, require_member
from app.membership.models import GrowthEntry, LotStatus, Member, PointsLot, PointsMove
from app.membership.programs import levels_of, program_for
from app.paging import CursorKey, Page, paginate
from app.tenancy.enums import Fidelity
from app.tenancy.filters import get_visible, scoped, visible
from app.tenancy.models import Consumer
from app.tenancy.permissions import Action, require
from app.tenancy.scope import Scope

EXPIRING_SOON_DAYS = 30


def coupons_on_card(session: Session, scope: Scope, member: Member) -> list[dict]:
    """The member's coupons (usable now, by expiry): member-b's coupons module fills this slot."""
    from app.membership.coupons import card_entries  # noqa: PLC0415  (member-b's coupons)

    return card_entries(session, scope.tenant_id, member.consumer_id)


def join(session: Session, scope: Scope) -> dict:
    """The consumer takes the card (idempotent: a member already has one)."""
    require(scope, Action.join_membership)
    if program_for(session, scope.tenant_id) is None:
        raise NoProgram("This brand has no membership program.")
    ensure_member(session, scope.tenant_id, scope.consumer_id)
    return my_card(session, scope)


def my_card(session: Session, scope: Scope) -> dict:
    """Level, growth and what the next level needs, points (with what expires soon), benefits."""
    member = require_member(session, scope.tenant_id, scope.consumer_id)
    return card_of(session, scope, member)


def card_of(session: Session, scope: Scope, member: Member) -> dict:
    levels = levels_of(session, member.tenant_id)
    current = next((level for level in levels if level.id == member.level_id), None)
    higher = [level for level in levels if current is None or level.rank > current.rank]
    upcoming = higher[0] if higher else None
    now = utcnow()
    expiring = session.execute(
        select(PointsLot.expires_at, PointsLot.remaining).where(
            PointsLot.tenant_id == member.tenant_id, PointsLot.member_id == member.id,
            PointsLot.status == LotStatus.available, PointsLot.remaining > 0,
            PointsLot.expires_at > now, PointsLot.expires_at <= now + timedelta(days=EXPIRING_SOON_DAYS))
        .order_by(PointsLot.expires_at)).all()
    return {
        "member_id": member.id, "since": member.created_at, "level_since": member.level_since,
        "grace_until": member.grace_until,
        "level": _level_out(current),
        "growth": member.growth,
        "next_level": None if upcoming is None else {
            **_level_out(upcoming), "growth_threshold": upcoming.growth_threshold,
            "growth_missing": max(0, upcoming.growth_threshold - member.growth)},
        "points": {"available": member.points_available, "pending": member.points_pending,
                   "debt": member.points_debt,
                   "expiring_soon": [{"expires_at": at, "points": points} for at, points in expiring]},
        "benefits": _benefits_out(Benefits.of(current) if current else NEUTRAL),
        "coupons": coupons_on_card(session, scope, member),
    }


def _level_out(level) -> dict | None:
    return None if level is None else {"code": level.code, "name": level.name, "rank": level.rank}


def _benefits_out(benefits: Benefits) -> dict:
    return {"discount_bp": benefits.discount_bp, "points_multiplier_pct": benefits.points_multiplier_pct,
            "free_shipping_min_minor": benefits.free_shipping_min_minor,
            "exclusive_coupon_template_ids": list(benefits.exclusive_coupon_template_ids)}


# --- history pages (the member's own, or a store's member) ------------------------------------

def growth_history(session: Session, scope: Scope, member: Member, *, limit: int,
                   cursor: CursorKey | None) -> Page:
    statement = scoped(GrowthEntry, scope).where(GrowthEntry.member_id == member.id)
    return paginate(session, statement, GrowthEntry, limit=limit, cursor=cursor)


def points_history(session: Session, scope: Scope, member: Member, *, limit: int,
                   cursor: CursorKey | None) -> Page:
    statement = scoped(PointsMove, scope).where(PointsMove.member_id == member.id)
    return paginate(session, statement, PointsMove, limit=limit, cursor=cursor)


def points_lots(session: Session, scope: Scope, member: Member, *, status: LotStatus | None,
                limit: int, cursor: CursorKey | None) -> Page:
    """The member's lots: where points came from, when they expire, what expired."""
    statement = scoped(PointsLot, scope).where(PointsLot.member_id == member.id)
    if status is not None:
        statement = statement.where(PointsLot.status == status)
    return paginate(session, statement, PointsLot, limit=limit, cursor=cursor)


# --- a store's members (raw; `MemberOut` masks at the caller's consumers fidelity) ----------

def member_row(member: Member, consumer: Consumer | None) -> dict:
    return {"id": member.id, "consumer_id": member.consumer_id, "level_id": member.level_id,
           "growth": member.growth, "points_available": member.points_available,
           "points_pending": member.points_pending, "points_debt": member.points_debt,
           "home_store_id": consumer.home_store_id if consumer else None,
           "name": consumer.name if consumer else None, "phone": consumer.phone if consumer else None,
           "birthday": member.birthday.isoformat() if member.birthday else None,
           "level_since": member.level_since, "grace_until": member.grace_until,
           "created_at": member.created_at, "owner_path": member.owner_path}


def list_members(session: Session, scope: Scope, *, level_id: uuid.UUID | None, limit: int,
                 cursor: CursorKey | None) -> Page:
    """Members the scope sees (own subtree's stores, grants), newest first (raw: the schema masks)."""
    statement = (select(Member, Consumer).select_from(Member)
                 .outerjoin(Consumer, (Consumer.tenant_id == Member.tenant_id)
                            & (Consumer.id == Member.consumer_id))
                 .where(visible(Member, scope, at_least=Fidelity.masked)))
    if level_id is not None:
        statement = statement.where(Member.level_id == level_id)
    page = paginate(session, statement, Member, limit=limit, cursor=cursor)
    return page.map(lambda row: member_row(row[0], row[1]))


def get_member(session: Session, scope: Scope, member_id: uuid.UUID) -> Member:
    return get_visible(session, Member, scope, member_id)


def member_detail(session: Session, scope: Scope, member_id: uuid.UUID) -> dict:
    member = get_member(session, scope, member_id)
    consumer = session.get(Consumer, (member.tenant_id, member.consumer_id))
    return {**member_row(member, consumer), "card": card_of(session, scope, member)}
