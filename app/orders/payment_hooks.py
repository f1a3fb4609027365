"""What the payments module calls (webhooks and tasks, under system_scope(tenant_id)); no flask.

mark_paid: pending_payment → paid, emits order.paid.
approved_refund: the approved refund, with its lines, for the gateway to execute.
mark_refund_executed: refund_approved → refunded once money has moved, emits order.refunded.
"""

import uuid

from sqlalchemy.orm import Session

from app.db import utcnow
from app.errors import NotFound
from app.orders import events
from app.orders.errors import AmountMismatch, IllegalTransition
from app.orders.models import Order, OrderLine, PaymentMethod, Refund, RefundStatus
from app.orders.queries import lines_of, refund_lines_of
from app.orders.transitions import SYSTEM, advance_order, advance_refund


def _order(session: Session, tenant_id: uuid.UUID, order_id: uuid.UUID) -> Order:
    order = session.get(Order, (tenant_id, order_id))
    if order is None:
        raise NotFound("No order with that id.")
    return order


def _refund(session: Session, tenant_id: uuid.UUID, refund_id: uuid.UUID) -> Refund:
    refund = session.get(Refund, (tenant_id, refund_id))
    if refund is None:
        raise NotFound("No refund with that id.")
    return refund


def mark_paid(session: Session, *, tenant_id: uuid.UUID, order_id: uuid.UUID, amount_minor: int,
              payment_ref: str, method: str) -> Order:
    """The order is paid in full: pending_payment → paid; emits order.paid."""
    order = _order(session, tenant_id, order_id)
    if amount_minor != order.total_minor:
        raise AmountMismatch(f"The order total is {order.total_minor}, {amount_minor} was paid.")
    advance_order(session, order, "pay", actor=SYSTEM, note=f"{method} {payment_ref}",
                  values={"payment_method": PaymentMethod(method), "payment_ref": payment_ref})
    payload = events.order_payload(order, lines_of(session, order))
    events.emit(session, order, "order.paid",
                {**payload, "amount_minor": amount_minor, "payment_ref": payment_ref})
    session.flush()
    return order


def approved_refund(session: Session, *, tenant_id: uuid.UUID, refund_id: uuid.UUID) -> Refund:
    """The approved refund; `refund_lines_of(session, refund)` gives its lines and amounts."""
    refund = _refund(session, tenant_id, refund_id)
    if refund.status is not RefundStatus.refund_approved:
        raise IllegalTransition(f"The refund is {refund.status.value}, not approved.")
    return refund


def mark_refund_executed(session: Session, *, tenant_id: uuid.UUID, refund_id: uuid.UUID,
                         gateway_ref: str) -> Refund:
    """Money has moved: refund_approved → refunded; lines and order carry the refunded amounts."""
    refund = _refund(session, tenant_id, refund_id)
    advance_refund(session, refund, "execute", actor=SYSTEM, note=gateway_ref,
                   values={"gateway_ref": gateway_ref, "refunded_at": utcnow()})
    refund_lines = refund_lines_of(session, refund)
    order = _order(session, tenant_id, refund.order_id)
    for part in refund_lines:
        line = session.get(OrderLine, (tenant_id, part.order_line_id))
        line.refunded_qty += part.qty
        line.refunded_minor += part.amount_minor
    order.refunded_minor += refund.amount_minor
    events.emit(session, order, "order.refunded",
                {**events.refund_payload(refund, refund_lines), "gateway_ref": gateway_ref})
    session.flush()
    return refund
