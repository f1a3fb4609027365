"""Members: one per consumer per tenant, created once (race-safe), owned by the home store's path."""

import uuid

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.db import insert_or_ignore, utcnow, uuid7
from app.membership.errors import NotAMember
from app.membership.models import Member
from app.membership.programs import level_for_growth, levels_of
from app.tenancy.models import Consumer


def member_of(session: Session, tenant_id: uuid.UUID, consumer_id: uuid.UUID) -> Member | None:
    return session.scalars(select(Member).where(Member.tenant_id == tenant_id,
                                                Member.consumer_id == consumer_id)).one_or_none()


def require_member(session: Session, tenant_id: uuid.UUID, consumer_id: uuid.UUID) -> Member:
    member = member_of(session, tenant_id, consumer_id)
    if member is None:
        raise NotAMember("The consumer is not a member of the program.")
    return member


def ensure_member(session: Session, tenant_id: uuid.UUID, consumer_id: uuid.UUID) -> Member:
    """The consumer's member row, created at the entry level if missing (two callers: one row)."""
    member = member_of(session, tenant_id, consumer_id)
    if member is not None:
        return member
    consumer = session.get(Consumer, (tenant_id, consumer_id))
    if consumer is None:
        raise NotAMember("No consumer with that id.")
    entry = level_for_growth(levels_of(session, tenant_id), 0)
    session.execute(insert_or_ignore(session, Member, conflict_on=["tenant_id", "consumer_id"]).values(
        tenant_id=tenant_id, id=uuid7(), owner_path=consumer.owner_path, created_at=utcnow(),
        consumer_id=consumer_id, level_id=entry.id if entry else None, growth=0,
        level_since=utcnow(), points_available=0, points_pending=0, points_debt=0))
    return require_member(session, tenant_id, consumer_id)
