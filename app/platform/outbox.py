"""The transactional outbox: events written with the change, relayed to idempotent handlers."""

import logging
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import or_, select, update
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from app.db import after_commit, insert_loaded, insert_or_ignore, utcnow, uuid7
from app.platform import metrics
from app.platform.models import OutboxEvent, ProcessedEvent

log = logging.getLogger(__name__)

Handler = Callable[[Session, OutboxEvent], None]
# event type → [(receipt key, handler with its dependencies bound)]; set by app.bootstrap only
_handlers: dict[str, list[tuple[str, Handler]]] = {}

RELAY_BATCH = 200
MAX_ATTEMPTS = 10  # then the event is dead-lettered: finance and operators see it and retry it
BACKOFF_SECONDS = 5  # after the n-th failure an event waits 5 * 2**(n-1) s, at most BACKOFF_CAP
BACKOFF_CAP_SECONDS = 3600


def receipt_key(handler: Callable) -> str:
    """The name a handler's receipts are stored under in processed_events.

    A handler that moved to another module pins its old name with `@receipt(...)`: a new name
    would make the relay run it again for events it has already handled.
    """
    return getattr(handler, "receipt_key", f"{handler.__module__}.{handler.__qualname__}")


def receipt(key: str) -> Callable[[Callable], Callable]:
    """Pin the receipt key of a handler (see receipt_key)."""

    def pin(handler: Callable) -> Callable:
        handler.receipt_key = key
        return handler

    return pin


def wire(subscriptions: dict[str, list[tuple[str, Handler]]]) -> None:
    """Install the subscriptions (app.bootstrap builds them); replaces whatever was wired before."""
    _handlers.clear()
    for event_type, handlers in subscriptions.items():
        _handlers[event_type] = list(handlers)


def subscriptions() -> dict[str, list[str]]:
    """What is wired: event type → receipt keys, in call order."""
    return {event_type: [name for name, _ in handlers] for event_type, handlers in _handlers.items()}


def record_event(session: Session, *, tenant_id: uuid.UUID, owner_path: str, type: str,
                 subject_id: uuid.UUID | None = None, payload: dict | None = None) -> OutboxEvent:
    """Add an event to the outbox; the relay is enqueued only once the transaction commits."""
    event = OutboxEvent(tenant_id=tenant_id, id=uuid7(), owner_path=owner_path, type=type,
                        subject_id=subject_id, payload=payload or {}, relayed_at=None, attempts=0,
                        last_error=None, next_attempt_at=None, dead_at=None, created_at=utcnow())
    insert_loaded(session, OutboxEvent, [event])  # written now: every order event passes here
    relay_after_commit(session, tenant_id)
    metrics.count_committed_event(session, type, event.payload)
    return event


def relay_after_commit(session: Session, tenant_id: uuid.UUID) -> None:
    """Enqueue one relay of the tenant's outbox when this transaction commits (once per tenant)."""
    if not session.info.get("relay_enqueued_for", set()) & {tenant_id}:
        session.info.setdefault("relay_enqueued_for", set()).add(tenant_id)
        after_commit(session, lambda: _enqueue_relay(session, tenant_id))


def _enqueue_relay(session: Session, tenant_id: uuid.UUID) -> None:
    from app.platform.broker import publish  # noqa: PLC0415
    from app.platform.tasks import relay_outbox  # noqa: PLC0415

    session.info.get("relay_enqueued_for", set()).discard(tenant_id)
    countdown = _relays.countdown_for(tenant_id)
    if countdown is not None and publish(relay_outbox, str(tenant_id), what="outbox relay for tenant",
                                         countdown=countdown):
        _relays.published(tenant_id, countdown)


class RelayCoalescer:
    """At most two relay publishes per tenant per window (500 ms) in one process, not one per commit.

    A busy store commits an order event every few milliseconds; publishing a Celery task for each
    cost the web worker ~0.7 ms of CPU per order. The first commit of a quiet tenant publishes a
    relay at once; commits during the next `window` seconds publish one more relay, due at the
    window's end, and every later commit of that window rides on it. Each skipped commit is
    covered: its event is committed before the relay that is still due reads the outbox (a
    relay due at least `margin` seconds later; Celery never runs a task before its countdown).
    The eager default (tests, demo) relays inline: no coalescing there.
    """

    def __init__(self, window: float = 0.5, margin: float = 0.05):
        self.window, self.margin = window, margin
        self._due: dict[uuid.UUID, float] = {}  # tenant -> when its latest published relay runs

    def countdown_for(self, tenant_id: uuid.UUID) -> float | None:
        """0 to publish now, a delay to publish a relay due later, None when one already covers."""
        from app.extensions import celery as celery_app  # noqa: PLC0415

        if celery_app.conf.task_always_eager:
            return 0.0
        now = time.monotonic()
        due = self._due.get(tenant_id)
        if due is None or now >= due + self.window:  # quiet since its last relay: relay now
            return 0.0
        if due - now >= self.margin:  # the relay still due runs after this commit
            return None
        return max(self.window - (now - due), self.margin)  # one more, at the window's end

    def published(self, tenant_id: uuid.UUID, countdown: float) -> None:
        self._due[tenant_id] = time.monotonic() + countdown


_relays = RelayCoalescer()


def due(now: datetime):
    """Pending events whose next attempt is due (not relayed, not dead, not waiting a backoff)."""
    return (OutboxEvent.relayed_at.is_(None), OutboxEvent.dead_at.is_(None),
            or_(OutboxEvent.next_attempt_at.is_(None), OutboxEvent.next_attempt_at <= now))


@dataclass(frozen=True)
class Batch:
    fetched: int  # fewer than the limit: nothing more is due (or the rest is locked by another relay)
    relayed: int
    failed: int
    dead: int


def relay_batch(session: Session, *, tenant_id: uuid.UUID, limit: int = RELAY_BATCH,
                now: datetime | None = None) -> Batch:
    """Run handlers for up to `limit` due events, oldest first; each event in its own savepoint."""
    now = now or utcnow()
    events = session.scalars(
        select(OutboxEvent)
        .where(OutboxEvent.tenant_id == tenant_id, *due(now))
        .order_by(OutboxEvent.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    ).all()
    relayed: list[uuid.UUID] = []
    failed = dead = 0
    for event in events:
        handlers = _handlers.get(event.type, [])
        if not handlers:  # nobody listens: nothing to isolate in a savepoint
            relayed.append(event.id)
            continue
        try:
            with session.begin_nested():
                for name, handler in handlers:
                    if claim_receipt(session, event, name):
                        handler(session, event)
        except Exception as error:  # a failing handler must not block the others
            failed += 1
            dead += _record_failure(event, error, now)
            continue
        relayed.append(event.id)
    if relayed:  # one statement for the batch, not one UPDATE per event
        session.execute(update(OutboxEvent).where(OutboxEvent.tenant_id == tenant_id,
                                                  OutboxEvent.id.in_(relayed)).values(relayed_at=now))
    session.flush()
    return Batch(fetched=len(events), relayed=len(relayed), failed=failed, dead=dead)


def relay_pending(session: Session, *, tenant_id: uuid.UUID, now: datetime | None = None) -> int:
    """One batch of the tenant's due events; returns how many were relayed."""
    return relay_batch(session, tenant_id=tenant_id, now=now).relayed


def backoff(attempts: int) -> timedelta:
    """How long an event waits after its `attempts`-th failure."""
    return timedelta(seconds=min(BACKOFF_SECONDS * 2 ** (attempts - 1), BACKOFF_CAP_SECONDS))


def _record_failure(event: OutboxEvent, error: Exception, now: datetime) -> int:
    """Count the attempt; back off, or dead-letter after the last one. 1 when it died."""
    event.attempts += 1  # the row is locked by this relay (FOR UPDATE): no lost update
    event.last_error = describe(error)
    if event.attempts >= MAX_ATTEMPTS:
        event.dead_at, event.next_attempt_at = now, None
        metrics.increment("outbox_dead_lettered")
        log.error("outbox event %s (%s) dead-lettered after %d attempts: %s",
                  event.id, event.type, event.attempts, event.last_error)
        return 1
    event.next_attempt_at = now + backoff(event.attempts)
    metrics.increment("outbox_handler_failed")
    # a database error's text carries SQL parameters: its one line is logged, not its traceback
    log.warning("outbox event %s (%s) failed attempt %d, next at %s: %s", event.id, event.type,
                event.attempts, event.next_attempt_at.isoformat(), event.last_error,
                exc_info=None if isinstance(error, DBAPIError) else error)
    return 0


def describe(error: Exception) -> str:
    """The error as operators see it in the dead letters: its type and first line, no SQL parameters."""
    if isinstance(error, DBAPIError) and error.orig is not None:
        error = error.orig
    first_line = (str(error).splitlines() or [""])[0]
    return f"{type(error).__name__}: {first_line}"[:1000]


def claim_receipt(session: Session, event: OutboxEvent, handler: str) -> bool:
    """Insert the (event, handler) receipt; False when it was already handled."""
    result = session.execute(
        insert_or_ignore(session, ProcessedEvent)
        .values(tenant_id=event.tenant_id, event_id=event.id, handler=handler)
        .returning(ProcessedEvent.event_id)
    )
    return result.first() is not None
