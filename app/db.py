"""Declarative base, key mixins, UUIDv7 ids and the after-commit hook."""

import os
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime

from sqlalchemy import JSON, CheckConstraint, DateTime, Enum, MetaData, String, TypeDecorator, Uuid, event
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_N_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def uuid7() -> uuid.UUID:
    """A time-ordered UUID (RFC 9562 version 7): sortable, not guessable."""
    ms = time.time_ns() // 1_000_000
    rand = int.from_bytes(os.urandom(10), "big")
    value = (ms & ((1 << 48) - 1)) << 80
    value |= 0x7 << 76
    value |= ((rand >> 62) & 0xFFF) << 64
    value |= 0b10 << 62
    value |= rand & ((1 << 62) - 1)
    return uuid.UUID(int=value)


def utcnow() -> datetime:
    """Now, as an aware UTC datetime: the only kind of datetime the app stores."""
    return datetime.now(UTC)


# Paths sort byte-wise: the "C" collation on PostgreSQL, SQLite's default BINARY elsewhere.
PathType = String(1024).with_variant(String(1024, collation="C"), "postgresql")


class UtcDateTime(TypeDecorator):
    """A moment in time: stored in UTC, always read back as an aware UTC datetime.

    PostgreSQL keeps `timestamptz` (psycopg answers in the session's time zone: converted to
    UTC here); SQLite keeps the UTC wall time as text without an offset (UTC attached here).
    So the demo on SQLite and production on PostgreSQL serialise the same `...+00:00`.
    A naive datetime is refused (ValueError) rather than guessed: every moment the app makes
    comes from `utcnow()` or an offset-carrying API field, so a naive one is a bug to surface.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError(f"A naive datetime cannot be stored ({value.isoformat()}): give it a tzinfo.")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class TenantKeyMixin:
    """Primary key (tenant_id, id); every tenant-owned table uses it."""

    tenant_id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid7)


def path_column(name: str = "owner_path", **kwargs) -> Mapped[str]:
    """A materialised path; the CHECK keeps '~' out so that prefix + '~' bounds a subtree."""
    check = CheckConstraint(f"{name} LIKE '/%/' AND {name} NOT LIKE '%~%'", name=f"{name}_shape")
    return mapped_column(PathType, check, **kwargs)


class OwnerPathMixin:
    """The owner org's path, snapshotted when the row is written; scope and RLS read it."""

    owner_path: Mapped[str] = path_column()


class CreatedAtMixin:
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


def after_commit(session: Session, callback: Callable[[], None]) -> None:
    """Run callback once the session's transaction commits; dropped on rollback."""
    session.info.setdefault("after_commit", []).append(callback)


@event.listens_for(Session, "after_commit")
def _run_after_commit(session: Session) -> None:
    if session.in_nested_transaction():  # a savepoint: wait for the real commit
        return
    callbacks = session.info.pop("after_commit", [])
    for callback in callbacks:
        callback()


@event.listens_for(Session, "after_rollback")
def _drop_after_commit(session: Session) -> None:
    if not session.in_nested_transaction():
        session.info.pop("after_commit", None)


def insert_or_ignore(session: Session, target, *, conflict_on: list[str] | None = None):
    """INSERT ... ON CONFLICT DO NOTHING on PostgreSQL and SQLite: the one race-safe "create once".

    `conflict_on` names the unique columns whose clash is ignored (all unique keys without it).
    Add `.returning(...)` to learn whether the row was inserted: no row back means it existed.
    """
    return insert_or_ignore_for(session.get_bind().dialect.name, target, conflict_on=conflict_on)


def insert_or_ignore_for(dialect_name: str, target, *, conflict_on: list[str] | None = None):
    """`insert_or_ignore` for a dialect by name: for a statement built once, at import or cached."""
    from sqlalchemy.dialects import postgresql, sqlite  # noqa: PLC0415

    dialect = postgresql if dialect_name == "postgresql" else sqlite
    return dialect.insert(target).on_conflict_do_nothing(index_elements=conflict_on)


def insert_loaded(session: Session, model, rows: list) -> None:
    """INSERT fully built ORM rows in one (executemany) statement, without unit-of-work
    bookkeeping, and attach them to the session as loaded: a caller may still change and flush them.
    Every column must be set on each row (nothing is left expired to reload)."""
    from sqlalchemy.orm import make_transient_to_detached  # noqa: PLC0415

    columns = [column.key for column in model.__table__.columns]
    session.execute(model.__table__.insert(), [{key: getattr(row, key) for key in columns} for row in rows])
    for row in rows:
        make_transient_to_detached(row)
        session.add(row)


def one_of(session: Session, column, values: list):
    """`column IN values` for a page's ids. On PostgreSQL one array parameter (`= ANY(:ids)`): the
    statement's text is the same for any number of ids, so psycopg caches its parsing and may
    prepare it, and 51 ids are one value to adapt, not 51 (a journal page's lines: 0.6 -> 0.3 ms of
    CPU, bench/scoped_lists.py). SQLite (the demo) has no arrays: an expanding IN there."""
    if session.get_bind().dialect.name != "postgresql":
        return column.in_(values)
    from sqlalchemy import any_, bindparam  # noqa: PLC0415
    from sqlalchemy.dialects.postgresql import ARRAY  # noqa: PLC0415

    return column == any_(bindparam(None, list(values), type_=ARRAY(column.type)))


def str_enum(enum_cls: type, length: int = 20) -> Enum:
    """A StrEnum stored as its value in a VARCHAR (portable; no native PG enum to migrate)."""
    return Enum(enum_cls, native_enum=False, length=length, validate_strings=True,
                values_callable=lambda members: [m.value for m in members])


JsonType = JSON().with_variant(JSONB(), "postgresql")
