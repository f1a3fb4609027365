"""Returning money: claim it in the database, commit, then ask the gateway (see docs/payments.md).

A refund attempt is a `payment_refunds` row. Claiming it reserves its amount on the payment
with a conditional UPDATE (`refund_reserved_minor + x <= received_minor`), so no gateway call is
ever made for money the database would refuse; the claim commits before anyone calls the
gateway (`app.payments.tasks.send_refund`). The gateway request is built from the committed row
alone, identical on every retry; after a lost answer the attempt is looked up at the gateway by
its idempotency key before it is sent again.
"""

import uuid
from dataclasses import dataclass

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from app.db import after_commit, utcnow, uuid7
from app.finance import postings
from app.orders import locks
from app.orders.models import Order
from app.orders.payment_hooks import approved_refund, mark_refund_executed, mark_refund_failed
from app.payments.gateway import GatewayRefund, PaymentGateway, refund_idempotency_key
from app.payments.models import (
    Payment,
    PaymentRefund,
    PaymentStatus,
    RefundChannel,
    RefundExecutionStatus,
    RefundReason,
)
from app.payments.offline_gateway import OfflineGateway
from app.tenancy.elevation import Why, elevated
from app.tenancy.scope import system_scope

DONE = RefundExecutionStatus.succeeded
PENDING = RefundExecutionStatus.pending
# Gateway calls that got no answer before the attempt is handed to finance as failed.
MAX_SEND_ATTEMPTS = 5


class RefundNotPossible(Exception):
    """No captured payment can carry this refund; the handler fails and the relay retries it."""


@dataclass(frozen=True)
class RefundCall:
    """One gateway refund request, derived only from committed rows: the same on every retry."""

    gateway: str
    payment_id: str
    amount_minor: int
    idempotency_key: str
    metadata: dict


def channel_for(payment: Payment) -> RefundChannel:
    """Money goes back the way it came: the gateway, a bank transfer (offline), or a credit note."""
    if payment.gateway == "credit":
        return RefundChannel.credit
    if payment.gateway == OfflineGateway.name:
        return RefundChannel.offline
    return RefundChannel.gateway


def claim(session: Session, *, payment: Payment, amount_minor: int, key: str, reason: RefundReason,
          refund_id: uuid.UUID | None, channel: RefundChannel | None = None) -> PaymentRefund:
    """Reserve `amount_minor` of the payment and record the attempt (pending); the same key claims once.

    A gateway attempt is sent once the transaction commits; an offline one waits for finance.
    """
    locks.lock_order(session, payment.tenant_id, payment.order_id)
    row = _by_key(session, payment.tenant_id, key)
    if row is not None:
        return row
    reserved = session.execute(
        update(Payment)
        .where(Payment.tenant_id == payment.tenant_id, Payment.id == payment.id,
               Payment.refund_reserved_minor + amount_minor <= Payment.received_minor)
        .values(refund_reserved_minor=Payment.refund_reserved_minor + amount_minor)
        .returning(Payment.id).execution_options(synchronize_session=False)).first()
    if reserved is None:
        raise RefundNotPossible(f"payment {payment.id} has less than {amount_minor} left to refund")
    row = PaymentRefund(tenant_id=payment.tenant_id, id=uuid7(), payment_id=payment.id,
                        order_id=payment.order_id, refund_id=refund_id, reason=reason,
                        idempotency_key=key, amount_minor=amount_minor, currency=payment.currency,
                        status=PENDING, channel=channel or channel_for(payment), attempts=0,
                        owner_path=payment.owner_path, seller_path=payment.seller_path,
                        buyer_consumer_id=payment.buyer_consumer_id)
    session.add(row)
    session.flush()
    if row.channel is RefundChannel.gateway:
        _send_after_commit(session, row)
    return row


def _by_key(session: Session, tenant_id: uuid.UUID, key: str) -> PaymentRefund | None:
    return session.scalars(select(PaymentRefund).where(
        PaymentRefund.tenant_id == tenant_id, PaymentRefund.idempotency_key == key)).one_or_none()


def _send_after_commit(session: Session, row: PaymentRefund) -> None:
    tenant_id, row_id = str(row.tenant_id), str(row.id)

    def enqueue() -> None:
        from app.payments.tasks import enqueue_refund  # noqa: PLC0415  (tasks builds on us)

        enqueue_refund(tenant_id, row_id)

    after_commit(session, enqueue)


def call_for(session: Session, *, tenant_id: uuid.UUID, payment_refund_id: uuid.UUID) -> RefundCall | None:
    """The request for a committed, unsent gateway attempt; None when there is nothing to send."""
    with elevated(session, Why.settle_payment, scope=system_scope(tenant_id)):
        row = session.get(PaymentRefund, (tenant_id, payment_refund_id))
        if (row is None or row.status is not PENDING or row.channel is not RefundChannel.gateway
                or row.gateway_ref is not None):
            return None
        payment = session.get(Payment, (tenant_id, row.payment_id))
        metadata = {"tenant_id": str(tenant_id), "order_id": str(row.order_id),
                    "idempotency_key": row.idempotency_key}
        if row.refund_id:
            metadata["refund_id"] = str(row.refund_id)
        return RefundCall(gateway=payment.gateway, payment_id=payment.gateway_ref,
                          amount_minor=row.amount_minor,
                          idempotency_key=refund_idempotency_key(tenant_id, row.idempotency_key),
                          metadata=metadata)


def record_answer(session: Session, *, tenant_id: uuid.UUID, payment_refund_id: uuid.UUID,
                  at_gateway: GatewayRefund) -> str:
    """The gateway answered (or the lookup found the refund): keep its id and settle by its status."""
    with elevated(session, Why.settle_payment, scope=system_scope(tenant_id)):
        row = session.get(PaymentRefund, (tenant_id, payment_refund_id))
        session.execute(update(PaymentRefund).where(
            PaymentRefund.tenant_id == tenant_id, PaymentRefund.id == row.id,
            PaymentRefund.gateway_ref.is_(None)).values(gateway_ref=at_gateway.id, last_error=None)
            .execution_options(synchronize_session=False))
        session.refresh(row)
        return "settled" if settle(session, row=row, status=at_gateway.status) else at_gateway.status


def record_no_answer(session: Session, *, tenant_id: uuid.UUID, payment_refund_id: uuid.UUID,
                     error: str) -> str:
    """The gateway call failed without an answer: counted; after MAX_SEND_ATTEMPTS finance takes over."""
    with elevated(session, Why.settle_payment, scope=system_scope(tenant_id)):
        attempts = session.execute(update(PaymentRefund).where(
            PaymentRefund.tenant_id == tenant_id, PaymentRefund.id == payment_refund_id,
            PaymentRefund.status == PENDING)
            .values(attempts=PaymentRefund.attempts + 1, last_error=error[:500])
            .returning(PaymentRefund.attempts).execution_options(synchronize_session=False)).scalar()
        if attempts is not None and attempts >= MAX_SEND_ATTEMPTS:
            row = session.get(PaymentRefund, (tenant_id, payment_refund_id))
            settle(session, row=row, status="failed")
            return "failed"
        return "will_retry"


def settle(session: Session, *, row: PaymentRefund, status: str, **values) -> bool:
    """The attempt reached `status`: failed gives the reservation back, succeeded counts (once)."""
    locks.lock_order(session, row.tenant_id, row.order_id)
    if status in ("failed", "canceled"):
        moved = session.execute(update(PaymentRefund).where(
            PaymentRefund.tenant_id == row.tenant_id, PaymentRefund.id == row.id,
            PaymentRefund.status == PENDING).values(status=RefundExecutionStatus.failed, **values)
            .returning(PaymentRefund.id).execution_options(synchronize_session=False)).first()
        if moved:
            _payment_totals(session, row, reserved=-row.amount_minor)
            if row.refund_id is not None:
                mark_refund_failed(session, tenant_id=row.tenant_id, refund_id=row.refund_id,
                                   note=row.last_error or f"gateway refund {row.gateway_ref} failed")
            session.refresh(row)
        return False
    if status != "succeeded":
        return False
    moved = session.execute(update(PaymentRefund).where(
        PaymentRefund.tenant_id == row.tenant_id, PaymentRefund.id == row.id,
        PaymentRefund.status == PENDING).values(status=DONE, executed_at=utcnow(), **values)
        .returning(PaymentRefund.id).execution_options(synchronize_session=False)).first()
    if not moved:
        return False
    session.refresh(row)
    _payment_totals(session, row, refunded=row.amount_minor)
    if row.refund_id is not None:
        mark_refund_executed(session, tenant_id=row.tenant_id, refund_id=row.refund_id,
                             gateway_ref=row.gateway_ref or row.reference or str(row.id))
    else:
        session.execute(update(Payment).where(Payment.tenant_id == row.tenant_id,
                                              Payment.id == row.payment_id)
                        .values(status=PaymentStatus.refunded).execution_options(synchronize_session=False))
        order = session.get(Order, (row.tenant_id, row.order_id))
        postings.post_unapplied_returned(session, order=order, payment_refund_id=row.id,
                                         amount_minor=row.amount_minor, currency=row.currency)
    session.flush()
    return True


def _payment_totals(session: Session, row: PaymentRefund, *, refunded: int = 0, reserved: int = 0) -> None:
    """SQL increments on the payment (two refunds settling at once both count)."""
    session.execute(update(Payment).where(Payment.tenant_id == row.tenant_id, Payment.id == row.payment_id)
                    .values(refunded_minor=Payment.refunded_minor + refunded,
                            refund_reserved_minor=Payment.refund_reserved_minor + reserved)
                    .execution_options(synchronize_session=False))
    payment = session.identity_map.get(session.identity_key(Payment, (row.tenant_id, row.payment_id)))
    if payment is not None:
        session.expire(payment, ["refunded_minor", "refund_reserved_minor", "status"])


def return_payment(session: Session, *, payment: Payment, reason: RefundReason,
                   gateway: PaymentGateway | None = None) -> PaymentRefund:
    """Give back the whole of a payment that pays no order (paid twice, or after cancellation)."""
    return claim(session, payment=payment, amount_minor=payment.received_minor, key=f"auto:{payment.id}",
                 reason=reason, refund_id=None)


def captured_payment(session: Session, order: Order) -> Payment | None:
    return session.scalars(select(Payment).where(
        Payment.tenant_id == order.tenant_id, Payment.order_id == order.id,
        Payment.status == PaymentStatus.succeeded).order_by(Payment.created_at)).first()


def open_attempt(session: Session, tenant_id: uuid.UUID, refund_id: uuid.UUID) -> PaymentRefund | None:
    """The refund's attempt that is pending or succeeded (at most one: a new one follows a failure)."""
    return session.scalars(select(PaymentRefund).where(
        PaymentRefund.tenant_id == tenant_id, PaymentRefund.refund_id == refund_id,
        PaymentRefund.status != RefundExecutionStatus.failed)).first()


def execute_refund(session: Session, *, tenant_id: uuid.UUID, refund_id: uuid.UUID,
                   gateway: PaymentGateway | None = None, attempt: int = 1,
                   channel: RefundChannel | None = None) -> PaymentRefund:
    """Claim the money of an approved after-sales refund; the gateway is asked once this commits."""
    from app.payments.credit import credit_note  # noqa: PLC0415  (credit builds on orders, not on us)

    with elevated(session, Why.settle_payment, scope=system_scope(tenant_id)):
        existing = open_attempt(session, tenant_id, refund_id)
        if existing is not None:
            return existing
        refund = approved_refund(session, tenant_id=tenant_id, refund_id=refund_id)
        order = session.get(Order, (tenant_id, refund.order_id))
        payment = captured_payment(session, order)
        if payment is None:
            raise RefundNotPossible(f"order {order.id} has no captured payment to refund")
        if payment.gateway == "credit":
            return credit_note(session, payment=payment, refund=refund)
        key = f"refund:{refund_id}" if attempt == 1 else f"refund:{refund_id}:{attempt}"
        return claim(session, payment=payment, amount_minor=refund.amount_minor, key=key,
                     reason=RefundReason.order_refund, refund_id=refund_id, channel=channel)


def attempts_of(session: Session, tenant_id: uuid.UUID, refund_id: uuid.UUID) -> int:
    return int(session.scalar(select(func.count()).select_from(PaymentRefund).where(
        PaymentRefund.tenant_id == tenant_id, PaymentRefund.refund_id == refund_id)))


def attempts_of_payment(session: Session, tenant_id: uuid.UUID, payment_id: uuid.UUID) -> int:
    return int(session.scalar(select(func.count()).select_from(PaymentRefund).where(
        PaymentRefund.tenant_id == tenant_id, PaymentRefund.payment_id == payment_id,
        PaymentRefund.refund_id.is_(None))))


def refund_updated(session: Session, *, tenant_id: uuid.UUID, at_gateway: GatewayRefund) -> str:
    """A refund.updated / charge.refunded report from the gateway; an answer we lost is matched by key."""
    with elevated(session, Why.settle_payment, scope=system_scope(tenant_id)):
        row = session.scalars(select(PaymentRefund).where(
            PaymentRefund.tenant_id == tenant_id, PaymentRefund.gateway_ref == at_gateway.id)).one_or_none()
        key = (at_gateway.metadata or {}).get("idempotency_key")
        if row is None and key:
            row = _by_key(session, tenant_id, key)
            if row is not None and row.gateway_ref is None:
                return record_answer(session, tenant_id=tenant_id, payment_refund_id=row.id,
                                     at_gateway=at_gateway)
        if row is None:
            return "unknown_refund"
        return "settled" if settle(session, row=row, status=at_gateway.status) else "unchanged"

