"""Celery tasks of payments: process a stored webhook event; sweep what a lost enqueue left behind."""

import logging

from sqlalchemy import select, update

from app.db import after_commit
from app.extensions import celery as celery_app
from app.payments import webhooks
from app.payments.gateway import current_gateway
from app.payments.models import WebhookEvent
from app.platform.broker import publish
from app.tenancy.elevation import Why, enter_scope
from app.tenancy.scope import PLATFORM_SCOPE
from app.uow import unit_of_work

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


def enqueue_processing(session, event_id: str) -> None:
    """Process once the stored event has committed; a lost enqueue is picked up by the sweep."""
    after_commit(session, lambda: publish(process_webhook_event, event_id, what="webhook event"))
