"""Growth value (成长值): an append-only ledger per member; levels go up at once when it grows.

An order's growth is reconciled like its points: completed orders count their goods paid minus
what refunds took back (cumulative, so any split of refunds reverses exactly), others count 0.
"""

import uuid

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from app.db import insert_or_ignore, utcnow, uuid7
from app.membership import rules
from app.membership.earning import active_program, goods_paid_and_refunded
from app.membership.members import ensure_member
from app.membership.models import GrowthEntry, Member, MemberLevel, MembershipProgram
from app.membership.programs import level_for_growth, levels_of
from app.orders.locks import lock_order
from app.orders.models import Order


def add_growth(session: Session, member: Member, amount: int, *, reason: str, source_key: str,
               order_id: uuid.UUID | None = None) -> int | None:
    """Append one entry (once per source_key) and add it to the window total; upgrade at once.

    Returns the member's growth after it, or None when the source_key was already recorded.
    """
    inserted = session.execute(
        insert_or_ignore(session, GrowthEntry, conflict_on=["tenant_id", "source_key"]).values(
            tenant_id=member.tenant_id, id=uuid7(), owner_path=member.owner_path, created_at=utcnow(),
            consumer_id=member.consumer_id, member_id=member.id, amount=amount, reason=reason,
            order_id=order_id, source_key=source_key).returning(GrowthEntry.id)).first()
    if inserted is None:
        return None
    growth = session.execute(
        update(Member).where(Member.tenant_id == member.tenant_id, Member.id == member.id)
        .values(growth=Member.growth + amount).returning(Member.growth)
        .execution_options(synchronize_session=False)).scalar_one()
    if amount > 0:
        upgrade_at_once(session, member, growth)
    return growth


def upgrade_at_once(session: Session, member: Member, growth: int) -> MemberLevel | None:
    """Move the member up to the level `growth` reaches, if higher; never down (re-evaluation does)."""
    levels = levels_of(session, member.tenant_id)
    reached = level_for_growth(levels, growth)
    current_id = session.scalar(select(Member.level_id).where(Member.tenant_id == member.tenant_id,
                                                              Member.id == member.id))
    current = next((level for level in levels if level.id == current_id), None)
    if reached is None or (current is not None and reached.rank <= current.rank):
        return None
    session.execute(update(Member).where(Member.tenant_id == member.tenant_id, Member.id == member.id,
                                         Member.level_id.is_not_distinct_from(current_id))
                    .values(level_id=reached.id, level_since=utcnow(), grace_until=None)
                    .execution_options(synchronize_session=False))
    return reached


def reconcile_order_growth(session: Session, program: MembershipProgram, order: Order) -> int:
    """Append what the order's growth lacks or has too much of now; the change (0 if none)."""
    if order.buyer_consumer_id is None:
        return 0
    paid, refunded = goods_paid_and_refunded(session, order)
    full = rules.growth_for(paid, growth_per_unit=program.growth_per_unit, currency=program.currency)
    desired = full - rules.cumulative_share(full, refunded, paid) if order.completed_at else 0
    current = int(session.scalar(select(func.coalesce(func.sum(GrowthEntry.amount), 0)).where(
        GrowthEntry.tenant_id == order.tenant_id, GrowthEntry.order_id == order.id)))
    if desired == current:
        return 0
    member = ensure_member(session, order.tenant_id, order.buyer_consumer_id)
    add_growth(session, member, desired - current,
               reason="order_completed" if desired > current else "order_refunded",
               source_key=f"growth:{order.id}:{current}:{desired}", order_id=order.id)
    return desired - current


def on_order_changed(session: Session, tenant_id: uuid.UUID, order_id: uuid.UUID) -> None:
    """order.completed and order.refunded: the order's growth as it should be now."""
    program = active_program(session, tenant_id)
    if program is None:
        return
    reconcile_order_growth(session, program, lock_order(session, tenant_id, order_id))
