"""Unapplied receipts: money that arrived without a home, until finance applies or returns it.

A payment of the wrong amount, a second payment of a paid order, a payment or bank transfer
that arrives after the order was cancelled: each becomes one receipt (journaled into
unapplied_receipts, a liability), listed for the seller's finance. Finance applies it to a
pending order of the same buyer and seller, or returns it: through the gateway that took it, or
by bank transfer recorded with its reference. Card money paid twice or too late is returned at
once. applied_minor and returned_minor move only by conditional SQL increments, claimed before
any money moves, so two finance clicks cannot apply or return the same money twice.
"""

import uuid

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from app.db import uuid7
from app.finance import postings
from app.orders.models import Order, OrderStatus
from app.orders.payment_hooks import mark_paid
from app.orders.queries import get_order
from app.paging import CursorKey, Page, paginate
from app.payments.errors import NotSellerFinance, ReceiptDoesNotFit, ReceiptNotOpen
from app.payments.gateway import PaymentGateway
from app.payments.models import Payment, PaymentStatus, ReceiptReason, RefundReason, UnappliedReceipt
from app.tenancy.elevation import Why, elevated
from app.tenancy.filters import get_visible, scoped
from app.tenancy.permissions import Action, require
from app.tenancy.scope import Scope, system_scope


def receive(session: Session, *, payment: Payment, order: Order, amount_minor: int, reason: ReceiptReason,
            method: str) -> UnappliedReceipt:
    """Record (once per payment) and journal money that pays no order."""
    existing = session.scalars(select(UnappliedReceipt).where(
        UnappliedReceipt.tenant_id == payment.tenant_id, UnappliedReceipt.payment_id == payment.id)).first()
    if existing is not None:
        return existing
    receipt = UnappliedReceipt(
        tenant_id=payment.tenant_id, id=uuid7(), payment_id=payment.id, order_id=order.id, reason=reason,
        method=method, amount_minor=amount_minor, applied_minor=0, returned_minor=0,
        currency=payment.currency, owner_path=order.owner_path, seller_path=order.seller_path,
        buyer_consumer_id=order.buyer_consumer_id)
    session.add(receipt)
    session.flush()
    postings.post_unapplied_receipt(session, order=order, payment_id=payment.id, amount_minor=amount_minor,
                                    currency=payment.currency, reason=reason.value, method=method)
    return receipt


def _claim(session: Session, receipt: UnappliedReceipt, *, applied: int = 0, returned: int = 0) -> bool:
    """Take part of the open amount; False when someone else took it first."""
    amount = applied + returned
    claimed = session.execute(
        update(UnappliedReceipt)
        .where(UnappliedReceipt.tenant_id == receipt.tenant_id, UnappliedReceipt.id == receipt.id,
               UnappliedReceipt.applied_minor + UnappliedReceipt.returned_minor + amount
               <= UnappliedReceipt.amount_minor)
        .values(applied_minor=UnappliedReceipt.applied_minor + applied,
                returned_minor=UnappliedReceipt.returned_minor + returned)
        .returning(UnappliedReceipt.id)).first()
    session.refresh(receipt)
    return claimed is not None


def return_receipt_now(session: Session, *, receipt: UnappliedReceipt,
                       gateway: PaymentGateway | None = None) -> None:
    """Return what is open through the gateway that took it (one idempotency key per payment)."""
    from app.payments.refunds import claim  # noqa: PLC0415  (refunds builds on retail, which uses us)

    amount = receipt.open_minor
    if amount <= 0 or not _claim(session, receipt, returned=amount):
        raise ReceiptNotOpen("Nothing of this receipt is left to return.")
    payment = session.get(Payment, (receipt.tenant_id, receipt.payment_id))
    reason = (RefundReason.duplicate_payment if receipt.reason is ReceiptReason.duplicate_payment
              else RefundReason.order_cancelled)
    # Reserved on the payment and committed before the gateway is asked (after commit, by a task).
    claim(session, payment=payment, amount_minor=amount, key=f"auto:{receipt.payment_id}", reason=reason,
          refund_id=None)


def _require_finance(scope: Scope, receipt: UnappliedReceipt) -> None:
    """Money between the seller and its buyer is the seller's own business (like confirming payments)."""
    require(scope, Action.confirm_payment)
    if not (scope.is_staff and receipt.seller_path == scope.org_path):
        raise NotSellerFinance("Only the seller org's own staff handle its unapplied money.")


def list_receipts(session: Session, scope: Scope, *, open_only: bool = True, limit: int = 50,
                  cursor: CursorKey | None = None) -> Page[UnappliedReceipt]:
    """Receipts in my scope, oldest first (what waits longest on top)."""
    statement = scoped(UnappliedReceipt, scope)
    if open_only:
        statement = statement.where(UnappliedReceipt.applied_minor + UnappliedReceipt.returned_minor
                                    < UnappliedReceipt.amount_minor)
    return paginate(session, statement, UnappliedReceipt, limit=limit, cursor=cursor, newest_first=False)


def apply_receipt(session: Session, scope: Scope, *, receipt_id: uuid.UUID,
                  order_id: uuid.UUID) -> UnappliedReceipt:
    """Pay a pending order of the same buyer and seller with the receipt's money; the rest stays open."""
    require(scope, Action.confirm_payment)
    receipt = get_visible(session, UnappliedReceipt, scope, receipt_id)
    _require_finance(scope, receipt)
    target = get_order(session, scope, order_id)
    with elevated(session, Why.settle_payment, scope=system_scope(receipt.tenant_id)):
        source = session.get(Order, (receipt.tenant_id, receipt.order_id))
        same_buyer = (source.buyer_org_id, source.buyer_consumer_id) == (target.buyer_org_id,
                                                                           target.buyer_consumer_id)
        if not (same_buyer and source.seller_org_id == target.seller_org_id
                and target.currency == receipt.currency):
            raise ReceiptDoesNotFit("A receipt pays an order of the same buyer, seller and currency.")
        if target.status is not OrderStatus.pending_payment:
            raise ReceiptDoesNotFit(f"The order is {target.status.value}; only a pending order can be paid.")
        needed = target.total_minor
        if needed > receipt.open_minor or not _claim(session, receipt, applied=needed):
            raise ReceiptDoesNotFit(f"{receipt.open_minor} is open; the order needs {target.total_minor}.")
        session.execute(update(UnappliedReceipt).where(
            UnappliedReceipt.tenant_id == receipt.tenant_id, UnappliedReceipt.id == receipt.id)
            .values(applied_order_id=target.id))
        mark_paid(session, tenant_id=target.tenant_id, order_id=target.id, amount_minor=target.total_minor,
                  payment_ref=f"receipt:{receipt.id}", method=receipt.method)
        postings.post_unapplied_applied(session, order=target, receipt_id=receipt.id,
                                        amount_minor=target.total_minor, method=receipt.method)
        session.refresh(receipt)
    return receipt


def return_receipt(session: Session, scope: Scope, *, receipt_id: uuid.UUID, reference: str | None,
                   gateway: PaymentGateway) -> UnappliedReceipt:
    """Give the open amount back: through the gateway for card money, by bank (with its reference)."""
    require(scope, Action.confirm_payment)
    receipt = get_visible(session, UnappliedReceipt, scope, receipt_id)
    _require_finance(scope, receipt)
    with elevated(session, Why.settle_payment, scope=system_scope(receipt.tenant_id)):
        if receipt.method == "offline":
            if not reference:
                raise ReceiptDoesNotFit("A bank transfer back needs its bank reference.")
            amount = receipt.open_minor
            if amount <= 0 or not _claim(session, receipt, returned=amount):
                raise ReceiptNotOpen("Nothing of this receipt is left to return.")
            session.execute(update(UnappliedReceipt).where(
                UnappliedReceipt.tenant_id == receipt.tenant_id, UnappliedReceipt.id == receipt.id)
                .values(return_reference=reference))
            order = session.get(Order, (receipt.tenant_id, receipt.order_id))
            postings.post_unapplied_returned(session, order=order, payment_refund_id=receipt.id,
                                             amount_minor=amount, currency=receipt.currency, method="offline")
            session.execute(update(Payment).where(Payment.tenant_id == receipt.tenant_id,
                                                  Payment.id == receipt.payment_id)
                            .values(refunded_minor=Payment.refunded_minor + amount,
                                    status=PaymentStatus.refunded))
        else:
            return_receipt_now(session, receipt=receipt, gateway=gateway)
        session.refresh(receipt)
    return receipt
