"""Paying an order at the gateway (every flow): start a payment; what success or failure does."""

import logging
import uuid

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app.db import uuid7
from app.finance import postings
from app.orders.errors import AmountMismatch, IllegalTransition
from app.orders.models import Order, OrderFlow, OrderStatus
from app.orders.payment_hooks import mark_paid
from app.orders.queries import get_order
from app.payments import unapplied
from app.payments.errors import GatewayUnavailable, NotPayable
from app.payments.gateway import GatewayError, GatewayPayment, PaymentGateway, payment_idempotency_key
from app.payments.models import Payment, PaymentStatus, ReceiptReason, RefundReason
from app.tenancy.elevation import Why, elevated
from app.tenancy.permissions import Action, require
from app.tenancy.scope import Scope, system_scope

log = logging.getLogger(__name__)

OPEN = (PaymentStatus.pending, PaymentStatus.failed)


def start_payment(session: Session, scope: Scope, *, order_id: uuid.UUID,
                  gateway: PaymentGateway) -> Payment:
    """A PaymentIntent for my pending order (the open one again if it exists); the client confirms it.

    One open intent per order: parallel requests derive the same idempotency key (the order and
    its attempt number), so the gateway answers them all with one intent, and the partial unique
    index on open payments lets one row in; the others read it back.
    """
    require(scope, Action.pay_order)
    order = get_order(session, scope, order_id)
    if order.status is not OrderStatus.pending_payment:
        raise NotPayable(f"The order is {order.status.value}; only a pending order can be paid.")
    if order.flow is OrderFlow.retail and scope.consumer_id != order.buyer_consumer_id:
        raise NotPayable("Only the consumer who placed the order pays it.")
    with elevated(session, Why.settle_payment, scope=system_scope(order.tenant_id)):
        open_payment = _open_payment(session, order, gateway.name)
        if open_payment is not None:
            return open_payment
        # Count only closed attempts: an open one committed by a parallel request since the look-up
        # above must not move this request to the next key (it would make a second intent).
        attempt = session.scalar(select(func.count()).select_from(Payment).where(
            Payment.tenant_id == order.tenant_id, Payment.order_id == order.id,
            Payment.gateway == gateway.name, Payment.status.not_in(OPEN)))
        try:
            at_gateway = gateway.create_payment(
                amount_minor=order.total_minor, currency=order.currency, order_id=str(order.id),
                tenant_id=str(order.tenant_id),
                idempotency_key=payment_idempotency_key(order.tenant_id, f"{order.id}:{attempt}"))
        except GatewayError as error:
            raise GatewayUnavailable("The payment gateway did not answer; try again.") from error
        payment = Payment(tenant_id=order.tenant_id, id=uuid7(), order_id=order.id, gateway=gateway.name,
                          gateway_ref=at_gateway.id, status=PaymentStatus.pending,
                          amount_minor=order.total_minor, currency=order.currency,
                          client_secret=at_gateway.client_secret, owner_path=order.owner_path,
                          seller_path=order.seller_path, buyer_consumer_id=order.buyer_consumer_id)
        try:
            with session.begin_nested():
                session.add(payment)
                session.flush()
        except IntegrityError:
            open_payment = _open_payment(session, order, gateway.name)
            if open_payment is None:
                raise
            return open_payment
    return payment


def _open_payment(session: Session, order: Order, gateway_name: str) -> Payment | None:
    return session.scalars(select(Payment).where(
        Payment.tenant_id == order.tenant_id, Payment.order_id == order.id,
        Payment.gateway == gateway_name, Payment.status.in_(OPEN))
        .execution_options(populate_existing=True)).first()


def find_payment(session: Session, tenant_id: uuid.UUID, gateway: str, gateway_ref: str) -> Payment | None:
    return session.scalars(select(Payment).where(
        Payment.tenant_id == tenant_id, Payment.gateway == gateway,
        Payment.gateway_ref == gateway_ref)).one_or_none()


def _claim(session: Session, payment: Payment, status: PaymentStatus, **values) -> bool:
    """Move an open payment to `status`; False when someone (a duplicate delivery) already did."""
    moved = session.execute(
        update(Payment).where(Payment.tenant_id == payment.tenant_id, Payment.id == payment.id,
                              Payment.status.in_(OPEN))
        .values(status=status, **values).returning(Payment.id)).first()
    if moved:
        session.refresh(payment)
    return moved is not None


def payment_succeeded(session: Session, *, tenant_id: uuid.UUID, at_gateway: GatewayPayment,
                      gateway: PaymentGateway, confirmed_by: uuid.UUID | None = None,
                      reference: str | None = None) -> str:
    """The money arrived: pay the order, or flag a wrong amount, or return a duplicate or late payment."""
    with elevated(session, Why.settle_payment, scope=system_scope(tenant_id)):
        payment = find_payment(session, tenant_id, gateway.name, at_gateway.id)
        if payment is None:
            return "unknown_payment"
        order = session.get(Order, (tenant_id, payment.order_id))
        received = at_gateway.amount_received_minor or at_gateway.amount_minor
        matches = received == order.total_minor and at_gateway.currency.upper() == order.currency.upper()
        target = PaymentStatus.succeeded if matches else PaymentStatus.amount_mismatch
        if not _claim(session, payment, target, received_minor=received, charge_ref=at_gateway.latest_charge,
                      confirmed_by_id=confirmed_by, reference=reference or payment.reference):
            return "already_processed"
        _post_fees(session, payment=payment, order=order, gateway=gateway)
        if not matches:
            unapplied.receive(session, payment=payment, order=order, amount_minor=received,
                              reason=ReceiptReason.amount_mismatch, method=_method(gateway.name))
            return "amount_mismatch"
        try:
            with session.begin_nested():
                mark_paid(session, tenant_id=tenant_id, order_id=order.id, amount_minor=received,
                          payment_ref=payment.gateway_ref, method=_method(gateway.name))
            return "paid"
        except (IllegalTransition, AmountMismatch):
            session.refresh(order)
        reason = (RefundReason.order_cancelled if order.status is OrderStatus.cancelled
                  else RefundReason.duplicate_payment)
        receipt = unapplied.receive(session, payment=payment, order=order, amount_minor=received,
                                    reason=ReceiptReason(reason.value), method=_method(gateway.name))
        if gateway.name != "offline":
            # Card money paid twice or too late goes back at once; a bank transfer waits for
            # finance, who knows the account to return it to (or applies it to another order).
            unapplied.return_receipt_now(session, receipt=receipt, gateway=gateway)
        return reason.value


def payment_failed(session: Session, *, tenant_id: uuid.UUID, at_gateway: GatewayPayment,
                   gateway_name: str, message: str | None) -> str:
    """A failed attempt is recorded; the customer may retry on the same PaymentIntent."""
    with elevated(session, Why.settle_payment, scope=system_scope(tenant_id)):
        payment = find_payment(session, tenant_id, gateway_name, at_gateway.id)
        if payment is None:
            return "unknown_payment"
        moved = session.execute(
            update(Payment).where(Payment.tenant_id == tenant_id, Payment.id == payment.id,
                                  Payment.status == PaymentStatus.pending)
            .values(status=PaymentStatus.failed, failure_message=(message or "")[:500])
            .returning(Payment.id)).first()
        return "failed" if moved else "already_processed"


def _method(gateway_name: str) -> str:
    return "stripe" if gateway_name == "stripe" else "offline"


def _post_fees(session: Session, *, payment: Payment, order: Order, gateway: PaymentGateway) -> None:
    """The gateway's fee on this charge, from its balance transactions; a later sweep may retry."""
    if payment.charge_ref:
        post_fees_of(session, source=payment.charge_ref, order=order, gateway=gateway)


def post_fees_of(session: Session, *, source: str, order: Order, gateway: PaymentGateway) -> None:
    """Book the fees of a gateway object (a charge, a dispute), traced to its order and store.

    Reconciliation reports a fee this could not read (the gateway did not answer) as missing.
    """
    try:
        transactions = gateway.list_balance_transactions(source=source)
    except GatewayError:
        log.warning("could not read the fee of %s", source, exc_info=True)
        return
    for transaction in transactions:
        if transaction.fee_minor:
            postings.post_gateway_fee(session, tenant_id=order.tenant_id, owner_path=order.seller_path,
                                      transaction_id=transaction.id, fee_minor=transaction.fee_minor,
                                      currency=transaction.currency, order_id=order.id,
                                      org_id=order.seller_org_id)


def payments_for(session: Session, scope: Scope, *, order_id: uuid.UUID) -> list[dict]:
    """The payments of an order the scope sees (404 otherwise), oldest first; the client_secret
    (it completes the payment) only for the payer: the buying consumer, or the buying org."""
    order = get_order(session, scope, order_id)
    with elevated(session, Why.settle_payment, scope=system_scope(order.tenant_id)):
        payments = list(session.scalars(select(Payment).where(
            Payment.tenant_id == order.tenant_id, Payment.order_id == order.id).order_by(Payment.created_at)))
    payer = ((scope.consumer_id is not None and scope.consumer_id == order.buyer_consumer_id)
             or (scope.is_staff and order.buyer_org_id is not None and scope.org_id == order.buyer_org_id))
    rows = [{column.key: getattr(payment, column.key) for column in Payment.__table__.columns}
            for payment in payments]
    return [row if payer else {**row, "client_secret": None} for row in rows]
