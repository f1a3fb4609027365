"""SQLite as the embedded database behaves like PostgreSQL where the code relies on it.

pysqlite opens transactions lazily and on its own terms, which breaks SAVEPOINTs (the outbox relay
and the tests' rolled-back transaction use them); SQLAlchemy's documented fix is to let the
driver do nothing and emit BEGIN ourselves. Foreign keys are off in SQLite unless asked for.
"""

import sqlite3

from sqlalchemy import event
from sqlalchemy.engine import Connection, Engine


@event.listens_for(Engine, "connect")
def _on_connect(dbapi_connection, _record) -> None:
    if isinstance(dbapi_connection, sqlite3.Connection):
        dbapi_connection.isolation_level = None
        dbapi_connection.execute("PRAGMA foreign_keys = ON")


@event.listens_for(Engine, "begin")
def _on_begin(connection: Connection) -> None:
    if connection.dialect.name == "sqlite":
        connection.exec_driver_sql("BEGIN")
