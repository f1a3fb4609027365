"""Celery wired to the app, and the platform's tasks: relay the outbox, sweep it, trim it."""

import logging
import time
import uuid
from datetime import timedelta

from celery import Celery, Task
from flask import Flask, current_app
from sqlalchemy import delete, select, tuple_

from app.db import utcnow
from app.extensions import celery as celery_app
from app.extensions import db
from app.platform.models import OutboxEvent, ProcessedEvent
from app.platform.outbox import RELAY_BATCH, Batch, due, relay_batch
from app.tenancy.elevation import Why, enter_scope, kept_scope, run_as_system
from app.tenancy.scope import PLATFORM_SCOPE
from app.uow import unit_of_work

log = logging.getLogger(__name__)

RELAY_SECONDS = 10  # one tenant's relay after a commit: then the sweep takes over
SWEEP_SECONDS = 20  # below the 30 s beat interval, so sweeps do not pile up
RETENTION_BATCH = 5000
RETENTION_SECONDS = 60


def celery_init_app(app: Flask) -> Celery:
    class FlaskTask(Task):
        def __call__(self, *args, **kwargs):
            with kept_scope(), app.app_context():  # an eager task runs inside its caller's context
                try:
                    return self.run(*args, **kwargs)
                finally:
                    db.session.remove()

    celery_app.Task = FlaskTask
    celery_app.config_from_object(app.config["CELERY"])
    celery_app.set_default()
    app.extensions["celery"] = celery_app
    return celery_app


def _relay_one_batch(tenant_id: uuid.UUID) -> Batch:
    """One batch in its own transaction, so that each batch's progress is kept and its locks freed."""
    with unit_of_work() as session:
        run_as_system(session, tenant_id)
        return relay_batch(session, tenant_id=tenant_id)


@celery_app.task(name="app.platform.tasks.relay_outbox")
def relay_outbox(tenant_id: str) -> int:
    """Hand one tenant's due events to their handlers, batch after batch; returns how many were relayed."""
    deadline = time.monotonic() + RELAY_SECONDS
    relayed = 0
    while True:
        batch = _relay_one_batch(uuid.UUID(tenant_id))
        relayed += batch.relayed
        if batch.fetched < RELAY_BATCH or time.monotonic() > deadline:
            return relayed


def tenants_with_due_events() -> list[uuid.UUID]:
    with unit_of_work() as session:
        enter_scope(session, Why.sweep_tenants, scope=PLATFORM_SCOPE)
        return list(session.scalars(select(OutboxEvent.tenant_id).where(*due(utcnow())).distinct()))


@celery_app.task(name="app.platform.tasks.relay_all_outboxes")
def relay_all_outboxes() -> int:
    """The sweep behind every lost enqueue: round after round, a batch per tenant, until nothing is due.

    Bounded by SWEEP_SECONDS; whatever is left then is taken by the next sweep.
    """
    deadline = time.monotonic() + SWEEP_SECONDS
    relayed = 0
    while time.monotonic() < deadline:
        progressed = False
        for tenant_id in tenants_with_due_events():
            batch = _relay_one_batch(tenant_id)
            relayed += batch.relayed
            progressed = progressed or batch.fetched > 0
            if time.monotonic() > deadline:
                break
        if not progressed:  # nothing due, or what is due is locked by a relay running right now
            break
    return relayed


@celery_app.task(name="app.platform.tasks.purge_relayed_events")
def purge_relayed_events() -> int:
    """Delete relayed events older than OUTBOX_RETENTION_DAYS with their receipts, set-based, in batches.

    Dead and pending events stay whatever their age. Returns how many events were deleted.
    """
    cutoff = utcnow() - timedelta(days=current_app.config["OUTBOX_RETENTION_DAYS"])
    deadline = time.monotonic() + RETENTION_SECONDS
    deleted = 0
    while time.monotonic() < deadline:
        doomed = (select(OutboxEvent.tenant_id, OutboxEvent.id)
                  .where(OutboxEvent.relayed_at < cutoff)
                  .order_by(OutboxEvent.relayed_at, OutboxEvent.id).limit(RETENTION_BATCH))
        with unit_of_work() as session:
            enter_scope(session, Why.outbox_upkeep, scope=PLATFORM_SCOPE)
            session.execute(delete(ProcessedEvent).where(
                tuple_(ProcessedEvent.tenant_id, ProcessedEvent.event_id).in_(doomed)))
            count = session.execute(delete(OutboxEvent).where(
                tuple_(OutboxEvent.tenant_id, OutboxEvent.id).in_(doomed))).rowcount
        deleted += count
        if count < RETENTION_BATCH:
            break
    if deleted:
        log.info("outbox retention: deleted %d relayed events older than %s", deleted, cutoff.isoformat())
    return deleted
