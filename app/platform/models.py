"""Outbox events, their per-handler receipts, and the append-only audit log."""

import uuid
from datetime import datetime

from sqlalchemy import Index, Integer, PrimaryKeyConstraint, String, Text, Uuid, text
from sqlalchemy.orm import Mapped, mapped_column

from app.db import (
    Base,
    CreatedAtMixin,
    JsonType,
    OwnerPathMixin,
    TenantKeyMixin,
    UtcDateTime,
    str_enum,
)
from app.tenancy.enums import ActorKind


class OutboxEvent(TenantKeyMixin, OwnerPathMixin, CreatedAtMixin, Base):
    """A domain event written in the same transaction as the change it reports."""

    __tablename__ = "outbox_events"
    __platform_reads__ = True  # RLS (0008): the platform sweep reads every tenant's events
    __table_args__ = (
        Index("ix_outbox_events_pending", "tenant_id", "relayed_at", "id"),
        Index("ix_outbox_events_due", "tenant_id", "id",
              postgresql_where=text("relayed_at IS NULL AND dead_at IS NULL"),
              sqlite_where=text("relayed_at IS NULL AND dead_at IS NULL")),
        Index("ix_outbox_events_dead", "tenant_id", "dead_at",
              postgresql_where=text("dead_at IS NOT NULL"), sqlite_where=text("dead_at IS NOT NULL")),
    )

    type: Mapped[str] = mapped_column(String(64))
    subject_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    payload: Mapped[dict] = mapped_column(JsonType, default=dict)
    relayed_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    # a failed event waits until then (exponential backoff); dead_at: it failed every attempt
    next_attempt_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    dead_at: Mapped[datetime | None] = mapped_column(UtcDateTime)


class ProcessedEvent(CreatedAtMixin, Base):
    """Receipt that one handler has handled one event: handling it again is a no-op."""

    __tablename__ = "processed_events"
    __rls__ = "tenant"
    __platform_reads__ = True  # RLS (0008): and their receipts
    __table_args__ = (PrimaryKeyConstraint("tenant_id", "event_id", "handler"),)

    tenant_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    event_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    handler: Mapped[str] = mapped_column(String(200))


class AuditEntry(TenantKeyMixin, OwnerPathMixin, CreatedAtMixin, Base):
    """Who did what to which subject; insert-only for the app role."""

    __tablename__ = "audit_log"
    __table_args__ = (Index("ix_audit_log_scope", "tenant_id", "owner_path", "created_at"),
                      Index("ix_audit_log_actor", "tenant_id", "actor_id", "created_at"),
                      Index("ix_audit_log_subject", "tenant_id", "subject_id", "created_at"))

    actor_kind: Mapped[ActorKind] = mapped_column(str_enum(ActorKind))
    actor_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    actor_org_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)  # the org it acted from
    action: Mapped[str] = mapped_column(String(64))
    subject_type: Mapped[str] = mapped_column(String(64))
    subject_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    details: Mapped[dict] = mapped_column(JsonType, default=dict)
