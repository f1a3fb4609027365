"""What operators must see, counted: Prometheus metrics (request latency per route, orders placed,
domain events, task timings and failures, webhook outcomes, operational events) and the
process-local counters that /readyz shows. `app.platform.metrics_api` serves them at /metrics.

Each gunicorn or Celery process counts its own; see metrics_api for multiprocess mode.
"""

import threading
import time
from collections import Counter as Tally

from celery import signals
from prometheus_client import Counter, Histogram
from sqlalchemy.orm import Session

from app.db import after_commit

_lock = threading.Lock()
_counters: Tally[str] = Tally()


def increment(name: str, by: int = 1) -> None:
    """An operational event (failed broker publish, dead letter, ...): /readyz and Prometheus."""
    with _lock:
        _counters[name] += by
    PROCESS_EVENTS.labels(name).inc(by)


def snapshot() -> dict[str, int]:
    with _lock:
        return dict(_counters)


LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)

REQUEST_SECONDS = Histogram(
    "tiermall_http_request_duration_seconds", "Time to answer a request, by route template",
    ["method", "route", "status"], buckets=LATENCY_BUCKETS)
DOMAIN_EVENTS = Counter(
    "tiermall_domain_events_total", "Domain events committed to the outbox, by type", ["type"])
ORDERS_PLACED = Counter(
    "tiermall_orders_placed_total", "Orders placed (committed), by flow", ["flow"])
TASK_SECONDS = Histogram(
    "tiermall_task_duration_seconds", "Celery task run time, by task and final state",
    ["task", "state"], buckets=LATENCY_BUCKETS)
TASK_FAILURES = Counter("tiermall_task_failures_total", "Celery tasks that raised, by task", ["task"])
WEBHOOK_DELIVERIES = Counter(
    "tiermall_webhook_deliveries_total", "Gateway webhook deliveries received, by result",
    ["provider", "result"])
WEBHOOK_OUTCOMES = Counter(
    "tiermall_webhook_outcomes_total", "Gateway webhook events processed (committed), by outcome",
    ["provider", "type", "outcome"])
PROCESS_EVENTS = Counter(
    "tiermall_process_events_total", "Operational events (failed broker publishes, dead letters, ...)",
    ["event"])


def observe_request(method: str, route: str, status: int, seconds: float) -> None:
    REQUEST_SECONDS.labels(method, route, str(status)).observe(seconds)


def count_committed_event(session: Session, event_type: str, payload: dict) -> None:
    """Count a domain event once its transaction commits (a rolled back one never happened)."""

    def count() -> None:
        DOMAIN_EVENTS.labels(event_type).inc()
        if event_type == "order.placed":
            ORDERS_PLACED.labels(str(payload.get("flow", "unknown"))).inc()

    after_commit(session, count)


def count_webhook_outcome(session: Session, *, provider: str, event_type: str, outcome: str) -> None:
    after_commit(session, lambda: WEBHOOK_OUTCOMES.labels(provider, event_type, outcome).inc())


# --- Celery task timings, through Celery's signals (worker processes and eager runs alike) ---

_started: dict[str, float] = {}


@signals.task_prerun.connect(weak=False)
def _task_started(task_id=None, **_):
    if task_id:
        _started[task_id] = time.perf_counter()


@signals.task_postrun.connect(weak=False)
def _task_finished(task_id=None, task=None, state=None, **_):
    started = _started.pop(task_id, None) if task_id else None
    if started is not None and task is not None:
        TASK_SECONDS.labels(task.name, state or "UNKNOWN").observe(time.perf_counter() - started)


@signals.task_failure.connect(weak=False)
def _task_failed(sender=None, **_):
    TASK_FAILURES.labels(getattr(sender, "name", "unknown")).inc()


