"""Refresh tokens, per-org API keys and login attempts (for throttling)."""

import uuid
from datetime import datetime

from sqlalchemy import Index, String, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from app.db import (
    Base,
    CreatedAtMixin,
    OwnerPathMixin,
    TenantKeyMixin,
    UtcDateTime,
    str_enum,
    uuid7,
)
from app.tenancy.enums import Role
from app.tenancy.models import tenant_fk


class RefreshToken(TenantKeyMixin, CreatedAtMixin, Base):
    """One issued refresh token; a family is one login, rotated on every use."""

    __tablename__ = "refresh_tokens"
    __rls__ = "tenant"
    __table_args__ = (
        tenant_fk(["user_id"], "users", ondelete="CASCADE"),
        tenant_fk(["consumer_id"], "consumers", ondelete="CASCADE"),
        Index("ix_refresh_tokens_family", "tenant_id", "family_id"),
    )

    family_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    user_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    consumer_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    token_hash: Mapped[str] = mapped_column(String(64))
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime)
    used_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UtcDateTime)


class ApiKey(TenantKeyMixin, OwnerPathMixin, CreatedAtMixin, Base):
    """A server-to-server credential of one org (an ERP); only its hash is stored."""

    __tablename__ = "api_keys"
    __follows_org__ = True
    __table_args__ = (
        tenant_fk(["org_id"], "orgs"),
        tenant_fk(["created_by"], "users"),
    )

    org_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    name: Mapped[str] = mapped_column(String(100))
    role: Mapped[Role] = mapped_column(str_enum(Role))
    secret_hash: Mapped[str] = mapped_column(String(64))
    created_by: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    last_used_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UtcDateTime)


class LoginAttempt(Base):
    """A failed login, keyed by a hash of (tenant, identifier) or of the client address."""

    __tablename__ = "login_attempts"
    __rls__ = "platform"
    __table_args__ = (Index("ix_login_attempts_key", "key_hash", "failed_at"),)

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid7)
    key_hash: Mapped[str] = mapped_column(String(64))
    failed_at: Mapped[datetime] = mapped_column(UtcDateTime)
