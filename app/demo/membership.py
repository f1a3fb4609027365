"""Demo membership: a program with three levels and members in each, holding points (run before
seed_orders, so the demo's paid orders earn points and completed ones grow their member)."""

from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.db import utcnow
from app.finance.models import AccountCode
from app.membership import config
from app.membership.growth import add_growth
from app.membership.members import ensure_member
from app.membership.models import LotStatus, MoveKind
from app.membership.points import credit
from app.membership.postings import post_points
from app.membership.programs import points_value_minor, program_for
from app.tenancy.elevation import Why, enter_scope
from app.tenancy.models import Consumer, Tenant
from app.tenancy.scope import Scope, system_scope

PROGRAM = {"growth_window_months": 12, "grace_days": 30, "return_window_days": 7,
           "points_expiry": "end_of_year", "points_per_unit": 100, "max_points_share_bp": 3000,
           "earn_points_per_unit": 1, "growth_per_unit": 1}

LEVELS = {
    "silver": {"name": "银卡 Silver", "rank": 0, "growth_threshold": 0, "retention_threshold": 0},
    "gold": {"name": "金卡 Gold", "rank": 1, "growth_threshold": 2_000, "retention_threshold": 1_200,
             "discount_bp": 500, "points_multiplier_pct": 150, "free_shipping_min_minor": 9_900,
             "birthday_gift_points": 200},
    "platinum": {"name": "铂金 Platinum", "rank": 2, "growth_threshold": 8_000, "retention_threshold": 5_000,
                 "discount_bp": 1_000, "points_multiplier_pct": 200, "free_shipping_min_minor": 0,
                 "birthday_gift_points": 500},
}

# growth and (available points, days until they expire) per consumer, in seeding order
MEMBERS = [(300, 800, 20), (2_500, 1_500, 200), (9_000, 6_000, 60), (2_100, 300, 10), (50, 0, 0),
           (8_500, 2_400, 25)]


def seed_membership(session: Session, tenant: Tenant, brand_scope: Scope) -> None:
    """The program and levels as the brand configures them, then members as the system credits them."""
    config.configure_program(session, brand_scope, PROGRAM)
    for code, fields in LEVELS.items():
        config.put_level(session, brand_scope, code, fields)
    enter_scope(session, Why.seed_demo, scope=system_scope(tenant.id))
    program = program_for(session, tenant.id)
    consumers = session.scalars(select(Consumer).where(Consumer.tenant_id == tenant.id)
                                .order_by(Consumer.created_at, Consumer.id))
    now = utcnow()
    for consumer, (growth, points, days) in zip(consumers, MEMBERS, strict=False):
        member = ensure_member(session, tenant.id, consumer.id)
        add_growth(session, member, growth, reason="action", source_key=f"demo:growth:{member.id}")
        if points:
            key = f"demo:points:{member.id}"
            credit(session, member, points=points, origin="adjust", kind=MoveKind.adjust, source_key=key,
                   status=LotStatus.available, available_at=now, expires_at=now + timedelta(days=days),
                   note="welcome points")
            post_points(session, program, kind="points_adjust", source_key=f"points.{key}",
                        debit=AccountCode.points_expense, credit=AccountCode.points_liability,
                        value_minor=points_value_minor(program, points),
                        details={"member_id": str(member.id)})
    session.flush()
