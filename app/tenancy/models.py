"""Tenants, the org tree, staff users, consumers (ONE ID) and data-sharing grants."""

import uuid
from datetime import datetime

from sqlalchemy import (
    Boolean,
    ForeignKeyConstraint,
    Index,
    Integer,
    String,
    UniqueConstraint,
    Uuid,
)
from sqlalchemy.orm import Mapped, mapped_column

from app.db import (
    Base,
    CreatedAtMixin,
    JsonType,
    OwnerPathMixin,
    TenantKeyMixin,
    UtcDateTime,
    path_column,
    str_enum,
    utcnow,
    uuid7,
)
from app.tenancy.enums import Dataset, Fidelity, IdentityKind, OrgKind, Role


def tenant_fk(columns: list[str], table: str, **kwargs) -> ForeignKeyConstraint:
    """A composite foreign key (tenant_id, x_id) → table(tenant_id, id)."""
    return ForeignKeyConstraint(
        ["tenant_id", *columns], [f"{table}.tenant_id", f"{table}.id"], **kwargs
    )


class Tenant(Base):
    """A brand's deployment; the root of isolation. RLS: a scope sees only its own tenant."""

    __tablename__ = "tenants"
    __rls__ = "tenant_self"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid7)
    slug: Mapped[str] = mapped_column(String(63), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    currency: Mapped[str] = mapped_column(String(3), default="CNY")
    settings: Mapped[dict] = mapped_column(JsonType, default=dict)
    wechat_appid: Mapped[str | None] = mapped_column(String(64))
    wechat_secret: Mapped[str | None] = mapped_column(String(128))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class Org(TenantKeyMixin, CreatedAtMixin, Base):
    """A node of the network: the brand root, distributors at any depth, stores as leaves."""

    __tablename__ = "orgs"
    __rls__ = "org_tree"
    __table_args__ = (
        ForeignKeyConstraint(["tenant_id"], ["tenants.id"]),
        tenant_fk(["parent_id"], "orgs"),
        UniqueConstraint("tenant_id", "path"),
    )

    kind: Mapped[OrgKind] = mapped_column(str_enum(OrgKind))
    name: Mapped[str] = mapped_column(String(200))
    code: Mapped[str | None] = mapped_column(String(64))
    parent_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    path: Mapped[str] = path_column("path")
    depth: Mapped[int] = mapped_column(Integer)
    active: Mapped[bool] = mapped_column(Boolean, default=True)


class User(TenantKeyMixin, OwnerPathMixin, CreatedAtMixin, Base):
    """A staff member with one role in one org."""

    __tablename__ = "users"
    __dataset__ = None
    __follows_org__ = True
    __table_args__ = (
        tenant_fk(["org_id"], "orgs"),
        UniqueConstraint("tenant_id", "email"),
        Index("ix_users_scope", "tenant_id", "owner_path"),
    )

    org_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    email: Mapped[str] = mapped_column(String(254))
    name: Mapped[str] = mapped_column(String(200))
    password_hash: Mapped[str] = mapped_column(String(200))
    role: Mapped[Role] = mapped_column(str_enum(Role))
    active: Mapped[bool] = mapped_column(Boolean, default=True)


class Consumer(TenantKeyMixin, OwnerPathMixin, CreatedAtMixin, Base):
    """One person per tenant (ONE ID), owned by their home store (归属门店)."""

    __tablename__ = "consumers"
    __dataset__ = Dataset.consumers
    __consumer_column__ = "id"
    __follows_org__ = True
    __table_args__ = (
        tenant_fk(["home_store_id"], "orgs"),
        tenant_fk(["guide_id"], "users"),
        tenant_fk(["referrer_id"], "consumers"),
        Index("ix_consumers_scope", "tenant_id", "owner_path"),
        Index("ix_consumers_latest", "tenant_id", "created_at"),  # perf: scoped lists newest first
    )

    name: Mapped[str | None] = mapped_column(String(200))
    phone: Mapped[str | None] = mapped_column(String(32))
    home_store_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    guide_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    referrer_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)


class ConsumerIdentity(TenantKeyMixin, OwnerPathMixin, CreatedAtMixin, Base):
    """A channel identity (openid, unionid, phone, store card) pointing at one consumer."""

    __tablename__ = "consumer_identities"
    __dataset__ = Dataset.consumers
    __consumer_column__ = "consumer_id"
    __follows_org__ = True
    __table_args__ = (
        tenant_fk(["consumer_id"], "consumers", ondelete="CASCADE"),
        UniqueConstraint("tenant_id", "kind", "value"),
    )

    consumer_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    kind: Mapped[IdentityKind] = mapped_column(str_enum(IdentityKind))
    value: Mapped[str] = mapped_column(String(128))


class Grant(TenantKeyMixin, OwnerPathMixin, CreatedAtMixin, Base):
    """Grantor org shares one dataset of its subtree with a grantee org at a fidelity."""

    __tablename__ = "grants"
    __rls__ = "grants"
    __follows_org__ = True
    __table_args__ = (
        tenant_fk(["grantor_org_id"], "orgs"),
        tenant_fk(["grantee_org_id"], "orgs"),
        UniqueConstraint("tenant_id", "grantor_org_id", "grantee_org_id", "dataset"),
        Index("ix_grants_grantee", "tenant_id", "grantee_org_id"),
    )

    grantor_org_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    grantee_org_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    grantee_path: Mapped[str] = path_column("grantee_path")
    dataset: Mapped[Dataset] = mapped_column(str_enum(Dataset))
    fidelity: Mapped[Fidelity] = mapped_column(str_enum(Fidelity))
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow, onupdate=utcnow)
