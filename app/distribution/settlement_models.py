"""Statements, payout attempts, payout accounts and the withholding table (migration 0013)."""

import uuid
from datetime import datetime
from enum import StrEnum

from sqlalchemy import BigInteger, CheckConstraint, Index, Integer, String, UniqueConstraint, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, CreatedAtMixin, OwnerPathMixin, TenantKeyMixin, UtcDateTime, str_enum, utcnow
from app.tenancy.enums import Dataset
from app.tenancy.models import tenant_fk


class StatementStatus(StrEnum):
    building = "building"  # inside a settlement run's transaction only; never committed
    carried = "carried"  # below the minimum payout (or a debt): its balance rolled into the next one
    pending_approval = "pending_approval"
    approved = "approved"
    paying = "paying"  # a payout attempt is claimed (committed) and is being sent
    paid = "paid"
    reopened = "reopened"  # a payout failed after it was sent: approve and pay again


class StatementKind(StrEnum):
    period = "period"  # the tenant's weekly or monthly run
    withdrawal = "withdrawal"  # a promoter asked for their available money now


class Statement(TenantKeyMixin, OwnerPathMixin, CreatedAtMixin, Base):
    """What one beneficiary is owed for one period (or one withdrawal): a sum of settled entries.

    Owned like the beneficiary's entries (the org's path; a consumer-promoter's home store), so a
    distributor sees its subtree's statements at its `commissions` fidelity; a consumer sees theirs.
    """

    __tablename__ = "distribution_statements"
    __dataset__ = Dataset.commissions
    __consumer_column__ = "beneficiary_consumer_id"
    __table_args__ = (
        UniqueConstraint("tenant_id", "beneficiary_kind", "beneficiary_id", "currency", "run_key"),
        Index("ix_distribution_statements_scope", "tenant_id", "owner_path", "created_at"),
        Index("ix_distribution_statements_status", "tenant_id", "status"),
        CheckConstraint("withholding_minor >= 0 AND net_minor = gross_minor - withholding_minor",
                        name="amounts_add_up"),
    )

    kind: Mapped[StatementKind] = mapped_column(str_enum(StatementKind))
    run_key: Mapped[str] = mapped_column(String(80))  # 'weekly:2026-11-30' | 'withdrawal:<uuid>'
    beneficiary_kind: Mapped[str] = mapped_column(String(20))
    beneficiary_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    beneficiary_org_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    beneficiary_consumer_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)  # a consumer reads theirs
    currency: Mapped[str] = mapped_column(String(3))
    period_start: Mapped[datetime] = mapped_column(UtcDateTime)
    period_end: Mapped[datetime] = mapped_column(UtcDateTime)
    status: Mapped[StatementStatus] = mapped_column(str_enum(StatementStatus, 24))
    entry_count: Mapped[int] = mapped_column(Integer, default=0)
    takings_minor: Mapped[int] = mapped_column(BigInteger, default=0)
    commission_minor: Mapped[int] = mapped_column(BigInteger, default=0)
    fee_minor: Mapped[int] = mapped_column(BigInteger, default=0)  # negative: fees borne
    other_minor: Mapped[int] = mapped_column(BigInteger, default=0)  # adjustments, debts carried in
    gross_minor: Mapped[int] = mapped_column(BigInteger, default=0)  # the sum of its entries
    withholding_minor: Mapped[int] = mapped_column(BigInteger, default=0)
    net_minor: Mapped[int] = mapped_column(BigInteger, default=0)  # what is paid
    payout_attempts: Mapped[int] = mapped_column(Integer, default=0)
    approved_by: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    approved_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    paid_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow, onupdate=utcnow)


class PayoutMethod(StrEnum):
    transfer = "transfer"  # Stripe Connect transfer to the beneficiary's connected account
    offline = "offline"  # paid by bank; finance records the bank reference


class PayoutStatus(StrEnum):
    claimed = "claimed"  # committed before the gateway is asked; a retry sends the same request
    sent = "sent"  # the gateway accepted it (or finance recorded the bank transfer)
    failed = "failed"  # refused: the statement is reopened
    reversed = "reversed"  # sent, then reversed or failed at the gateway: the statement is reopened


class Payout(TenantKeyMixin, OwnerPathMixin, CreatedAtMixin, Base):
    """One attempt to pay a statement; the idempotency key makes every retry the same request."""

    __tablename__ = "distribution_payouts"
    __dataset__ = Dataset.commissions
    __consumer_column__ = "beneficiary_consumer_id"
    __table_args__ = (
        tenant_fk(["statement_id"], "distribution_statements"),
        UniqueConstraint("tenant_id", "statement_id", "attempt"),
        UniqueConstraint("tenant_id", "idempotency_key"),
        Index("ix_distribution_payouts_status", "tenant_id", "status"),
        Index("ix_distribution_payouts_gateway_ref", "tenant_id", "gateway_ref"),
        CheckConstraint("amount_minor > 0", name="amount_positive"),
    )

    statement_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    beneficiary_consumer_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    attempt: Mapped[int] = mapped_column(Integer)
    method: Mapped[PayoutMethod] = mapped_column(str_enum(PayoutMethod))
    status: Mapped[PayoutStatus] = mapped_column(str_enum(PayoutStatus))
    amount_minor: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    idempotency_key: Mapped[str] = mapped_column(String(200))
    destination: Mapped[str | None] = mapped_column(String(100))
    source_charge: Mapped[str | None] = mapped_column(String(100))
    gateway_ref: Mapped[str | None] = mapped_column(String(255))
    bank_reference: Mapped[str | None] = mapped_column(String(255))
    tries: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(String(500))
    sent_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow, onupdate=utcnow)


class PayoutAccount(TenantKeyMixin, OwnerPathMixin, CreatedAtMixin, Base):
    """Where a beneficiary is paid: a Stripe connected account (acct_...); none means bank only."""

    __tablename__ = "distribution_payout_accounts"
    __dataset__ = Dataset.commissions
    __table_args__ = (
        UniqueConstraint("tenant_id", "beneficiary_kind", "beneficiary_id"),
        Index("ix_distribution_payout_accounts_scope", "tenant_id", "owner_path"),
    )

    beneficiary_kind: Mapped[str] = mapped_column(String(20))
    beneficiary_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    connect_account: Mapped[str] = mapped_column(String(100))


class WithholdingBracket(TenantKeyMixin, OwnerPathMixin, Base):
    """A row of the tenant's withholding table for individuals (see app/distribution/withholding.py)."""

    __tablename__ = "withholding_brackets"
    __rls__ = "tenant"
    __table_args__ = (
        UniqueConstraint("tenant_id", "above_minor"),
        CheckConstraint("above_minor >= 0 AND rate_bps BETWEEN 0 AND 10000 AND quick_deduction_minor >= 0",
                        name="bracket_sane"),
    )

    above_minor: Mapped[int] = mapped_column(BigInteger)
    rate_bps: Mapped[int] = mapped_column(Integer)
    quick_deduction_minor: Mapped[int] = mapped_column(BigInteger, default=0)
