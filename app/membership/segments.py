"""Segments of members for targeted coupon issuance, on member-a's members and levels."""

import uuid

from sqlalchemy import Select, select

from app.membership.models import Member, MemberLevel


def members_at_levels(tenant_id: uuid.UUID, codes: list[str]) -> Select:
    """SELECT consumer_id of the tenant's members whose level code is one of `codes`."""
    return (select(Member.consumer_id)
            .join(MemberLevel, (MemberLevel.tenant_id == Member.tenant_id)
                  & (MemberLevel.id == Member.level_id))
            .where(Member.tenant_id == tenant_id, MemberLevel.code.in_(codes)))
