"""Publishing a task from a request: one bounded attempt, one warning line, a counter, no retries.

The broker waits are bounded by the Celery settings in app/config.py (connect and socket timeouts
of CELERY_BROKER_TIMEOUT, no publish retries). Every enqueue done here has a sweep behind it that
finds the work in the database, so a lost publish delays work but never loses it. After a failed
publish this process skips publishing for BROKER_PAUSE_SECONDS: during an outage one request
pays the timeout, the others pay nothing.
"""

import logging
import time

from celery import Task

from app.extensions import celery as celery_app
from app.platform import metrics

log = logging.getLogger(__name__)

_paused_until = 0.0
DEFAULT_PAUSE_SECONDS = 5.0


def publish(task: Task, *args: str, what: str, countdown: float = 0.0) -> bool:
    """Send `task(*args)` once (to run `countdown` seconds from now at the earliest); False when
    the broker did not take it (the sweep will)."""
    global _paused_until
    if celery_app.conf.task_always_eager:
        return _run_eagerly(task, args, what)
    if time.monotonic() < _paused_until:
        metrics.increment("broker_publish_skipped")
        return False
    try:
        task.apply_async(args, retry=False, countdown=countdown or None)
    except Exception as error:  # refused, timed out, reset: all mean "later, by the sweep"
        _paused_until = time.monotonic() + pause_seconds()
        metrics.increment("broker_publish_failed")
        log.warning("broker publish failed, the sweep will pick it up: %s %s: %s: %s",
                    what, ",".join(args), type(error).__name__, error)
        return False
    return True


def _run_eagerly(task: Task, args: tuple, what: str) -> bool:
    """No broker (the demo, tests): the task runs here; its failure is retried by the sweep too."""
    try:
        task.apply(args, throw=True)
    except Exception as error:
        metrics.increment("eager_task_failed")
        log.warning("eager %s %s failed, the sweep will retry it: %s: %s",
                    what, ",".join(args), type(error).__name__, error)
        return False
    return True


def pause_seconds() -> float:
    from flask import current_app, has_app_context  # noqa: PLC0415

    if has_app_context():
        return float(current_app.config.get("BROKER_PAUSE_SECONDS", DEFAULT_PAUSE_SECONDS))
    return DEFAULT_PAUSE_SECONDS


def resume() -> None:
    """Forget a pause (tests, and the drill between phases)."""
    global _paused_until
    _paused_until = 0.0
