"""What the payments module calls (webhooks and tasks, under system_scope(tenant_id)); no flask.

mark_paid: pending_payment → paid, emits order.paid.
approved_refund: the approved refund, with its lines, for the gateway to execute.
mark_refund_executed: refund_approved → refunded once money has moved, emits order.refunded;
  a paid order of which every unit is now refunded (nothing shipped) closes, emits order.closed.
mark_refund_failed / mark_refund_retried: refund_approved ⇄ refund_failed (the gateway refused).
accepts_payment: whether money arriving now may pay the order (for late bank transfers).
"""

import uuid

from sqlalchemy import update
from sqlalchemy.orm import Session

from app.db import utcnow
from app.errors import NotFound
from app.orders import events, locks
from app.orders.errors import AmountMismatch, IllegalTransition
from app.orders.models import Order, OrderLine, OrderStatus, PaymentMethod, Refund, RefundStatus
from app.orders.queries import lines_of, refund_lines_of
from app.orders.transitions import SYSTEM, Actor, advance_order, advance_refund, set_committed
from app.tenancy.enums import ActorKind


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
    """Money has moved: refund_approved → refunded; lines and order count it as SQL increments."""
    refund = _refund(session, tenant_id, refund_id)
    order = locks.lock_order(session, tenant_id, refund.order_id)
    session.refresh(refund)
    advance_refund(session, refund, "execute", actor=SYSTEM, note=gateway_ref,
                   values={"gateway_ref": gateway_ref, "refunded_at": utcnow()})
    refund_lines = refund_lines_of(session, refund)
    for part in refund_lines:
        session.execute(update(OrderLine).where(
            OrderLine.tenant_id == tenant_id, OrderLine.id == part.order_line_id).values(
            refunded_qty=OrderLine.refunded_qty + part.qty,
            refunded_minor=OrderLine.refunded_minor + part.amount_minor)
            .execution_options(synchronize_session=False))
    refunded = session.execute(update(Order).where(Order.tenant_id == tenant_id, Order.id == order.id)
                               .values(refunded_minor=Order.refunded_minor + refund.amount_minor)
                               .returning(Order.refunded_minor)
                               .execution_options(synchronize_session=False)).scalar_one()
    set_committed(order, "refunded_minor", refunded)
    events.emit(session, order, "order.refunded",
                {**events.refund_payload(refund, refund_lines), "gateway_ref": gateway_ref,
                 "shipping_minor": refund.shipping_minor})
    _close_if_all_refunded(session, order)
    session.flush()
    return refund


def _close_if_all_refunded(session: Session, order: Order) -> None:
    """paid → closed once every unit is refunded and none shipped (the shipping fee went back too)."""
    lines = locks.fresh_lines(session, order)
    if order.status is not OrderStatus.paid or any(line.shipped_qty for line in lines):
        return
    if any(line.refunded_qty < line.qty for line in lines) or order.refunded_minor < order.total_minor:
        return
    advance_order(session, order, "close", actor=SYSTEM, note="refunded in full")
    events.emit(session, order, "order.closed", events.order_payload(order, lines))


def mark_refund_failed(session: Session, *, tenant_id: uuid.UUID, refund_id: uuid.UUID,
                       note: str | None) -> Refund:
    """The gateway refused the money: refund_failed keeps its claim and waits for finance."""
    refund = _refund(session, tenant_id, refund_id)
    locks.lock_order(session, tenant_id, refund.order_id)
    session.refresh(refund)
    return advance_refund(session, refund, "fail", actor=SYSTEM, note=(note or "")[:500] or None)


def mark_refund_retried(session: Session, *, tenant_id: uuid.UUID, refund_id: uuid.UUID,
                        actor_id: uuid.UUID | None, note: str) -> Refund:
    """Finance tries again (the gateway, or a bank transfer): refund_failed → refund_approved."""
    refund = _refund(session, tenant_id, refund_id)
    locks.lock_order(session, tenant_id, refund.order_id)
    session.refresh(refund)
    return advance_refund(session, refund, "retry", actor=Actor(ActorKind.staff, actor_id), note=note)


def accepts_payment(session: Session, *, tenant_id: uuid.UUID, order_id: uuid.UUID) -> bool:
    """Money arriving now pays the order only while it waits for payment; a transfer confirmed after
    the order was cancelled (e.g. by its payment terms) is an unapplied receipt instead."""
    return _order(session, tenant_id, order_id).status is OrderStatus.pending_payment
