"""Distribution: promoters and levels, bindings with history, commission plans, snapshots, the ledger.

One ledger (`distribution_entries`) carries every amount owed to a beneficiary: commissions
(written here) and store takings, fees, withholding and withdrawals (written by settlement).
"""

import uuid
from datetime import datetime
from enum import StrEnum

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Index,
    Integer,
    String,
    UniqueConstraint,
    Uuid,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, CreatedAtMixin, OwnerPathMixin, TenantKeyMixin, UtcDateTime, str_enum, utcnow
from app.tenancy.enums import Dataset
from app.tenancy.models import tenant_fk


class BeneficiaryKind(StrEnum):
    org = "org"  # a store or a distributor
    staff = "staff"  # a shopping guide (a user of a store)
    consumer = "consumer"  # a consumer-promoter


class EntryRole(StrEnum):
    """Why a beneficiary earns on a line (commissions) or what an entry stands for (settlement)."""

    promoter_l1 = "promoter_l1"
    promoter_l2 = "promoter_l2"
    guide = "guide"
    home_store = "home_store"
    distributor = "distributor"
    store_takings = "store_takings"
    fee = "fee"
    withholding = "withholding"
    withdrawal = "withdrawal"
    adjustment = "adjustment"


COMMISSION_ROLES = (EntryRole.promoter_l1, EntryRole.promoter_l2, EntryRole.guide, EntryRole.home_store,
                    EntryRole.distributor)


class EntryKind(StrEnum):
    commission = "commission"
    takings = "takings"
    fee = "fee"
    withholding = "withholding"
    withdrawal = "withdrawal"
    adjustment = "adjustment"


class EntryStatus(StrEnum):
    frozen = "frozen"  # accrued at payment; waits for completion plus the freeze days
    available = "available"  # may be settled into a statement (or withdrawn)
    settled = "settled"  # part of a statement
    paid = "paid"  # the statement was paid out
    reversed = "reversed"  # cancelled by refunds before settlement: nets to zero, never settled


class PromoterStatus(StrEnum):
    pending = "pending"  # applied, waiting for approval
    active = "active"
    rejected = "rejected"
    suspended = "suspended"


class BindingSource(StrEnum):
    share_link = "share_link"
    qr_code = "qr_code"
    guide = "guide"
    store = "store"


class BindingEnd(StrEnum):
    expired = "expired"  # validity days ran out
    replaced = "replaced"  # another promoter's touch took the customer (last touch, after protection)
    rebound = "rebound"  # staff moved the customer with the rebind permission (audited)


class CommissionScopeMixin(OwnerPathMixin):
    """Distribution rows are seen by their owner's subtree at its `commissions` fidelity."""

    __dataset__ = Dataset.commissions


class PromoterLevel(TenantKeyMixin, CommissionScopeMixin, CreatedAtMixin, Base):
    """A tier of promoters with its own default rates (basis points), owned by the brand."""

    __rls__ = "downward"  # the brand's terms: read by the network below, written by the brand
    __tablename__ = "promoter_levels"
    __table_args__ = (
        UniqueConstraint("tenant_id", "rank"),
        CheckConstraint("l1_rate_bp >= 0 AND l1_rate_bp <= 10000 AND l2_rate_bp >= 0"
                        " AND l2_rate_bp <= 10000 AND spend_threshold_minor >= 0", name="rates_sane"),
    )

    name: Mapped[str] = mapped_column(String(100))
    rank: Mapped[int] = mapped_column(Integer)
    l1_rate_bp: Mapped[int] = mapped_column(Integer)
    l2_rate_bp: Mapped[int] = mapped_column(Integer, default=0)
    spend_threshold_minor: Mapped[int] = mapped_column(BigInteger, default=0)  # reach it to enter


class Promoter(TenantKeyMixin, CommissionScopeMixin, CreatedAtMixin, Base):
    """Someone who shares: a consumer (owned by their home store) or a staff member (by their org)."""

    __tablename__ = "promoters"
    __dataset__ = Dataset.consumers  # who shares is a fact about a customer, like the customer row
    __consumer_column__ = "consumer_id"
    __table_args__ = (
        tenant_fk(["consumer_id"], "consumers"),
        tenant_fk(["user_id"], "users"),
        tenant_fk(["org_id"], "orgs"),
        tenant_fk(["level_id"], "promoter_levels"),
        UniqueConstraint("tenant_id", "consumer_id"),
        UniqueConstraint("tenant_id", "user_id"),
        UniqueConstraint("tenant_id", "code"),
        CheckConstraint("(consumer_id IS NULL) <> (user_id IS NULL)", name="one_person"),
        Index("ix_promoters_scope", "tenant_id", "owner_path"),
    )

    kind: Mapped[BeneficiaryKind] = mapped_column(str_enum(BeneficiaryKind))
    consumer_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    user_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    org_id: Mapped[uuid.UUID] = mapped_column(Uuid)  # home store of a consumer, org of a staff member
    level_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    status: Mapped[PromoterStatus] = mapped_column(str_enum(PromoterStatus))
    code: Mapped[str] = mapped_column(String(32))  # what share links and QR codes carry
    decided_by_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    decided_at: Mapped[datetime | None] = mapped_column(UtcDateTime)


class Binding(TenantKeyMixin, CommissionScopeMixin, CreatedAtMixin, Base):
    """A consumer's promoter upline over time: one row per binding, the open one has no end reason.

    Owned by the consumer's home store. Separate from the consumer's home store and guide (归属).
    """

    __tablename__ = "bindings"
    __dataset__ = Dataset.consumers
    __consumer_column__ = "consumer_id"
    __table_args__ = (
        tenant_fk(["consumer_id"], "consumers"),
        tenant_fk(["promoter_id"], "promoters"),
        tenant_fk(["ended_by_id"], "users"),
        # At most one open binding per consumer: a concurrent second touch loses the race cleanly.
        Index("uq_bindings_open", "tenant_id", "consumer_id", unique=True,
              postgresql_where=text("ended_reason IS NULL"), sqlite_where=text("ended_reason IS NULL")),
        Index("ix_bindings_consumer", "tenant_id", "consumer_id", "valid_from"),
        Index("ix_bindings_promoter", "tenant_id", "promoter_id", "valid_from"),
        CheckConstraint("valid_to IS NULL OR valid_to >= valid_from", name="period_sane"),
    )

    consumer_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    promoter_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    source: Mapped[BindingSource] = mapped_column(str_enum(BindingSource))
    valid_from: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    valid_to: Mapped[datetime | None] = mapped_column(UtcDateTime)  # expiry, or when it ended early
    protected_until: Mapped[datetime | None] = mapped_column(UtcDateTime)  # 抢客保护
    ended_reason: Mapped[BindingEnd | None] = mapped_column(str_enum(BindingEnd))
    ended_by_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    note: Mapped[str | None] = mapped_column(String(500))


class CommissionPlan(TenantKeyMixin, CommissionScopeMixin, CreatedAtMixin, Base):
    """A set of commission rules; the newest active plan of a tenant applies to new orders."""

    __rls__ = "downward"  # the brand's terms: read by the network below, written by the brand
    __tablename__ = "commission_plans"
    __table_args__ = (Index("ix_commission_plans_active", "tenant_id", "active", "created_at"),)

    name: Mapped[str] = mapped_column(String(100))
    active: Mapped[bool] = mapped_column(Boolean, default=True)


class CommissionRule(TenantKeyMixin, CommissionScopeMixin, CreatedAtMixin, Base):
    """One rate for one role, maybe narrowed to a SKU, product or category, a level or an org.

    Precedence (docs/distribution.md): SKU > product > category > any; then a rule for the
    promoter's level or a named org (or org depth) over a general one.
    """

    __rls__ = "downward"  # the brand's terms: read by the network below, written by the brand
    __tablename__ = "commission_rules"
    __table_args__ = (
        tenant_fk(["plan_id"], "commission_plans", ondelete="CASCADE"),
        tenant_fk(["sku_id"], "skus"),
        tenant_fk(["product_id"], "products"),
        tenant_fk(["category_id"], "categories"),
        tenant_fk(["promoter_level_id"], "promoter_levels"),
        tenant_fk(["org_id"], "orgs"),
        Index("ix_commission_rules_plan", "tenant_id", "plan_id"),
        CheckConstraint("(rate_bp IS NULL) <> (fixed_minor IS NULL)", name="rate_or_fixed"),
        CheckConstraint("(rate_bp IS NULL OR (rate_bp >= 0 AND rate_bp <= 10000))"
                        " AND (fixed_minor IS NULL OR fixed_minor >= 0)", name="amounts_sane"),
        CheckConstraint("(CASE WHEN sku_id IS NULL THEN 0 ELSE 1 END + CASE WHEN product_id IS NULL"
                        " THEN 0 ELSE 1 END + CASE WHEN category_id IS NULL THEN 0 ELSE 1 END) <= 1",
                        name="one_target"),
    )

    plan_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    role: Mapped[EntryRole] = mapped_column(str_enum(EntryRole))
    sku_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    product_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    category_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    promoter_level_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    org_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)  # a named distributor or store
    org_depth: Mapped[int | None] = mapped_column(Integer)  # distributors at this depth of the tree
    rate_bp: Mapped[int | None] = mapped_column(Integer)  # percentage of the base, in basis points
    fixed_minor: Mapped[int | None] = mapped_column(BigInteger)  # fixed per unit


class BeneficiaryMixin:
    """Who is owed: an org, a staff member or a consumer; the org that answers for them."""

    beneficiary_kind: Mapped[BeneficiaryKind] = mapped_column(str_enum(BeneficiaryKind))
    beneficiary_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    beneficiary_org_id: Mapped[uuid.UUID] = mapped_column(Uuid)  # the org itself, a staff's org, a home store
    # Set for consumer-promoters, so they read their own rows (application filter and RLS).
    beneficiary_consumer_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)


class CommissionSnapshot(TenantKeyMixin, CommissionScopeMixin, BeneficiaryMixin, CreatedAtMixin, Base):
    """Chain, rate and base of one order line for one beneficiary, fixed when the order is placed."""

    __tablename__ = "commission_snapshots"
    __consumer_column__ = "beneficiary_consumer_id"
    __table_args__ = (
        tenant_fk(["order_id"], "orders", ondelete="CASCADE"),
        tenant_fk(["order_line_id"], "order_lines", ondelete="CASCADE"),
        tenant_fk(["beneficiary_org_id"], "orgs"),
        tenant_fk(["promoter_id"], "promoters"),
        tenant_fk(["rule_id"], "commission_rules"),
        UniqueConstraint("tenant_id", "order_line_id", "beneficiary_kind", "beneficiary_id", "role"),
        Index("ix_commission_snapshots_order", "tenant_id", "order_id"),
        CheckConstraint("base_minor >= 0 AND amount_minor >= 0 AND amount_minor <= base_minor"
                        " AND qty > 0", name="amounts_sane"),
        CheckConstraint("(rate_bp IS NULL) <> (fixed_minor IS NULL)", name="rate_or_fixed"),
    )

    order_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    order_line_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    role: Mapped[EntryRole] = mapped_column(str_enum(EntryRole))
    promoter_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    rule_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)  # None: the promoter level's rate
    rate_bp: Mapped[int | None] = mapped_column(Integer)  # for a differential: this org's own rate
    fixed_minor: Mapped[int | None] = mapped_column(BigInteger)
    qty: Mapped[int] = mapped_column(Integer)
    base_minor: Mapped[int] = mapped_column(BigInteger)  # order_lines.total_minor at placement
    amount_minor: Mapped[int] = mapped_column(BigInteger)  # earned if nothing is refunded
    currency: Mapped[str] = mapped_column(String(3))


class DistributionEntry(TenantKeyMixin, CommissionScopeMixin, BeneficiaryMixin, CreatedAtMixin, Base):
    """One signed amount owed to (or, negative, by) a beneficiary; written once per source key.

    Owned by the beneficiary's org path (a consumer-promoter's: their home store), so a
    distributor sees its subtree's entries. Amounts never change; status moves forward
    frozen → available → settled → paid, or to reversed when refunds cancel it before settlement.
    """

    __tablename__ = "distribution_entries"
    __consumer_column__ = "beneficiary_consumer_id"
    __table_args__ = (
        tenant_fk(["order_id"], "orders"),
        tenant_fk(["order_line_id"], "order_lines"),
        tenant_fk(["refund_id"], "refunds"),
        tenant_fk(["beneficiary_org_id"], "orgs"),
        UniqueConstraint("tenant_id", "source_key"),
        Index("ix_distribution_entries_scope", "tenant_id", "owner_path", "created_at"),
        Index("ix_distribution_entries_latest", "tenant_id", "created_at"),  # a big subtree's newest (0018)
        Index("ix_distribution_entries_order", "tenant_id", "order_id"),
        Index("ix_distribution_entries_beneficiary", "tenant_id", "beneficiary_kind", "beneficiary_id",
              "status"),
        Index("ix_distribution_entries_frozen_due", "tenant_id", "available_at",
              postgresql_where=text("status = 'frozen'"), sqlite_where=text("status = 'frozen'")),
        Index("ix_distribution_entries_statement", "tenant_id", "statement_id"),
    )

    kind: Mapped[EntryKind] = mapped_column(str_enum(EntryKind))
    role: Mapped[EntryRole] = mapped_column(str_enum(EntryRole))
    order_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    order_line_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    refund_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    base_minor: Mapped[int] = mapped_column(BigInteger, default=0)
    amount_minor: Mapped[int] = mapped_column(BigInteger)  # signed: negative reverses or charges
    currency: Mapped[str] = mapped_column(String(3))
    status: Mapped[EntryStatus] = mapped_column(str_enum(EntryStatus))
    available_at: Mapped[datetime | None] = mapped_column(UtcDateTime)  # set when the order completes
    statement_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)  # settlement's statement (no FK here)
    source_key: Mapped[str] = mapped_column(String(255))
