"""Celery tasks of payments: process a stored webhook event; sweep what a lost enqueue left behind."""

import logging
import uuid
from datetime import timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from app.db import after_commit, utcnow
from app.extensions import celery as celery_app
from app.extensions import db
from app.payments import refunds, webhooks
from app.payments.gateway import GatewayError, PaymentGateway, current_gateway
from app.payments.models import PaymentRefund, RefundChannel, RefundExecutionStatus, WebhookEvent
from app.platform.broker import publish
from app.tenancy.elevation import Why, enter_scope
from app.tenancy.models import Tenant
from app.tenancy.scope import PLATFORM_SCOPE, system_scope
from app.uow import is_lock_conflict, unit_of_work

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 10


@celery_app.task(name="app.payments.tasks.process_webhook_event")
def process_webhook_event(event_id: str) -> str | None:
    """Handle one stored event in one transaction; on failure record the error for the sweep."""
    try:
        with unit_of_work() as session:
            return webhooks.process(session, event_id=event_id, gateway=current_gateway())
    except Exception as error:
        log.exception("webhook event %s failed", event_id)
        with unit_of_work() as session:
            enter_scope(session, Why.webhook, scope=PLATFORM_SCOPE)
            session.execute(update(WebhookEvent).where(WebhookEvent.id == event_id).values(
                attempts=WebhookEvent.attempts + 1, last_error=repr(error)[:2000]))
        return "error"


@celery_app.task(name="app.payments.tasks.sweep_webhook_events")
def sweep_webhook_events() -> int:
    """Process stored events that nobody processed (a broker outage, a crash, an earlier error)."""
    with unit_of_work() as session:
        enter_scope(session, Why.webhook, scope=PLATFORM_SCOPE)
        pending = session.scalars(select(WebhookEvent.id).where(
            WebhookEvent.processed_at.is_(None), WebhookEvent.attempts < MAX_ATTEMPTS)
            .order_by(WebhookEvent.received_at).limit(500)).all()
    for event_id in pending:
        process_webhook_event.run(event_id)
    return len(pending)


# --- refunds: the claim is committed; now ask the gateway, then record its answer ---------------

def run_refund_attempt(session: Session, *, tenant_id: uuid.UUID, payment_refund_id: uuid.UUID,
                       gateway: PaymentGateway, look_up_first: bool = False) -> str:
    """Send one claimed refund (owns its transactions, like a task): read, commit, call, record, commit.

    `look_up_first` (the recovery sweep): an earlier call may have reached the gateway and lost
    its answer; find that refund by its idempotency key rather than asking again.
    """
    call = refunds.call_for(session, tenant_id=tenant_id, payment_refund_id=payment_refund_id)
    session.commit()  # nothing stays open while the gateway thinks
    if call is None:
        return "nothing_to_send"
    if call.gateway != gateway.name:
        return _record(session, refunds.record_no_answer, tenant_id=tenant_id,
                       payment_refund_id=payment_refund_id, error=f"no {call.gateway} gateway here")
    try:
        found = (gateway.find_refund(payment_id=call.payment_id,
                                     idempotency_key=call.metadata["idempotency_key"])
                 if look_up_first else None)
        at_gateway = found or gateway.refund(payment_id=call.payment_id, amount_minor=call.amount_minor,
                                             idempotency_key=call.idempotency_key, metadata=call.metadata)
    except GatewayError as error:
        log.warning("refund %s: the gateway did not answer", payment_refund_id, exc_info=True)
        return _record(session, refunds.record_no_answer, tenant_id=tenant_id,
                       payment_refund_id=payment_refund_id, error=str(error))
    return _record(session, refunds.record_answer, tenant_id=tenant_id, payment_refund_id=payment_refund_id,
                   at_gateway=at_gateway)


def _record(session: Session, service, **kwargs) -> str:
    """Record and commit; a lost lock race is run again (recording is idempotent)."""
    for attempt in range(4):
        try:
            outcome = service(session, **kwargs)
            session.commit()
            return outcome
        except Exception as error:
            session.rollback()
            if not is_lock_conflict(error) or attempt == 3:
                raise
    raise AssertionError("unreachable")


def send_pending_refunds(session: Session, *, tenant_id: uuid.UUID, gateway: PaymentGateway,
                         older_than: timedelta = timedelta(0)) -> dict[str, int]:
    """Every claimed gateway refund without an answer: looked up first, sent again if not found."""
    enter_scope(session, Why.task, scope=system_scope(tenant_id))
    ids = session.scalars(select(PaymentRefund.id).where(
        PaymentRefund.tenant_id == tenant_id, PaymentRefund.status == RefundExecutionStatus.pending,
        PaymentRefund.channel == RefundChannel.gateway, PaymentRefund.gateway_ref.is_(None),
        PaymentRefund.created_at <= utcnow() - older_than).order_by(PaymentRefund.created_at)).all()
    session.commit()
    outcomes: dict[str, int] = {}
    for row_id in ids:
        outcome = run_refund_attempt(session, tenant_id=tenant_id, payment_refund_id=row_id,
                                     gateway=gateway, look_up_first=True)
        outcomes[outcome] = outcomes.get(outcome, 0) + 1
    return outcomes


@celery_app.task(name="app.payments.tasks.send_refund")
def send_refund(tenant_id: str, payment_refund_id: str) -> str:
    """Ask the gateway for one claimed refund (enqueued when the claim commits)."""
    enter_scope(db.session, Why.task, scope=system_scope(uuid.UUID(tenant_id)))
    return run_refund_attempt(db.session, tenant_id=uuid.UUID(tenant_id),
                              payment_refund_id=uuid.UUID(payment_refund_id), gateway=current_gateway())


@celery_app.task(name="app.payments.tasks.recover_refunds")
def recover_refunds() -> int:
    """Refunds claimed but not answered (a crash, a lost enqueue, a gateway outage), every tenant."""
    enter_scope(db.session, Why.sweep_tenants, scope=PLATFORM_SCOPE)
    tenant_ids = db.session.scalars(select(Tenant.id)).all()
    db.session.commit()
    return sum(sum(send_pending_refunds(db.session, tenant_id=tenant_id, gateway=current_gateway(),
                                        older_than=timedelta(minutes=2)).values())
               for tenant_id in tenant_ids)


def enqueue_refund(tenant_id: str, payment_refund_id: str) -> None:
    """Called after the claim committed; a lost enqueue is picked up by recover_refunds."""
    publish(send_refund, tenant_id, payment_refund_id, what="refund")


def enqueue_processing(session, event_id: str) -> None:
    """Process once the stored event has committed; a lost enqueue is picked up by the sweep."""
    after_commit(session, lambda: publish(process_webhook_event, event_id, what="webhook event"))
