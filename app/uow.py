"""One transaction boundary for views, tasks and commands: commit on success, roll back otherwise.

Services add and flush but never commit; whoever calls them (a view, a task, a CLI command) runs
them inside `unit_of_work()`. The commit fires the after-commit callbacks (`app.db.after_commit`),
which is where the outbox relay is enqueued: a rolled back unit sends nothing.
"""

import logging
import random
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import wraps
from typing import ParamSpec, TypeVar

from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from app.extensions import db

P = ParamSpec("P")
R = TypeVar("R")

log = logging.getLogger(__name__)

# deadlock_detected, serialization_failure: the database chose a victim; running again succeeds.
LOCK_CONFLICTS = frozenset({"40P01", "40001"})
ATTEMPTS = 4


def is_lock_conflict(error: BaseException | None) -> bool:
    """A deadlock or serialization failure, also when a later error (a statement on the aborted
    transaction, a pending rollback) hides it in its chain of causes."""
    seen = 0
    while error is not None and seen < 10:
        if isinstance(error, DBAPIError) and getattr(error.orig, "sqlstate", None) in LOCK_CONFLICTS:
            return True
        error, seen = error.__cause__ or error.__context__, seen + 1
    return False


@contextmanager
def unit_of_work(session: Session | None = None, *,
                 keep_on: tuple[type[BaseException], ...] = ()) -> Iterator[Session]:
    """Yield the session; commit if the block returns, roll back if it raises.

    `keep_on` names refusals whose writes are the point and must survive the error response
    (a reused refresh token revokes its whole family): those commit, then propagate.
    """
    session = session or db.session
    try:
        yield session
    except keep_on:
        session.commit()
        raise
    except BaseException:
        session.rollback()
        raise
    session.commit()


def retry_lock_conflicts(func: Callable[P, R]) -> Callable[P, R]:
    """Run a unit of work again (rolled back first) when it lost a deadlock or serialization race.

    For bodies that are safe to repeat: a view or task that commits once at its end.
    """

    @wraps(func)
    def run(*args: P.args, **kwargs: P.kwargs) -> R:
        for attempt in range(1, ATTEMPTS + 1):
            try:
                return func(*args, **kwargs)
            except Exception as error:
                if not is_lock_conflict(error) or attempt == ATTEMPTS:
                    raise
                db.session.rollback()
                log.info("lock conflict, attempt %d of %d", attempt, ATTEMPTS)
                time.sleep(random.uniform(0.01, 0.05) * attempt)  # noqa: S311  (jitter, not crypto)
        raise AssertionError("unreachable")

    return run


def transactional(func: Callable[P, R]) -> Callable[P, R]:
    """Run a view or task body in one unit of work (its response is built before the commit);
    a lost lock race runs it again."""

    @wraps(func)
    @retry_lock_conflicts
    def run(*args: P.args, **kwargs: P.kwargs) -> R:
        with unit_of_work():
            return func(*args, **kwargs)

    return run
