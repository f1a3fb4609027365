"""Membership: the tenant's program and levels (brand-owned), members, growth and points ledgers.

Members and their ledgers are owned by the consumer's home store path (a store sees its members);
the program and its levels by the brand root (every scope of the tenant reads them).
Balances on `members` are maintained totals: they change only as SQL increments and conditional
UPDATEs (app/membership/points.py, batches.py), never as `member.x += n` on a loaded object.
"""

import uuid
from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
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
    str_enum,
    utcnow,
)
from app.tenancy.enums import Dataset
from app.tenancy.models import tenant_fk


class MembershipProgram(TenantKeyMixin, OwnerPathMixin, CreatedAtMixin, Base):
    """One per tenant: how growth, levels and points work. Owned by the brand root."""

    __tablename__ = "membership_programs"
    __rls__ = "tenant"
    __table_args__ = (
        UniqueConstraint("tenant_id"),
        CheckConstraint(
            "growth_window_months > 0 AND grace_days >= 0 AND return_window_days >= 0"
            " AND points_per_unit > 0 AND max_points_share_bp BETWEEN 0 AND 10000"
            " AND earn_points_per_unit >= 0 AND growth_per_unit >= 0", name="settings_sane"),
    )

    active: Mapped[bool] = mapped_column(Boolean, default=True)
    currency: Mapped[str] = mapped_column(String(3))
    growth_window_months: Mapped[int] = mapped_column(Integer, default=12)
    grace_days: Mapped[int] = mapped_column(Integer, default=30)
    return_window_days: Mapped[int] = mapped_column(Integer, default=7)
    # never | days:N | end_of_month | end_of_year (app/membership/rules.py reads it)
    points_expiry: Mapped[str] = mapped_column(String(20), default="end_of_year")
    points_per_unit: Mapped[int] = mapped_column(Integer, default=100)  # points worth one major unit
    max_points_share_bp: Mapped[int] = mapped_column(Integer, default=5000)  # of an order's goods
    earn_points_per_unit: Mapped[int] = mapped_column(Integer, default=1)  # per major unit paid
    growth_per_unit: Mapped[int] = mapped_column(Integer, default=1)  # per major unit of completed spend
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow, onupdate=utcnow)


class MemberLevel(TenantKeyMixin, OwnerPathMixin, CreatedAtMixin, Base):
    """A level (等级) reached by growth; its benefits are data read at checkout."""

    __tablename__ = "member_levels"
    __rls__ = "tenant"
    __table_args__ = (
        tenant_fk(["program_id"], "membership_programs"),
        UniqueConstraint("tenant_id", "code"),
        UniqueConstraint("tenant_id", "rank"),
        CheckConstraint(
            "rank >= 0 AND growth_threshold >= 0 AND retention_threshold >= 0"
            " AND retention_threshold <= growth_threshold AND discount_bp BETWEEN 0 AND 10000"
            " AND points_multiplier_pct >= 0 AND birthday_gift_points >= 0"
            " AND (free_shipping_min_minor IS NULL OR free_shipping_min_minor >= 0)",
            name="level_sane"),
    )

    program_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    code: Mapped[str] = mapped_column(String(40))
    name: Mapped[str] = mapped_column(String(100))
    rank: Mapped[int] = mapped_column(Integer)
    growth_threshold: Mapped[int] = mapped_column(BigInteger)  # window growth that reaches the level
    retention_threshold: Mapped[int] = mapped_column(BigInteger)  # window growth that keeps it (保级)
    discount_bp: Mapped[int] = mapped_column(Integer, default=0)
    points_multiplier_pct: Mapped[int] = mapped_column(Integer, default=100)
    free_shipping_min_minor: Mapped[int | None] = mapped_column(BigInteger)
    birthday_gift_points: Mapped[int] = mapped_column(BigInteger, default=0)
    exclusive_coupon_template_ids: Mapped[list] = mapped_column(JsonType, default=list)


class MemberOwnedMixin(TenantKeyMixin, OwnerPathMixin, CreatedAtMixin):
    """Rows of one member: the consumers dataset, the consumer sees their own."""

    __dataset__ = Dataset.consumers
    __consumer_column__ = "consumer_id"

    consumer_id: Mapped[uuid.UUID] = mapped_column(Uuid)


class Member(MemberOwnedMixin, Base):
    """One per consumer per tenant: one card across every store of the brand."""

    __tablename__ = "members"
    __table_args__ = (
        tenant_fk(["consumer_id"], "consumers"),
        tenant_fk(["level_id"], "member_levels"),
        UniqueConstraint("tenant_id", "consumer_id"),
        Index("ix_members_scope", "tenant_id", "owner_path", "created_at"),
        Index("ix_members_grace", "tenant_id", "grace_until"),
        CheckConstraint("points_available >= 0 AND points_pending >= 0 AND points_debt >= 0",
                        name="points_never_negative"),
    )

    level_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    growth: Mapped[int] = mapped_column(BigInteger, default=0)  # in the rolling window
    level_since: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    grace_until: Mapped[datetime | None] = mapped_column(UtcDateTime)  # kept below retention until then
    evaluated_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    birthday: Mapped[date | None] = mapped_column(Date)
    points_available: Mapped[int] = mapped_column(BigInteger, default=0)
    points_pending: Mapped[int] = mapped_column(BigInteger, default=0)
    points_debt: Mapped[int] = mapped_column(BigInteger, default=0)  # reversed after being spent


class GrowthEntry(MemberOwnedMixin, Base):
    """Append-only growth ledger (成长值): positive earnings, negative reversals."""

    __tablename__ = "growth_entries"
    __table_args__ = (
        tenant_fk(["member_id"], "members"),
        UniqueConstraint("tenant_id", "source_key"),
        Index("ix_growth_entries_member", "tenant_id", "member_id", "created_at"),
        Index("ix_growth_entries_order", "tenant_id", "order_id"),
    )

    member_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    amount: Mapped[int] = mapped_column(BigInteger)
    reason: Mapped[str] = mapped_column(String(30))  # order_completed, order_refunded, action, adjust
    order_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    source_key: Mapped[str] = mapped_column(String(255))


class LotStatus(StrEnum):
    pending = "pending"  # earned, inside the return window
    available = "available"
    expired = "expired"
    debt = "debt"  # points reversed after they were spent: later earnings repay it first


class PointsLot(MemberOwnedMixin, Base):
    """A lot of points with one origin and one expiry; never deleted, `remaining` only shrinks
    or grows by conditional UPDATEs. A debt lot's `remaining` is what is still owed."""

    __tablename__ = "points_lots"
    __table_args__ = (
        tenant_fk(["member_id"], "members"),
        UniqueConstraint("tenant_id", "source_key"),
        Index("ix_points_lots_member", "tenant_id", "member_id", "status", "expires_at"),
        Index("ix_points_lots_due_expiry", "tenant_id", "status", "expires_at"),
        Index("ix_points_lots_due_available", "tenant_id", "status", "available_at"),
        Index("ix_points_lots_order", "tenant_id", "order_id"),
        Index("ix_points_lots_batch", "tenant_id", "batch_id"),
        CheckConstraint("points > 0 AND remaining >= 0 AND remaining <= points"
                        " AND expired_points >= 0 AND reversed_points >= 0 AND written_off_points >= 0",
                        name="lot_sane"),
    )

    member_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    status: Mapped[LotStatus] = mapped_column(str_enum(LotStatus))
    origin: Mapped[str] = mapped_column(String(20))  # earn, adjust, give_back, birthday, reversal
    points: Mapped[int] = mapped_column(BigInteger)
    remaining: Mapped[int] = mapped_column(BigInteger)
    expired_points: Mapped[int] = mapped_column(BigInteger, default=0)
    reversed_points: Mapped[int] = mapped_column(BigInteger, default=0)  # refunds took back
    written_off_points: Mapped[int] = mapped_column(BigInteger, default=0)  # of those, had expired
    available_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    expires_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    order_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    source_key: Mapped[str] = mapped_column(String(255))
    batch_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)  # the scheduled batch that last moved it


class MoveKind(StrEnum):
    earn = "earn"
    spend = "spend"
    give_back = "give_back"
    expire = "expire"
    reverse = "reverse"
    debt = "debt"
    repay = "repay"
    adjust = "adjust"


class PointsMove(MemberOwnedMixin, Base):
    """Every change of points, with its lot and order: the history page and the audit trail.

    `points` is signed as the member sees it (spend -n, give_back +n). A request's moves share
    its source_key and are numbered by `seq`, so a replayed request finds them.
    """

    __tablename__ = "points_moves"
    __table_args__ = (
        tenant_fk(["member_id"], "members"),
        tenant_fk(["lot_id"], "points_lots"),
        UniqueConstraint("tenant_id", "source_key", "seq"),
        Index("ix_points_moves_member", "tenant_id", "member_id", "created_at"),
        Index("ix_points_moves_order", "tenant_id", "order_id", "kind"),
        Index("ix_points_moves_lot", "tenant_id", "lot_id"),
    )

    member_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    lot_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    kind: Mapped[MoveKind] = mapped_column(str_enum(MoveKind))
    points: Mapped[int] = mapped_column(BigInteger)
    order_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    source_key: Mapped[str] = mapped_column(String(255))
    seq: Mapped[int] = mapped_column(Integer, default=0)
    note: Mapped[str | None] = mapped_column(String(500))
    actor_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
