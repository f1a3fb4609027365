"""Count the SQL statements an action sends: one listener for the checkout benchmark and its test."""

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import event
from sqlalchemy.engine import Engine

# Transaction control the test harness adds around each commit (savepoints), not the app's work.
HARNESS = ("SAVEPOINT", "RELEASE SAVEPOINT", "ROLLBACK TO SAVEPOINT")


@contextmanager
def statements_sent(engine: Engine) -> Iterator[list[str]]:
    """The statements sent through `engine` inside the block (executemany counts once: one round trip)."""
    sent: list[str] = []

    def seen(conn, cursor, statement, parameters, context, executemany):
        if not statement.lstrip().upper().startswith(HARNESS):
            sent.append(statement)

    event.listen(engine, "before_cursor_execute", seen)
    try:
        yield sent
    finally:
        event.remove(engine, "before_cursor_execute", seen)


def summary(sent: list[str]) -> str:
    """One line per statement: its first words, to see what a request spends its round trips on."""
    return "\n".join(f"{n:3d}  {' '.join(s.split())[:150]}" for n, s in enumerate(sent, start=1))
