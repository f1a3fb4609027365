"""Membership test helpers: a program with three levels, members with lots, events for handlers."""

import uuid
from datetime import datetime, timedelta

from sqlalchemy import select, update

from app.db import utcnow
from app.membership import config
from app.membership.members import ensure_member
from app.membership.models import LotStatus, Member, MoveKind
from app.membership.points import credit
from app.orders.models import OrderLine
from app.platform.models import OutboxEvent
from app.tenancy.scope import system_scope
from tests.factories import scope_of
from tests.support.scope import use_scope

LEVELS = {
    "silver": {"name": "Silver", "rank": 0, "growth_threshold": 0, "retention_threshold": 0},
    "gold": {"name": "Gold", "rank": 1, "growth_threshold": 1_000, "retention_threshold": 600,
             "discount_bp": 500, "points_multiplier_pct": 150, "free_shipping_min_minor": 9_900,
             "birthday_gift_points": 200},
    "platinum": {"name": "Platinum", "rank": 2, "growth_threshold": 5_000, "retention_threshold": 3_000,
                 "discount_bp": 1_000, "points_multiplier_pct": 200, "free_shipping_min_minor": 0,
                 "birthday_gift_points": 500, "exclusive_coupon_template_ids": []},
}


def setup_program(session, net, **settings):
    """The brand's program (1 point per yuan earned, 100 points = 1 yuan) and three levels."""
    scope = scope_of(session, net, "brand")
    program = config.configure_program(session, scope, {
        "points_expiry": "end_of_year", "return_window_days": 7, "earn_points_per_unit": 1,
        "points_per_unit": 100, "growth_per_unit": 1, **settings})
    levels = {code: config.put_level(session, scope, code, fields) for code, fields in LEVELS.items()}
    session.flush()
    use_scope(session, system_scope(net.tenant.id))
    return program, levels


def member_with_lots(session, net, consumer, *lots: tuple[int, datetime | None]) -> Member:
    """A member holding available lots of (points, expires_at)."""
    use_scope(session, system_scope(net.tenant.id))
    member = ensure_member(session, net.tenant.id, consumer.id)
    for n, (points, expires_at) in enumerate(lots):
        credit(session, member, points=points, origin="adjust", kind=MoveKind.adjust,
               source_key=f"test-lot:{member.id}:{n}", status=LotStatus.available,
               available_at=utcnow(), expires_at=expires_at)
    return fresh_member(session, member)


def fresh_member(session, member: Member) -> Member:
    return session.scalars(select(Member).where(Member.tenant_id == member.tenant_id, Member.id == member.id)
                           .execution_options(populate_existing=True)).one()


def soon(days: int) -> datetime:
    return utcnow() + timedelta(days=days)


def event_for(order, type_: str = "order.paid") -> OutboxEvent:
    return OutboxEvent(tenant_id=order.tenant_id, id=uuid.uuid4(), owner_path=order.owner_path, type=type_,
                       subject_id=order.id, payload={"order_id": str(order.id)})


def refund_lines(session, order, amounts: list[int]) -> None:
    """Add `amounts` to the refunded minor of the order's lines (what an executed refund does)."""
    use_scope(session, system_scope(order.tenant_id))
    lines = list(session.scalars(select(OrderLine).where(OrderLine.tenant_id == order.tenant_id,
                                                        OrderLine.order_id == order.id)
                                 .order_by(OrderLine.line_no)))
    for line, amount in zip(lines, amounts, strict=False):
        if amount:
            session.execute(update(OrderLine).where(OrderLine.tenant_id == line.tenant_id,
                                                    OrderLine.id == line.id)
                            .values(refunded_minor=OrderLine.refunded_minor + amount))
    session.flush()
