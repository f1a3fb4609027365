"""Points an order earns and gives back, and the redemption it paid with: reconciled per order.

Each handler locks the order row, then brings the order's points to what they should be now:
earned = f(paid goods, level multiplier) once; reversed so far = floor(earned × refunded goods /
paid goods) (rules.cumulative_share). Handlers of order.paid and order.refunded both converge on
that target, so they may run in any order, twice, or after each other's retries.
"""

import uuid
from datetime import timedelta

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from app.db import utcnow
from app.finance.models import AccountCode
from app.membership import rules
from app.membership.members import ensure_member
from app.membership.models import (
    LotStatus,
    Member,
    MemberLevel,
    MembershipProgram,
    MoveKind,
    PointsLot,
    PointsMove,
)
from app.membership.points import bump_member, credit, new_lot, record_moves, take_fifo
from app.membership.postings import post_points, value_difference
from app.membership.programs import points_value_minor, program_for
from app.orders.locks import fresh_lines, lock_order
from app.orders.models import Order

A = AccountCode


def active_program(session: Session, tenant_id: uuid.UUID) -> MembershipProgram | None:
    program = program_for(session, tenant_id)
    return program if program is not None and program.active else None


def goods_paid_and_refunded(session: Session, order: Order) -> tuple[int, int]:
    """(goods paid, goods refunded so far) in minor units, from the order's lines (shipping excluded)."""
    lines = fresh_lines(session, order)
    paid = sum(line.total_minor for line in lines)
    return paid, min(paid, sum(line.refunded_minor for line in lines))


def earn_lot(session: Session, order: Order) -> PointsLot | None:
    return session.scalars(select(PointsLot).where(
        PointsLot.tenant_id == order.tenant_id, PointsLot.source_key == f"earn:{order.id}")
        .execution_options(populate_existing=True)).one_or_none()


# --- order.paid: book the redemption, earn pending points -----------------------------------

def book_redemption(session: Session, program: MembershipProgram, order: Order) -> None:
    """Points that paid part of the order leave the liability as the seller's revenue, once."""
    moves = select(func.coalesce(func.sum(PointsMove.points), 0)).where(
        PointsMove.tenant_id == order.tenant_id, PointsMove.order_id == order.id)
    spent = -int(session.scalar(moves.where(PointsMove.kind == MoveKind.spend)))
    given = int(session.scalar(moves.where(PointsMove.kind == MoveKind.give_back)))
    if spent <= 0:
        return
    post_points(session, program, kind="points_redeem", source_key=f"points.redeem:{order.id}",
                debit=A.points_liability, credit=A.sales_revenue,
                value_minor=points_value_minor(program, spent) - points_value_minor(program, given),
                seller_org_id=order.seller_org_id,
                details={"order_id": str(order.id), "points": spent - given})


def earn_for_order(session: Session, program: MembershipProgram, order: Order) -> int:
    """Pending points for a paid retail order, once; then any refund already made is reversed."""
    if order.buyer_consumer_id is None:
        return 0
    if earn_lot(session, order) is None:
        member = ensure_member(session, order.tenant_id, order.buyer_consumer_id)
        level = session.get(MemberLevel, (order.tenant_id, member.level_id)) if member.level_id else None
        paid, _ = goods_paid_and_refunded(session, order)
        points = rules.earned_points(paid, earn_points_per_unit=program.earn_points_per_unit,
                                     multiplier_pct=level.points_multiplier_pct if level else 100,
                                     currency=program.currency)
        if points <= 0:
            return 0
        now = utcnow()
        available_at = now + timedelta(days=program.return_window_days)
        credit(session, member, points=points, origin="earn", kind=MoveKind.earn,
               source_key=f"earn:{order.id}", status=LotStatus.pending, available_at=available_at,
               expires_at=rules.expires_at(program.points_expiry, available_at), order_id=order.id)
        post_points(session, program, kind="points_earn", source_key=f"points.earn:{order.id}",
                    debit=A.points_expense, credit=A.points_liability,
                    value_minor=points_value_minor(program, points),
                    details={"order_id": str(order.id), "points": points})
    return reverse_for_refunds(session, program, order)


# --- order.refunded: reverse proportionally, including points already spent -----------------

def reverse_for_refunds(session: Session, program: MembershipProgram, order: Order) -> int:
    """Take back what the refunds so far say: from the earned lot, then other lots, then as debt.

    Of what the lot no longer holds, the part that expired is written off (it already left the
    liability); the part that was spent is charged: other available lots first (FIFO), then a
    debt lot that later earnings repay. Returns the points reversed by this call.
    """
    lot = earn_lot(session, order)
    if lot is None:
        return 0
    paid, refunded = goods_paid_and_refunded(session, order)
    target = rules.cumulative_share(lot.points, refunded, paid)
    delta = target - lot.reversed_points
    if delta <= 0:
        return 0
    status, remaining, expired, written_off = session.execute(
        update(PointsLot).where(PointsLot.tenant_id == lot.tenant_id, PointsLot.id == lot.id)
        .values(reversed_points=PointsLot.reversed_points + delta)
        .returning(PointsLot.status, PointsLot.remaining, PointsLot.expired_points,
                   PointsLot.written_off_points)
        .execution_options(synchronize_session=False)).one()
    member = session.get(Member, (lot.tenant_id, lot.member_id))
    source_key, seq = f"reverse:{order.id}:{target}", 0
    from_lot = min(delta, remaining) if status in (LotStatus.pending, LotStatus.available) else 0
    if from_lot:
        session.execute(update(PointsLot).where(PointsLot.tenant_id == lot.tenant_id, PointsLot.id == lot.id)
                        .values(remaining=PointsLot.remaining - from_lot)
                        .execution_options(synchronize_session=False))
        bump_member(session, member, **{"pending" if status is LotStatus.pending else "available": -from_lot})
        record_moves(session, member, MoveKind.reverse, [(lot.id, from_lot)], source_key=source_key,
                     sign=-1, order_id=order.id, note="refund")
        seq = 1
    write_off = min(delta - from_lot, expired - written_off)
    if write_off:
        session.execute(update(PointsLot).where(PointsLot.tenant_id == lot.tenant_id, PointsLot.id == lot.id)
                        .values(written_off_points=PointsLot.written_off_points + write_off)
                        .execution_options(synchronize_session=False))
    charge = delta - from_lot - write_off
    if charge:
        _charge(session, member, charge, source_key=source_key, first_seq=seq, order_id=order.id)
    post_points(session, program, kind="points_reverse", source_key=f"points.{source_key}",
                debit=A.points_liability, credit=A.points_expense,
                value_minor=value_difference(program, lot.reversed_points - written_off,
                                             target - written_off - write_off),
                details={"order_id": str(order.id), "points": delta - write_off})
    return delta


def _charge(session: Session, member: Member, points: int, *, source_key: str, first_seq: int,
            order_id: uuid.UUID) -> None:
    """Points spent before the refund: from other available lots, the rest as a debt lot."""
    takes = take_fifo(session, member, points, now=utcnow())
    taken = sum(n for _, n in takes)
    bump_member(session, member, available=-taken)
    record_moves(session, member, MoveKind.reverse, takes, source_key=source_key, sign=-1,
                 order_id=order_id, first_seq=first_seq, note="refund of points already spent")
    owed = points - taken
    if owed:
        debt_lot = new_lot(session, member, status=LotStatus.debt, origin="reversal", points=owed,
                           source_key=f"debt:{source_key}", order_id=order_id)
        bump_member(session, member, debt=owed)
        record_moves(session, member, MoveKind.debt, [(debt_lot, owed)], source_key=source_key,
                     sign=-1, order_id=order_id, first_seq=first_seq + len(takes),
                     note="refund of points already spent: repaid by later earnings")


# --- the handlers' bodies ------------------------------------------------------------------

def on_order_paid(session: Session, tenant_id: uuid.UUID, order_id: uuid.UUID) -> None:
    program = active_program(session, tenant_id)
    if program is None:
        return
    order = lock_order(session, tenant_id, order_id)
    book_redemption(session, program, order)
    earn_for_order(session, program, order)


def on_order_refunded(session: Session, tenant_id: uuid.UUID, order_id: uuid.UUID) -> None:
    program = active_program(session, tenant_id)
    if program is None:
        return
    order = lock_order(session, tenant_id, order_id)
    reverse_for_refunds(session, program, order)
