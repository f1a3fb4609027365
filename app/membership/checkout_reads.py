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

from sqlalchemy import func, or_, select
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
    member_on = (Member.tenant_id == Consumer.tenant_id) & (Member.consumer_id == Consumer.id)
    query = (select(Consumer.id, Member.id, Member.owner_path).select_from(Consumer)
             .outerjoin(Member, member_on)
             .where(Consumer.tenant_id == tenant_id, Consumer.id == consumer_id))
    if levels:
        query = (query.outerjoin(MemberLevel, (MemberLevel.tenant_id == Member.tenant_id)
                                 & (MemberLevel.id == Member.level_id))
                 .outerjoin(MembershipProgram, (MembershipProgram.tenant_id == MemberLevel.tenant_id)
                            & (MembershipProgram.id == MemberLevel.program_id)
                            & MembershipProgram.active.is_(True))
                 .add_columns(MemberLevel, MembershipProgram.id.label("program_id")))
    if coupon_id is not None:
        query = (query.outerjoin(Coupon, (Coupon.tenant_id == Consumer.tenant_id) & (Coupon.id == coupon_id)
                                 & (Coupon.consumer_id == Consumer.id))
                 .outerjoin(CouponTemplate, (CouponTemplate.tenant_id == Coupon.tenant_id)
                            & (CouponTemplate.id == Coupon.template_id))
                 .add_columns(Coupon, CouponTemplate))
    if lots_for > 0:
        lots = _lots_paying(tenant_id, consumer_id, lots_for)
        query = (query.outerjoin(lots, lots.c.member_id == Member.id)
                 .add_columns(lots.c.id.label("lot_id"), lots.c.remaining).order_by(lots.c.rank))
    rows = session.execute(query).all()
    if not rows:
        return NOTHING
    first = rows[0]._mapping
    level = first.get(MemberLevel) if levels else None
    benefits = Benefits.of(level) if level is not None and first["program_id"] is not None else NEUTRAL
    return Holdings(
        benefits=benefits, coupon=first.get(Coupon), template=first.get(CouponTemplate),
        member_id=first[Member.id], member_path=first[Member.owner_path],
        lots=tuple((row.lot_id, row.remaining) for row in rows if row.lot_id is not None)
        if lots_for > 0 else ())


def _lots_paying(tenant_id: uuid.UUID, consumer_id: uuid.UUID, points: int):
    """The member's usable lots, soonest expiry first, up to the one that completes `points`."""
    fifo = (PointsLot.expires_at.is_(None), PointsLot.expires_at, PointsLot.id)
    now = utcnow()
    member_id = select(Member.id).where(Member.tenant_id == tenant_id,  # ix_points_lots_member
                                        Member.consumer_id == consumer_id).scalar_subquery()
    before = func.sum(PointsLot.remaining).over(order_by=fifo) - PointsLot.remaining  # in earlier lots
    ranked = (select(PointsLot.id, PointsLot.member_id, PointsLot.remaining, before.label("before"),
                     func.row_number().over(order_by=fifo).label("rank"))
              .where(PointsLot.tenant_id == tenant_id, PointsLot.member_id == member_id,
                     PointsLot.remaining > 0, PointsLot.status == LotStatus.available,
                     or_(PointsLot.expires_at.is_(None), PointsLot.expires_at > now))
              .subquery("ranked"))
    return select(ranked).where(ranked.c.before < points).subquery("lots")
