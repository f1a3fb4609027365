"""Money the gateway returned without an after-sales request (a dashboard refund, a lost dispute).

The order must still follow: the amount becomes a system refund, claimed on the order and its
lines like any other (so later requests cannot claim it again), approved at once; the payments
module marks it executed when the gateway says the money left. A refund of everything still
unclaimed takes every unit and the shipping fee, so a paid, unshipped order closes.
"""

import uuid

from sqlalchemy import update
from sqlalchemy.orm import Session

from app.db import utcnow, uuid7
from app.orders import events, locks, rules
from app.orders.aftersales import _claim_line, _claim_order
from app.orders.models import Order, OrderLine, Refund, RefundKind, RefundLine, RefundStatus
from app.orders.queries import refund_lines_of
from app.orders.transitions import SYSTEM, advance_refund, set_committed
from app.tenancy.enums import ActorKind


def record_gateway_refund(session: Session, *, tenant_id: uuid.UUID, order_id: uuid.UUID, amount_minor: int,
                          note: str) -> Refund | None:
    """An approved system refund of up to `amount_minor` (what is still unclaimed); None if nothing is."""
    order = locks.lock_order(session, tenant_id, order_id)
    lines = locks.fresh_lines(session, order)
    order_left = order.total_minor - order.refund_claimed_minor
    amount = min(amount_minor, order_left)
    if amount <= 0:
        return None
    goods_left = [line.total_minor - line.claimed_minor for line in lines]
    if amount == order_left:  # everything: every unclaimed unit and what is left of shipping
        qtys, parts = [line.qty - line.claimed_qty for line in lines], goods_left
    else:
        goods = min(amount, sum(goods_left))
        qtys, parts = [0] * len(lines), rules.split_refund(goods, goods_left) if goods else [0] * len(lines)
    shipping = amount - sum(parts)
    refund = Refund(tenant_id=tenant_id, id=uuid7(), order_id=order.id, kind=RefundKind.refund_only,
                    status=RefundStatus.refund_approved, amount_minor=amount, shipping_minor=shipping,
                    currency=order.currency, reason=note[:500], requested_by_kind=ActorKind.system,
                    decided_at=utcnow(), decision_note=note[:500], owner_path=order.owner_path,
                    seller_path=order.seller_path, buyer_consumer_id=order.buyer_consumer_id)
    session.add(refund)
    session.flush()
    for line, qty, part in zip(lines, qtys, parts, strict=True):
        if qty or part:
            _claim_line(session, line, qty, part, returns=False)
            session.add(RefundLine(tenant_id=tenant_id, id=uuid7(), refund_id=refund.id,
                                   order_line_id=line.id, qty=qty, amount_minor=part,
                                   owner_path=order.owner_path, seller_path=order.seller_path,
                                   buyer_consumer_id=order.buyer_consumer_id))
    _claim_order(session, order, amount)
    session.flush()
    return refund


def mark_refund_bounced(session: Session, *, tenant_id: uuid.UUID, refund_id: uuid.UUID, note: str) -> Refund:
    """A refund the gateway first reported succeeded came back failed: refunded → refund_failed.

    The order and its lines stop counting it (SQL decrements), the claim stays (finance retries or
    pays by bank from the refund desk), and order.refund_bounced tells the journal to take it back.
    """
    refund = session.get(Refund, (tenant_id, refund_id))
    order = locks.lock_order(session, tenant_id, refund.order_id)
    session.refresh(refund)
    advance_refund(session, refund, "bounce", actor=SYSTEM, note=note[:500])
    refund_lines = refund_lines_of(session, refund)
    for part in refund_lines:
        session.execute(update(OrderLine).where(
            OrderLine.tenant_id == tenant_id, OrderLine.id == part.order_line_id).values(
            refunded_qty=OrderLine.refunded_qty - part.qty,
            refunded_minor=OrderLine.refunded_minor - part.amount_minor)
            .execution_options(synchronize_session=False))
    refunded = session.execute(update(Order).where(Order.tenant_id == tenant_id, Order.id == order.id)
                               .values(refunded_minor=Order.refunded_minor - refund.amount_minor)
                               .returning(Order.refunded_minor)
                               .execution_options(synchronize_session=False)).scalar_one()
    set_committed(order, "refunded_minor", refunded)
    events.emit(session, order, "order.refund_bounced",
                {**events.refund_payload(refund, refund_lines), "gateway_ref": refund.gateway_ref})
    session.flush()
    return refund
