"""Money moved outside the app, reported by webhooks: the order, the payment and the journal follow.

- A refund made at the gateway (dashboard, support) that we never asked for becomes a system
  refund of the order (claimed like any other), executed when the gateway says it succeeded.
- A refund that succeeded and later failed (`refund.updated`): the money is back with us; the
  order stops counting it and finance acts again from the refund desk.
- A dispute withdraws the funds at once (held), a won dispute returns them, a lost one is money
  out: the order counts it as refunded.
- A canceled PaymentIntent closes its payment: paying again makes a new intent.
Every step is idempotent: the webhook may arrive twice, late or out of order; refunds are always
re-listed from the gateway by PaymentIntent, never read from a Charge (API 2022-11-15+).
"""

import uuid

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from app.db import utcnow, uuid7
from app.finance import postings
from app.orders import locks
from app.orders.models import Order
from app.orders.outside_refunds import mark_refund_bounced, record_gateway_refund
from app.orders.transitions import REFUNDABLE
from app.payments import refunds
from app.payments.gateway import GatewayRefund
from app.payments.models import (
    DisputeStatus,
    Payment,
    PaymentDispute,
    PaymentRefund,
    PaymentStatus,
    RefundChannel,
    RefundExecutionStatus,
    RefundReason,
    UnappliedReceipt,
)
from app.tenancy.elevation import Why, elevated
from app.tenancy.scope import system_scope

MOVED = ("pending", "succeeded")  # statuses in which the money has left (or is leaving) the balance
GONE = ("failed", "canceled")


def reconcile_refunds(session: Session, *, tenant_id: uuid.UUID, payment: Payment,
                      at_gateway: list[GatewayRefund]) -> str:
    """Bring every refund the gateway lists for the payment into our books; oldest first."""
    outcomes = [reconcile_refund(session, tenant_id=tenant_id, payment=payment, at_gateway=refund)
                for refund in reversed(at_gateway)]
    return "settled" if any(o in ("settled", "booked", "bounced") for o in outcomes) else "unchanged"


def reconcile_refund(session: Session, *, tenant_id: uuid.UUID, payment: Payment,
                     at_gateway: GatewayRefund) -> str:
    with elevated(session, Why.settle_payment, scope=system_scope(tenant_id)):
        locks.lock_order(session, tenant_id, payment.order_id)  # the order row first, as everywhere
        row = session.scalars(select(PaymentRefund).where(
            PaymentRefund.tenant_id == tenant_id, PaymentRefund.gateway_ref == at_gateway.id)
            .execution_options(populate_existing=True)).one_or_none()
        if row is not None and row.status is RefundExecutionStatus.succeeded and at_gateway.status in GONE:
            return _bounce(session, row)
        outcome = refunds.refund_updated(session, tenant_id=tenant_id, at_gateway=at_gateway)
        if outcome != "unknown_refund":
            return outcome
        return book_outside(session, payment=payment, gateway_ref=at_gateway.id, status=at_gateway.status,
                            amount_minor=at_gateway.amount_minor, key=f"outside:{at_gateway.id}",
                            reason=RefundReason.outside)


def book_outside(session: Session, *, payment: Payment, gateway_ref: str, status: str, amount_minor: int,
                 key: str, reason: RefundReason) -> str:
    """Money that left at the gateway without our asking: an attempt row, and the order follows."""
    tenant_id = payment.tenant_id
    if session.scalars(select(PaymentRefund.id).where(
            PaymentRefund.tenant_id == tenant_id, PaymentRefund.idempotency_key == key)).first():
        return "unchanged"
    if status in GONE:
        return "ignored"  # it never moved money
    order = session.get(Order, (tenant_id, payment.order_id))
    receipt = session.scalars(select(UnappliedReceipt).where(
        UnappliedReceipt.tenant_id == tenant_id, UnappliedReceipt.payment_id == payment.id)).first()
    refund_id = None
    if receipt is not None:  # the payment paid no order: the gateway returned unapplied money
        from app.payments.unapplied import _claim  # noqa: PLC0415  (unapplied builds on us via retail)

        _claim(session, receipt, returned=min(amount_minor, receipt.open_minor))
    elif order.status in REFUNDABLE:
        refund = record_gateway_refund(session, tenant_id=tenant_id, order_id=order.id,
                                       amount_minor=amount_minor, note=f"{reason.value} {gateway_ref}")
        refund_id = refund.id if refund else None
    reserved = session.execute(
        update(Payment).where(Payment.tenant_id == tenant_id, Payment.id == payment.id,
                              Payment.refund_reserved_minor + amount_minor <= Payment.received_minor)
        .values(refund_reserved_minor=Payment.refund_reserved_minor + amount_minor)
        .returning(Payment.id).execution_options(synchronize_session=False)).first()
    if reserved is None:
        # Our own pending claims and this refund together exceed the payment: theirs will fail at
        # the gateway; this one has happened. The event errors and waits in the sweep for finance.
        raise refunds.RefundNotPossible(f"payment {payment.id}: {amount_minor} refunded outside exceeds it")
    row = PaymentRefund(tenant_id=tenant_id, id=uuid7(), payment_id=payment.id, order_id=payment.order_id,
                        refund_id=refund_id, reason=reason, idempotency_key=key, gateway_ref=gateway_ref,
                        amount_minor=amount_minor, currency=payment.currency,
                        status=RefundExecutionStatus.pending, channel=RefundChannel.gateway, attempts=0,
                        owner_path=payment.owner_path, seller_path=payment.seller_path,
                        buyer_consumer_id=payment.buyer_consumer_id)
    session.add(row)
    session.flush()
    if refund_id is None and receipt is None:
        # Neither an order refund nor a receipt (e.g. a cancelled order): book it as money returned.
        postings.post_unapplied_receipt(session, order=order, payment_id=payment.id,
                                        amount_minor=amount_minor, currency=payment.currency,
                                        reason=reason.value)
    refunds.settle(session, row=row, status=status)
    return "booked"


def _bounce(session: Session, row: PaymentRefund) -> str:
    """succeeded → failed at the gateway: the money is back in our balance, not with the customer."""
    moved = session.execute(update(PaymentRefund).where(
        PaymentRefund.tenant_id == row.tenant_id, PaymentRefund.id == row.id,
        PaymentRefund.status == RefundExecutionStatus.succeeded)
        .values(status=RefundExecutionStatus.failed, last_error="failed after it succeeded")
        .returning(PaymentRefund.id).execution_options(synchronize_session=False)).first()
    if moved is None:
        return "unchanged"
    session.execute(update(Payment).where(Payment.tenant_id == row.tenant_id, Payment.id == row.payment_id)
                    .values(refunded_minor=Payment.refunded_minor - row.amount_minor,
                            refund_reserved_minor=Payment.refund_reserved_minor - row.amount_minor)
                    .execution_options(synchronize_session=False))
    if row.refund_id is not None:
        mark_refund_bounced(session, tenant_id=row.tenant_id, refund_id=row.refund_id,
                            note=f"gateway refund {row.gateway_ref} failed after it succeeded")
    else:
        order = session.get(Order, (row.tenant_id, row.order_id))
        session.execute(update(UnappliedReceipt).where(
            UnappliedReceipt.tenant_id == row.tenant_id, UnappliedReceipt.payment_id == row.payment_id,
            UnappliedReceipt.returned_minor >= row.amount_minor)
            .values(returned_minor=UnappliedReceipt.returned_minor - row.amount_minor))
        postings.post_unapplied_receipt(session, order=order, payment_id=row.id,
                                        amount_minor=row.amount_minor, currency=row.currency,
                                        reason="return failed")
    session.expire_all()
    return "bounced"


def dispute_opened(session: Session, *, payment: Payment, dispute: dict) -> PaymentDispute:
    """The gateway withdrew the disputed amount: held until the dispute closes (once per dispute)."""
    locks.lock_order(session, payment.tenant_id, payment.order_id)
    found = session.scalars(select(PaymentDispute).where(
        PaymentDispute.tenant_id == payment.tenant_id, PaymentDispute.gateway_ref == dispute["id"])).first()
    if found is not None:
        return found
    order = session.get(Order, (payment.tenant_id, payment.order_id))
    row = PaymentDispute(tenant_id=payment.tenant_id, id=uuid7(), payment_id=payment.id, order_id=order.id,
                         gateway_ref=dispute["id"], amount_minor=int(dispute["amount"]),
                         currency=payment.currency, status=DisputeStatus.open,
                         reason=(dispute.get("reason") or "")[:100] or None, owner_path=payment.owner_path,
                         seller_path=payment.seller_path, buyer_consumer_id=payment.buyer_consumer_id)
    session.add(row)
    session.flush()
    postings.post_dispute(session, order=order, dispute_ref=row.gateway_ref, step="opened",
                          amount_minor=row.amount_minor)
    return row


def dispute_closed(session: Session, *, payment: Payment, dispute: dict) -> str:
    """won: the funds come back; lost: they are gone and the order counts them as refunded."""
    row = dispute_opened(session, payment=payment, dispute=dispute)
    status = DisputeStatus.won if dispute.get("status") in ("won", "warning_closed") else DisputeStatus.lost
    moved = session.execute(update(PaymentDispute).where(
        PaymentDispute.tenant_id == row.tenant_id, PaymentDispute.id == row.id,
        PaymentDispute.status == DisputeStatus.open).values(status=status, closed_at=utcnow())
        .returning(PaymentDispute.id).execution_options(synchronize_session=False)).first()
    if moved is None:
        return "unchanged"
    order = session.get(Order, (row.tenant_id, row.order_id))
    postings.post_dispute(session, order=order, dispute_ref=row.gateway_ref, step=status.value,
                          amount_minor=row.amount_minor)
    if status is DisputeStatus.lost:
        book_outside(session, payment=payment, gateway_ref=row.gateway_ref, status="succeeded",
                     amount_minor=row.amount_minor, key=f"dispute:{row.gateway_ref}",
                     reason=RefundReason.dispute_lost)
    session.expire_all()
    return f"dispute_{status.value}"


def payment_canceled(session: Session, *, payment: Payment) -> str:
    """The intent can no longer be paid: close the open payment; paying again starts a new intent."""
    moved = session.execute(update(Payment).where(
        Payment.tenant_id == payment.tenant_id, Payment.id == payment.id,
        Payment.status.in_((PaymentStatus.pending, PaymentStatus.failed)))
        .values(status=PaymentStatus.canceled, failure_message="canceled at the gateway")
        .returning(Payment.id).execution_options(synchronize_session=False)).first()
    return "canceled" if moved else "unchanged"
