"""A UUIDv7 made by the database, for set-based inserts (INSERT ... SELECT) of many rows at once.

Same layout as app.db.uuid7: 48 bits of Unix milliseconds, version 7, variant 10, random rest.
"""

from sqlalchemy import literal_column
from sqlalchemy.orm import Session

_POSTGRESQL = (
    "CAST(lpad(to_hex(CAST(floor(extract(epoch FROM clock_timestamp()) * 1000) AS bigint)), 12, '0')"
    " || '7' || substr(md5(random()::text), 1, 3)"
    " || substr('89ab', 1 + CAST(floor(random() * 4) AS int), 1)"
    " || substr(md5(random()::text), 1, 15) AS uuid)"
)
# SQLAlchemy's Uuid keeps 32 lowercase hex digits on SQLite.
_SQLITE = (
    "lower(printf('%012x', CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER))"
    " || '7' || substr(hex(randomblob(2)), 2, 3)"
    " || substr('89ab', 1 + (abs(random()) % 4), 1)"
    " || substr(hex(randomblob(2)), 2, 3) || hex(randomblob(6)))"
)


def sql_uuid7(session: Session):
    """A column expression that yields a fresh UUIDv7 per row."""
    dialect = session.get_bind().dialect.name
    return literal_column(_POSTGRESQL if dialect == "postgresql" else _SQLITE)
