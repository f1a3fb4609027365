"""A consumer's level benefits, as data for checkout (member-b's pricing waterfall reads them)."""

import uuid
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.membership.models import Member, MemberLevel, MembershipProgram


@dataclass(frozen=True)
class Benefits:
    level_code: str | None
    discount_bp: int
    points_multiplier_pct: int
    free_shipping_min_minor: int | None
    exclusive_coupon_template_ids: tuple

    @classmethod
    def of(cls, level: MemberLevel) -> "Benefits":
        return cls(level_code=level.code, discount_bp=level.discount_bp,
                   points_multiplier_pct=level.points_multiplier_pct,
                   free_shipping_min_minor=level.free_shipping_min_minor,
                   exclusive_coupon_template_ids=tuple(level.exclusive_coupon_template_ids or ()))


NEUTRAL = Benefits(level_code=None, discount_bp=0, points_multiplier_pct=100,
                   free_shipping_min_minor=None, exclusive_coupon_template_ids=())


def benefits_for(session: Session, tenant_id: uuid.UUID, consumer_id: uuid.UUID) -> Benefits:
    """The benefits of the consumer's level; no active program, not a member or no level: neutral."""
    level = session.scalars(
        select(MemberLevel).join(Member, (Member.tenant_id == MemberLevel.tenant_id)
                                 & (Member.level_id == MemberLevel.id))
        .join(MembershipProgram, (MembershipProgram.tenant_id == MemberLevel.tenant_id)
              & (MembershipProgram.id == MemberLevel.program_id))
        .where(Member.tenant_id == tenant_id, Member.consumer_id == consumer_id,
               MembershipProgram.active.is_(True))).one_or_none()
    return Benefits.of(level) if level is not None else NEUTRAL
