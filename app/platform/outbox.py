"""The transactional outbox: events written with the change, relayed to idempotent handlers."""

import logging
import uuid
from collections.abc import Callable
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.db import after_commit, insert_or_ignore
from app.platform.models import OutboxEvent, ProcessedEvent

log = logging.getLogger(__name__)

Handler = Callable[[Session, OutboxEvent], None]
_handlers: dict[str, list[tuple[str, Handler]]] = {}

RELAY_BATCH = 200
MAX_ATTEMPTS = 10


def subscribe(event_type: str) -> Callable[[Handler], Handler]:
    """Register a handler for an event type; its qualified name is its receipt key."""

    def register(handler: Handler) -> Handler:
        name = f"{handler.__module__}.{handler.__qualname__}"
        _handlers.setdefault(event_type, []).append((name, handler))
        return handler

    return register


def record_event(session: Session, *, tenant_id: uuid.UUID, owner_path: str, type: str,
                 subject_id: uuid.UUID | None = None, payload: dict | None = None) -> OutboxEvent:
    """Add an event to the outbox; the relay is enqueued only once the transaction commits."""
    event = OutboxEvent(tenant_id=tenant_id, owner_path=owner_path, type=type,
                        subject_id=subject_id, payload=payload or {})
    session.add(event)
    if not session.info.get("relay_enqueued_for", set()) & {tenant_id}:
        session.info.setdefault("relay_enqueued_for", set()).add(tenant_id)
        after_commit(session, lambda: _enqueue_relay(session, tenant_id))
    return event


def _enqueue_relay(session: Session, tenant_id: uuid.UUID) -> None:
    from app.platform.tasks import relay_outbox  # noqa: PLC0415

    session.info.get("relay_enqueued_for", set()).discard(tenant_id)
    try:
        relay_outbox.delay(str(tenant_id))
    except Exception:  # the broker is down: the periodic sweep relays it later
        log.warning("could not enqueue the outbox relay for tenant %s", tenant_id, exc_info=True)


def relay_pending(session: Session, *, tenant_id: uuid.UUID) -> int:
    """Run handlers for pending events, oldest first; each event in its own savepoint."""
    events = session.scalars(
        select(OutboxEvent)
        .where(OutboxEvent.tenant_id == tenant_id, OutboxEvent.relayed_at.is_(None),
               OutboxEvent.attempts < MAX_ATTEMPTS)
        .order_by(OutboxEvent.id)
        .limit(RELAY_BATCH)
        .with_for_update(skip_locked=True)
    ).all()
    for event in events:
        try:
            with session.begin_nested():
                for name, handler in _handlers.get(event.type, []):
                    if claim_receipt(session, event, name):
                        handler(session, event)
        except Exception as error:  # a failing handler must not block the others
            log.exception("handler failed for event %s", event.id)
            event.attempts += 1
            event.last_error = repr(error)[:2000]
            continue
        event.relayed_at = datetime.now(UTC)
    session.flush()
    return sum(1 for event in events if event.relayed_at is not None)


def claim_receipt(session: Session, event: OutboxEvent, handler: str) -> bool:
    """Insert the (event, handler) receipt; False when it was already handled."""
    result = session.execute(
        insert_or_ignore(session, ProcessedEvent)
        .values(tenant_id=event.tenant_id, event_id=event.id, handler=handler)
        .returning(ProcessedEvent.event_id)
    )
    return result.first() is not None
