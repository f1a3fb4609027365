"""Declarative base, key mixins, UUIDv7 ids and the after-commit hook."""

import os
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime

from sqlalchemy import JSON, CheckConstraint, DateTime, Enum, MetaData, String, Uuid, event
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
    return datetime.now(UTC)


# Paths sort byte-wise: the "C" collation on PostgreSQL, SQLite's default BINARY elsewhere.
PathType = String(1024).with_variant(String(1024, collation="C"), "postgresql")
UtcDateTime = DateTime(timezone=True)


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


def str_enum(enum_cls: type, length: int = 20) -> Enum:
    """A StrEnum stored as its value in a VARCHAR (portable; no native PG enum to migrate)."""
    return Enum(enum_cls, native_enum=False, length=length, validate_strings=True,
                values_callable=lambda members: [m.value for m in members])


JsonType = JSON().with_variant(JSONB(), "postgresql")
