"""Returning money: approved after-sales refunds, and automatic returns of duplicate or late payments."""

import uuid

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from app.db import utcnow, uuid7
from app.finance import postings
from app.orders.models import Order
from app.orders.payment_hooks import approved_refund, mark_refund_executed
from app.payments.gateway import (
    GatewayRefund,
    PaymentGateway,
    refund_idempotency_key,
)
from app.payments.models import (
    Payment,
    PaymentRefund,
    PaymentStatus,
    RefundExecutionStatus,
    RefundReason,
)
from app.payments.offline_gateway import OfflineGateway
from app.tenancy.elevation import Why, elevated
from app.tenancy.scope import system_scope

DONE = RefundExecutionStatus.succeeded


class RefundNotPossible(Exception):
    """No captured payment can carry this refund; the handler fails and the relay retries it."""


def gateway_for(payment: Payment, default: PaymentGateway) -> PaymentGateway:
    """Refund through the gateway that took the money."""
    if payment.gateway == default.name:
        return default
    if payment.gateway == OfflineGateway.name:
        return OfflineGateway()
    raise RefundNotPossible(f"payments by {payment.gateway} are not refunded through a gateway")


def _refundable(session: Session, payment: Payment) -> int:
    taken = session.scalar(select(func.coalesce(func.sum(PaymentRefund.amount_minor), 0)).where(
        PaymentRefund.tenant_id == payment.tenant_id, PaymentRefund.payment_id == payment.id,
        PaymentRefund.status != RefundExecutionStatus.failed))
    return payment.received_minor - int(taken)


def _execute(session: Session, *, payment: Payment, amount_minor: int, key: str, reason: RefundReason,
             refund_id: uuid.UUID | None, gateway: PaymentGateway) -> PaymentRefund:
    """Record the refund, then ask the gateway (idempotent per key: a retry asks for the same refund)."""
    row = session.scalars(select(PaymentRefund).where(
        PaymentRefund.tenant_id == payment.tenant_id, PaymentRefund.idempotency_key == key)).one_or_none()
    if row is None:
        if amount_minor > _refundable(session, payment):
            raise RefundNotPossible(f"payment {payment.id} has less than {amount_minor} left to refund")
        row = PaymentRefund(tenant_id=payment.tenant_id, id=uuid7(), payment_id=payment.id,
                            order_id=payment.order_id, refund_id=refund_id, reason=reason,
                            idempotency_key=key, amount_minor=amount_minor, currency=payment.currency,
                            status=RefundExecutionStatus.pending, owner_path=payment.owner_path,
                            seller_path=payment.seller_path, buyer_consumer_id=payment.buyer_consumer_id)
        session.add(row)
        session.flush()
    if row.gateway_ref is None:
        at_gateway = gateway.refund(
            payment_id=payment.gateway_ref, amount_minor=amount_minor,
            idempotency_key=refund_idempotency_key(payment.tenant_id, key),
            metadata={"tenant_id": payment.tenant_id, "order_id": payment.order_id,
                      "payment_refund_id": row.id, **({"refund_id": refund_id} if refund_id else {})})
        row.gateway_ref = at_gateway.id
        session.flush()
        settle(session, row=row, status=at_gateway.status)
    return row


def settle(session: Session, *, row: PaymentRefund, status: str) -> bool:
    """The gateway says the refund reached `status`; once succeeded, the order side moves (once)."""
    if status in ("failed", "canceled"):
        session.execute(update(PaymentRefund).where(
            PaymentRefund.tenant_id == row.tenant_id, PaymentRefund.id == row.id,
            PaymentRefund.status == RefundExecutionStatus.pending,
        ).values(status=RefundExecutionStatus.failed))
        return False
    if status != "succeeded":
        return False
    moved = session.execute(update(PaymentRefund).where(
        PaymentRefund.tenant_id == row.tenant_id, PaymentRefund.id == row.id,
        PaymentRefund.status == RefundExecutionStatus.pending)
        .values(status=DONE, executed_at=utcnow()).returning(PaymentRefund.id)).first()
    if not moved:
        return False
    session.refresh(row)
    payment = session.get(Payment, (row.tenant_id, row.payment_id))
    payment.refunded_minor += row.amount_minor
    order = session.get(Order, (row.tenant_id, row.order_id))
    if row.refund_id is not None:
        mark_refund_executed(session, tenant_id=row.tenant_id, refund_id=row.refund_id,
                             gateway_ref=row.gateway_ref)
    else:
        payment.status = PaymentStatus.refunded
        postings.post_unapplied_returned(session, order=order, payment_refund_id=row.id,
                                         amount_minor=row.amount_minor, currency=row.currency)
    session.flush()
    return True


def return_payment(session: Session, *, payment: Payment, reason: RefundReason,
                   gateway: PaymentGateway) -> PaymentRefund:
    """Give back the whole of a payment that pays no order (paid twice, or after cancellation)."""
    return _execute(session, payment=payment, amount_minor=payment.received_minor, key=f"auto:{payment.id}",
                    reason=reason, refund_id=None, gateway=gateway)


def captured_payment(session: Session, order: Order) -> Payment | None:
    return session.scalars(select(Payment).where(
        Payment.tenant_id == order.tenant_id, Payment.order_id == order.id,
        Payment.status == PaymentStatus.succeeded).order_by(Payment.created_at)).first()


def execute_refund(session: Session, *, tenant_id: uuid.UUID, refund_id: uuid.UUID,
                   gateway: PaymentGateway) -> PaymentRefund | None:
    """Move the money of an approved after-sales refund; the order side follows once it has moved."""
    from app.payments.credit import credit_note  # noqa: PLC0415  (credit builds on orders, not on us)

    with elevated(session, Why.settle_payment, scope=system_scope(tenant_id)):
        existing = session.scalars(select(PaymentRefund).where(
            PaymentRefund.tenant_id == tenant_id, PaymentRefund.idempotency_key == f"refund:{refund_id}")
        ).one_or_none()
        if existing is not None and existing.status is not RefundExecutionStatus.pending:
            return existing
        refund = approved_refund(session, tenant_id=tenant_id, refund_id=refund_id)
        order = session.get(Order, (tenant_id, refund.order_id))
        payment = captured_payment(session, order)
        if payment is None:
            raise RefundNotPossible(f"order {order.id} has no captured payment to refund")
        if payment.gateway == "credit":
            return credit_note(session, payment=payment, refund=refund)
        return _execute(session, payment=payment, amount_minor=refund.amount_minor, key=f"refund:{refund_id}",
                        reason=RefundReason.order_refund, refund_id=refund_id,
                        gateway=gateway_for(payment, gateway))


def refund_updated(session: Session, *, tenant_id: uuid.UUID, at_gateway: GatewayRefund) -> str:
    """A refund.updated / charge.refunded report from the gateway."""
    with elevated(session, Why.settle_payment, scope=system_scope(tenant_id)):
        row = session.scalars(select(PaymentRefund).where(
            PaymentRefund.tenant_id == tenant_id, PaymentRefund.gateway_ref == at_gateway.id)).one_or_none()
        if row is None:
            return "unknown_refund"
        return "settled" if settle(session, row=row, status=at_gateway.status) else "unchanged"

