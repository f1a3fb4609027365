"""One transaction boundary for views, tasks and commands: commit on success, roll back otherwise.

Services add and flush but never commit; whoever calls them (a view, a task, a CLI command) runs
them inside `unit_of_work()`. The commit fires the after-commit callbacks (`app.db.after_commit`),
which is where the outbox relay is enqueued: a rolled back unit sends nothing.
"""

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import wraps
from typing import ParamSpec, TypeVar

from sqlalchemy.orm import Session

from app.extensions import db

P = ParamSpec("P")
R = TypeVar("R")


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


def transactional(func: Callable[P, R]) -> Callable[P, R]:
    """Run a view or task body in one unit of work (its response is built before the commit)."""

    @wraps(func)
    def run(*args: P.args, **kwargs: P.kwargs) -> R:
        with unit_of_work():
            return func(*args, **kwargs)

    return run
