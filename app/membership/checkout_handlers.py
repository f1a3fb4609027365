"""What an order's end gives back of its waterfall: coupon, points and mall stock (outbox handlers);
and an order the waterfall left with nothing to pay is paid as placed.

- order.cancelled (by the buyer, the seller or the timeout): the coupon comes back (expired if its
  dates are past), every point spent on the order comes back, a mall item's units go back to stock.
- order.refunded: each refunded line gives back its share of the order's points, by units; a refund
  that leaves every unit of the order refunded gives the coupon back (within its validity).

Per line the points come back by telescoping floors over the units refunded before this refund
(refunds ordered by when their money moved), so refunds handled in any order and split in any way
return exactly the line's share. Each give-back has its own source key: a replayed event changes
nothing.
"""

import uuid

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.membership import coupons
from app.membership.checkout import release_mall_stock
from app.membership.checkout_models import OrderAdjustment
from app.membership.waterfall import give_back
from app.orders.locks import lock_order
from app.orders.models import OrderLine, OrderStatus, PaymentMethod, Refund, RefundLine, RefundStatus
from app.orders.payment_hooks import mark_paid
from app.platform.models import OutboxEvent


def settle_nothing_due(session: Session, event: OutboxEvent) -> None:
    """A retail order the waterfall left at 0 to pay (points, coupon) is paid as placed: no gateway
    takes a zero amount. The journal posts nothing for it; the points redemption is booked on paid."""
    if event.payload.get("flow") != "retail" or int(event.payload.get("total_minor", -1)) != 0:
        return
    order = lock_order(session, event.tenant_id, event.subject_id)
    if order.status is OrderStatus.pending_payment and order.total_minor == 0:
        mark_paid(session, tenant_id=order.tenant_id, order_id=order.id, amount_minor=0,
                  payment_ref=f"nothing-due:{order.id}", method=PaymentMethod.offline.value)


def give_back_on_cancel(session: Session, event: OutboxEvent) -> None:
    tenant_id, order_id = event.tenant_id, event.subject_id
    coupons.give_back(session, tenant_id=tenant_id, order_id=order_id)
    spent = sum(points for points, in session.execute(select(OrderAdjustment.points).where(
        OrderAdjustment.tenant_id == tenant_id, OrderAdjustment.order_id == order_id,
        OrderAdjustment.points > 0)))
    if spent:
        _return_points(session, tenant_id, order_id, spent, f"order:{order_id}:cancel")
    release_mall_stock(session, tenant_id=tenant_id, order_id=order_id)


def give_back_on_refund(session: Session, event: OutboxEvent) -> None:
    tenant_id, order_id = event.tenant_id, event.subject_id
    refund_id = uuid.UUID(event.payload["refund_id"])
    shares = points_by_line(session, tenant_id, order_id)
    if shares:
        points = points_for_refund(session, tenant_id, order_id, refund_id, shares)
        if points:
            _return_points(session, tenant_id, order_id, points, f"refund:{refund_id}:points")
    lines = session.execute(select(OrderLine.qty, OrderLine.refunded_qty).where(
        OrderLine.tenant_id == tenant_id, OrderLine.order_id == order_id)).all()
    if lines and all(refunded >= qty for qty, refunded in lines):
        coupons.give_back(session, tenant_id=tenant_id, order_id=order_id)


def points_by_line(session: Session, tenant_id: uuid.UUID, order_id: uuid.UUID) -> dict[uuid.UUID, int]:
    """Each line's share of the points the order spent (every step with points)."""
    shares: dict[uuid.UUID, int] = {}
    for (lines,) in session.execute(select(OrderAdjustment.lines).where(
            OrderAdjustment.tenant_id == tenant_id, OrderAdjustment.order_id == order_id,
            OrderAdjustment.points > 0)):
        for part in lines:
            line_id = uuid.UUID(part["line_id"])
            shares[line_id] = shares.get(line_id, 0) + int(part.get("points", 0))
    return shares


def points_for_refund(session: Session, tenant_id: uuid.UUID, order_id: uuid.UUID, refund_id: uuid.UUID,
                      shares: dict[uuid.UUID, int]) -> int:
    """The points this refund gives back: per line, its units after those refunded before it."""
    executed = session.execute(
        select(Refund.id, RefundLine.order_line_id, RefundLine.qty)
        .join(RefundLine, (RefundLine.tenant_id == Refund.tenant_id) & (RefundLine.refund_id == Refund.id))
        .where(Refund.tenant_id == tenant_id, Refund.order_id == order_id,
               Refund.status == RefundStatus.refunded)
        .order_by(Refund.refunded_at, Refund.id)).all()
    quantities = dict(session.execute(select(OrderLine.id, OrderLine.qty).where(
        OrderLine.tenant_id == tenant_id, OrderLine.order_id == order_id)).all())
    before: dict[uuid.UUID, int] = {}
    total = 0
    for this_refund, line_id, qty in executed:
        if this_refund == refund_id and line_id in shares:
            total += give_back(shares[line_id], quantities[line_id], before.get(line_id, 0), qty)
        before[line_id] = before.get(line_id, 0) + qty
    return total


def _return_points(session: Session, tenant_id: uuid.UUID, order_id: uuid.UUID, points: int,
                   key: str) -> None:
    from app.membership import points as ledger  # noqa: PLC0415  (member-a's points ledger)

    ledger.give_back(session, tenant_id=tenant_id, order_id=order_id, points=points, source_key=key)
