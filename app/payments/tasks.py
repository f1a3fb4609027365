"""Celery tasks of payments: process a stored webhook event; sweep what a lost enqueue left behind."""

import logging

from sqlalchemy import select, update

from app.db import after_commit
from app.extensions import celery as celery_app
from app.extensions import db
from app.payments import webhooks
from app.payments.gateway import current_gateway
from app.payments.models import WebhookEvent
from app.tenancy.elevation import Why, enter_scope
from app.tenancy.scope import PLATFORM_SCOPE

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 10


@celery_app.task(name="app.payments.tasks.process_webhook_event")
def process_webhook_event(event_id: str) -> str | None:
    """Handle one stored event in one transaction; on failure record the error for the sweep."""
    try:
        outcome = webhooks.process(db.session, event_id=event_id, gateway=current_gateway())
        db.session.commit()
        return outcome
    except Exception as error:
        db.session.rollback()
        log.exception("webhook event %s failed", event_id)
        enter_scope(db.session, Why.webhook, scope=PLATFORM_SCOPE)
        db.session.execute(update(WebhookEvent).where(WebhookEvent.id == event_id).values(
            attempts=WebhookEvent.attempts + 1, last_error=repr(error)[:2000]))
        db.session.commit()
        return "error"


@celery_app.task(name="app.payments.tasks.sweep_webhook_events")
def sweep_webhook_events() -> int:
    """Process stored events that nobody processed (a broker outage, a crash, an earlier error)."""
    enter_scope(db.session, Why.webhook, scope=PLATFORM_SCOPE)
    pending = db.session.scalars(select(WebhookEvent.id).where(
        WebhookEvent.processed_at.is_(None), WebhookEvent.attempts < MAX_ATTEMPTS)
        .order_by(WebhookEvent.received_at).limit(500)).all()
    db.session.commit()
    for event_id in pending:
        process_webhook_event.run(event_id)
    return len(pending)


def enqueue_processing(session, event_id: str) -> None:
    """Process once the stored event has committed; a lost enqueue is picked up by the sweep."""

    def enqueue() -> None:
        try:
            process_webhook_event.delay(event_id)
        except Exception:
            log.warning("could not enqueue webhook event %s", event_id, exc_info=True)

    after_commit(session, enqueue)


celery_app.conf.beat_schedule["sweep-webhook-events"] = {
    "task": "app.payments.tasks.sweep_webhook_events", "schedule": 60.0}
