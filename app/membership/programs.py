"""The tenant's membership program and its levels (brand-owned; every scope of the tenant reads them)."""

import uuid

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.membership import rules
from app.membership.models import MemberLevel, MembershipProgram


def program_for(session: Session, tenant_id: uuid.UUID) -> MembershipProgram | None:
    return session.scalars(select(MembershipProgram).where(
        MembershipProgram.tenant_id == tenant_id)).one_or_none()


def levels_of(session: Session, tenant_id: uuid.UUID) -> list[MemberLevel]:
    """The tenant's levels, lowest rank first."""
    return list(session.scalars(select(MemberLevel).where(MemberLevel.tenant_id == tenant_id)
                                .order_by(MemberLevel.rank)))


def level_for_growth(levels: list[MemberLevel], growth: int) -> MemberLevel | None:
    """The highest level whose growth threshold `growth` reaches (levels sorted by rank)."""
    reached = [level for level in levels if level.growth_threshold <= growth]
    return reached[-1] if reached else None


def points_value_minor(program: MembershipProgram, points: int) -> int:
    """What `points` are worth at checkout, in the program's currency's minor units (floor)."""
    return rules.value_minor(points, points_per_unit=program.points_per_unit, currency=program.currency)


def points_for_minor(program: MembershipProgram, minor: int) -> int:
    """The most points whose value is at most `minor` (floor): points_value_minor of it ≤ minor."""
    return rules.points_worth(minor, points_per_unit=program.points_per_unit, currency=program.currency)
