"""Finance controls: closed accounting periods, reconciliation runs and the differences they found."""

import uuid
from datetime import datetime
from enum import StrEnum

from sqlalchemy import BigInteger, Index, Integer, String, UniqueConstraint, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, CreatedAtMixin, JsonType, OwnerPathMixin, TenantKeyMixin, UtcDateTime, str_enum
from app.tenancy.models import tenant_fk


class AccountingPeriod(TenantKeyMixin, OwnerPathMixin, CreatedAtMixin, Base):
    """A closed month of a tenant's books: no entry dated in [starts_at, ends_at) posts any more.

    A row exists only once the period is closed (open is the default); the database trigger of
    migration 0015 reads it on every journal entry insert.
    """

    __tablename__ = "accounting_periods"
    __dataset__ = None
    __table_args__ = (UniqueConstraint("tenant_id", "period"),)

    period: Mapped[str] = mapped_column(String(7))  # YYYY-MM, in UTC
    starts_at: Mapped[datetime] = mapped_column(UtcDateTime)
    ends_at: Mapped[datetime] = mapped_column(UtcDateTime)
    closed_by_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)


class RunStatus(StrEnum):
    queued = "queued"
    running = "running"
    done = "done"
    failed = "failed"


class ReconciliationRun(TenantKeyMixin, OwnerPathMixin, CreatedAtMixin, Base):
    """One pass over the gateway's payouts since a moment, matched against our books."""

    __tablename__ = "reconciliation_runs"
    __dataset__ = None
    __table_args__ = (Index("ix_reconciliation_runs_created", "tenant_id", "created_at"),)

    status: Mapped[RunStatus] = mapped_column(str_enum(RunStatus))
    since: Mapped[datetime] = mapped_column(UtcDateTime)
    requested_by_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    finished_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    transactions: Mapped[int] = mapped_column(Integer, default=0)  # balance transactions read
    matched: Mapped[int] = mapped_column(Integer, default=0)
    differences: Mapped[int] = mapped_column(Integer, default=0)
    summary: Mapped[dict] = mapped_column(JsonType, default=dict)  # fees per store, counts per category
    error: Mapped[str | None] = mapped_column(String(500))


class DifferenceKind(StrEnum):
    missing_in_books = "missing_in_books"  # the gateway moved money we did not book
    missing_at_gateway = "missing_at_gateway"  # we booked money the gateway does not show
    amount_mismatch = "amount_mismatch"
    currency_mismatch = "currency_mismatch"


class ReconciliationDifference(TenantKeyMixin, OwnerPathMixin, CreatedAtMixin, Base):
    """One thing that does not match; owned by the selling org when known (its finance sees it)."""

    __tablename__ = "reconciliation_differences"
    __dataset__ = None
    __table_args__ = (
        tenant_fk(["run_id"], "reconciliation_runs"),
        Index("ix_reconciliation_differences_run", "tenant_id", "run_id"),
    )

    run_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    kind: Mapped[DifferenceKind] = mapped_column(str_enum(DifferenceKind, 30))
    category: Mapped[str] = mapped_column(String(40))  # reporting_category: charge, refund, fee, dispute ...
    gateway_ref: Mapped[str | None] = mapped_column(String(255))  # the source (ch_, re_, dp_, tr_, po_)
    balance_transaction: Mapped[str | None] = mapped_column(String(255))
    payout_ref: Mapped[str | None] = mapped_column(String(255))
    order_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    org_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)  # the store (seller) the money belongs to
    gateway_amount_minor: Mapped[int | None] = mapped_column(BigInteger)
    books_amount_minor: Mapped[int | None] = mapped_column(BigInteger)
    gateway_currency: Mapped[str | None] = mapped_column(String(3))
    books_currency: Mapped[str | None] = mapped_column(String(3))
    note: Mapped[str | None] = mapped_column(String(500))
