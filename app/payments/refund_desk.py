"""Finance's refund desk: attempts that need a person (failed, or offline and unconfirmed), and
what finance does with them: confirm a bank transfer, try the gateway again, pay back offline."""

import uuid

from sqlalchemy import exists, or_, select
from sqlalchemy.orm import Session, aliased

from app.errors import NotFound
from app.orders.models import Order
from app.orders.payment_hooks import mark_refund_retried
from app.orders.queries import order_visible
from app.paging import CursorKey, Page, paginate
from app.payments import refunds
from app.payments.credit import _require_seller_org
from app.payments.errors import RefundNotActionable
from app.payments.models import Payment, PaymentRefund, RefundChannel, RefundExecutionStatus
from app.tenancy.elevation import Why, elevated
from app.tenancy.permissions import Action, require
from app.tenancy.scope import Scope, system_scope

NEEDS_A_PERSON = "needs_action"


def list_attempts(session: Session, scope: Scope, *, status: str | None = NEEDS_A_PERSON,
                  channel: RefundChannel | None = None, only: RefundExecutionStatus | None = None,
                  limit: int = 50, cursor: CursorKey | None = None) -> Page[PaymentRefund]:
    """Refund attempts on orders I sell (or see), newest first; by default those waiting for a
    person (`only` keeps one status of those). Every filter is in the query: pages are full."""
    require(scope, Action.view_finance)
    query = select(PaymentRefund).where(order_visible(PaymentRefund, scope))
    if status == NEEDS_A_PERSON:
        failed = PaymentRefund.status == RefundExecutionStatus.failed
        query = query.where(
            (failed & ~_made_again())  # a failed attempt that was made again is history, not work
            | ((PaymentRefund.status == RefundExecutionStatus.pending)
               & (PaymentRefund.channel == RefundChannel.offline)))
        if only is not None:
            query = query.where(PaymentRefund.status == only)
    elif status is not None:
        query = query.where(PaymentRefund.status == RefundExecutionStatus(status))
    if channel is not None:
        query = query.where(PaymentRefund.channel == channel)
    return paginate(session, query, PaymentRefund, limit=limit, cursor=cursor)


def _made_again():
    """EXISTS a newer attempt for the same money (same refund, or same payment when the attempt
    has no refund). It is on the same order, so the caller sees it wherever it sees this one."""
    newer = aliased(PaymentRefund)
    same_money = or_(
        (PaymentRefund.refund_id.is_not(None)) & (newer.refund_id == PaymentRefund.refund_id),
        (PaymentRefund.refund_id.is_(None)) & (newer.payment_id == PaymentRefund.payment_id))
    return exists().where(newer.tenant_id == PaymentRefund.tenant_id, newer.id != PaymentRefund.id,
                          newer.created_at >= PaymentRefund.created_at, same_money)


def _superseded(session: Session, row: PaymentRefund) -> bool:
    """A failed attempt after which a newer attempt for the same money was made (`_made_again`)."""
    if row.status is not RefundExecutionStatus.failed:
        return False
    with elevated(session, Why.settle_payment, scope=system_scope(row.tenant_id)):
        return session.scalar(select(_made_again()).where(
            PaymentRefund.tenant_id == row.tenant_id, PaymentRefund.id == row.id))


def _attempt(session: Session, scope: Scope, payment_refund_id: uuid.UUID) -> tuple[PaymentRefund, Order]:
    require(scope, Action.confirm_payment)  # before any look-up: a caller without it gets 403, not 404
    row = session.scalars(select(PaymentRefund).where(
        order_visible(PaymentRefund, scope), PaymentRefund.id == payment_refund_id)).one_or_none()
    if row is None:
        raise NotFound("No refund attempt with that id.")
    with elevated(session, Why.settle_payment, scope=system_scope(row.tenant_id)):
        order = session.get(Order, (row.tenant_id, row.order_id))
    _require_seller_org(scope, order.seller_org_id)
    return row, order


def confirm_offline(session: Session, scope: Scope, *, payment_refund_id: uuid.UUID,
                    reference: str) -> PaymentRefund:
    """The seller's finance paid the money back by bank transfer: the refund is done, and journaled now."""
    require(scope, Action.confirm_payment)
    row, _ = _attempt(session, scope, payment_refund_id)
    if row.channel is not RefundChannel.offline or row.status is not RefundExecutionStatus.pending:
        raise RefundNotActionable(f"This attempt is {row.channel.value} and {row.status.value}; "
                                  "only a pending offline refund is confirmed.")
    with elevated(session, Why.settle_payment, scope=system_scope(row.tenant_id)):
        if not refunds.settle(session, row=row, status="succeeded", reference=reference,
                              confirmed_by_id=scope.actor_id):
            raise RefundNotActionable("Someone else confirmed this refund first.")
        session.refresh(row)
    return row


def retry(session: Session, scope: Scope, *, payment_refund_id: uuid.UUID,
          channel: RefundChannel) -> PaymentRefund:
    """A failed attempt is made again, through the gateway or as a bank transfer finance confirms."""
    require(scope, Action.confirm_payment)
    row, _ = _attempt(session, scope, payment_refund_id)
    if row.status is not RefundExecutionStatus.failed or _superseded(session, row):
        raise RefundNotActionable("Only the latest failed attempt is retried.")
    if channel is RefundChannel.credit:
        raise RefundNotActionable("A refund is retried through the gateway or offline.")
    with elevated(session, Why.settle_payment, scope=system_scope(row.tenant_id)):
        if row.refund_id is None:  # an automatic return of an unapplied payment
            payment = session.get(Payment, (row.tenant_id, row.payment_id))
            number = refunds.attempts_of_payment(session, row.tenant_id, row.payment_id) + 1
            return refunds.claim(session, payment=payment, amount_minor=row.amount_minor,
                                 key=f"{row.idempotency_key.split(':#')[0]}:#{number}", reason=row.reason,
                                 refund_id=None, channel=channel)
        mark_refund_retried(session, tenant_id=row.tenant_id, refund_id=row.refund_id,
                            actor_id=scope.actor_id, note=f"retry {channel.value}")
        number = refunds.attempts_of(session, row.tenant_id, row.refund_id) + 1
        return refunds.execute_refund(session, tenant_id=row.tenant_id, refund_id=row.refund_id,
                                      attempt=number, channel=channel)
