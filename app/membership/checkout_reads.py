"""What a consumer holds at checkout, read in ONE statement: the level's benefits, the chosen coupon
with its template, and (placement on PostgreSQL) the member row and the usable points lots that
would pay the points, soonest expiry first.

It replaces up to three look-ups (`benefits.benefits_for`, the coupon with its template, the lots that
`points.spend_at_checkout` reads) with one row per lot: the consumer LEFT JOINed to its member, the
member's level (counted only under an active program), the chosen coupon of this consumer with its
template, and the lots up to the one that completes the points (a running sum), FIFO.
Nothing is locked or claimed here: `checkout_writes` re-checks every lot and the coupon when it
takes them (conditional UPDATEs).
"""

import uuid
from dataclasses import dataclass
from functools import cache

from sqlalchemy import Select, bindparam, func, or_, select
from sqlalchemy.orm import Session

from app.db import utcnow
from app.membership.benefits import NEUTRAL, Benefits
from app.membership.coupon_models import Coupon, CouponTemplate
from app.membership.models import LotStatus, Member, MemberLevel, MembershipProgram, PointsLot
from app.tenancy.models import Consumer

Take = tuple[uuid.UUID, int]


@dataclass(frozen=True)
class Holdings:
    benefits: Benefits = NEUTRAL
    coupon: Coupon | None = None
    template: CouponTemplate | None = None
    member_id: uuid.UUID | None = None
    member_path: str | None = None
    lots: tuple[Take, ...] = ()  # (lot id, remaining) FIFO, as read; empty unless lots were asked for


NOTHING = Holdings()


def read(session: Session, tenant_id: uuid.UUID, consumer_id: uuid.UUID, *, levels: bool,
         coupon_id: uuid.UUID | None, lots_for: int = 0) -> Holdings:
    """The consumer's level benefits (when `levels`), the coupon `coupon_id` if it is theirs, and the
    lots that pay `lots_for` points (when > 0): one statement."""
    with_coupon, with_lots = coupon_id is not None, lots_for > 0
    rows = session.execute(_statement(levels, with_coupon, with_lots), {
        "tenant_id": tenant_id, "consumer_id": consumer_id, "coupon_id": coupon_id, "points": lots_for,
        "now": utcnow()}).all()
    if not rows:
        return NOTHING
    first = rows[0]._mapping
    level = first[MemberLevel] if levels else None
    benefits = Benefits.of(level) if level is not None and first["program_id"] is not None else NEUTRAL
    return Holdings(
        benefits=benefits, coupon=first[Coupon] if with_coupon else None,
        template=first[CouponTemplate] if with_coupon else None,
        member_id=first[Member.id], member_path=first[Member.owner_path],
        lots=tuple((row.lot_id, row.remaining) for row in rows if with_lots and row.lot_id is not None))


@cache
def _statement(levels: bool, coupon: bool, lots: bool) -> Select:
    """The read for these parts, built once (building it cost more CPU than running it)."""
    member_on = (Member.tenant_id == Consumer.tenant_id) & (Member.consumer_id == Consumer.id)
    query = (select(Consumer.id, Member.id, Member.owner_path).select_from(Consumer)
             .outerjoin(Member, member_on)
             .where(Consumer.tenant_id == bindparam("tenant_id"), Consumer.id == bindparam("consumer_id")))
    if levels:
        query = (query.outerjoin(MemberLevel, (MemberLevel.tenant_id == Member.tenant_id)
                                 & (MemberLevel.id == Member.level_id))
                 .outerjoin(MembershipProgram, (MembershipProgram.tenant_id == MemberLevel.tenant_id)
                            & (MembershipProgram.id == MemberLevel.program_id)
                            & MembershipProgram.active.is_(True))
                 .add_columns(MemberLevel, MembershipProgram.id.label("program_id")))
    if coupon:
        mine = (Coupon.tenant_id == Consumer.tenant_id) & (Coupon.consumer_id == Consumer.id)
        query = (query.outerjoin(Coupon, mine & (Coupon.id == bindparam("coupon_id")))
                 .outerjoin(CouponTemplate, (CouponTemplate.tenant_id == Coupon.tenant_id)
                            & (CouponTemplate.id == Coupon.template_id))
                 .add_columns(Coupon, CouponTemplate))
    if lots:
        paying = _lots_paying()
        query = (query.outerjoin(paying, paying.c.member_id == Member.id)
                 .add_columns(paying.c.id.label("lot_id"), paying.c.remaining).order_by(paying.c.rank))
    return query


def _lots_paying():
    """The member's usable lots, soonest expiry first, up to the one that completes :points."""
    fifo = (PointsLot.expires_at.is_(None), PointsLot.expires_at, PointsLot.id)
    member_id = select(Member.id).where(  # ix_points_lots_member
        Member.tenant_id == bindparam("tenant_id"),
        Member.consumer_id == bindparam("consumer_id")).scalar_subquery()
    before = func.sum(PointsLot.remaining).over(order_by=fifo) - PointsLot.remaining  # in earlier lots
    ranked = (select(PointsLot.id, PointsLot.member_id, PointsLot.remaining, before.label("before"),
                     func.row_number().over(order_by=fifo).label("rank"))
              .where(PointsLot.tenant_id == bindparam("tenant_id"), PointsLot.member_id == member_id,
                     PointsLot.remaining > 0, PointsLot.status == LotStatus.available,
                     or_(PointsLot.expires_at.is_(None), PointsLot.expires_at > bindparam("now")))
              .subquery("ranked"))
    return select(ranked).where(ranked.c.before < bindparam("points")).subquery("lots")
