"""The double-entry journal: accounts per org, entries, and signed lines that sum to zero."""

import uuid
from datetime import datetime
from enum import StrEnum

from sqlalchemy import BigInteger, CheckConstraint, Index, String, UniqueConstraint, Uuid
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
from app.tenancy.enums import ActorKind, Role
from app.tenancy.models import tenant_fk


class AccountKind(StrEnum):
    """Debit-normal kinds (asset, expense) grow with positive lines; the others with negative ones."""

    asset = "asset"
    liability = "liability"
    equity = "equity"
    revenue = "revenue"
    expense = "expense"


class AccountCode(StrEnum):
    gateway_clearing = "gateway_clearing"  # money held at the payment gateway
    cash = "cash"  # the org's bank account (offline transfers, repayments)
    unapplied_receipts = "unapplied_receipts"  # money received that pays no order (to be returned)
    sales_revenue = "sales_revenue"
    sales_returns = "sales_returns"
    gateway_fees = "gateway_fees"
    disputed_funds = "disputed_funds"  # withdrawn by the gateway while a dispute runs
    receivable = "receivable"  # what a buyer org owes (credit on account), per counterparty
    customer_deposits = "customer_deposits"  # a buyer org's money the seller holds, per counterparty
    payable = "payable"  # what we owe an org (commissions, payouts), per counterparty
    commission_expense = "commission_expense"
    points_liability = "points_liability"
    inventory = "inventory"  # a buyer org's goods bought from its supplier (the buyer's books)
    # membership
    points_expense = "points_expense"  # points given to members (earned, adjusted, birthday gifts)
    points_breakage = "points_breakage"  # points that expired unused
    commission_payable = "commission_payable"  # commissions owed to promoters, guides, stores (distribution)
    # distribution settlement
    withholding_payable = "withholding_payable"  # tax withheld from individuals' payouts (劳务报酬)
    distribution_fee_income = "distribution_fee_income"  # withdrawal fees kept
    takings_payable = "takings_payable"  # the brand owes a store its retail takings (分账), per store
    takings_receivable = "takings_receivable"  # the store's side: owed by the brand
    cost_recoveries = "cost_recoveries"  # fees and commissions the brand charges back to stores
    borne_gateway_fees = "borne_gateway_fees"  # a store's share of the gateway fee on its takings
    borne_commissions = "borne_commissions"  # commissions a store bears on its own sales


CHART: dict[AccountCode, AccountKind] = {
    AccountCode.gateway_clearing: AccountKind.asset,
    AccountCode.cash: AccountKind.asset,
    AccountCode.unapplied_receipts: AccountKind.liability,
    AccountCode.sales_revenue: AccountKind.revenue,
    AccountCode.sales_returns: AccountKind.revenue,  # contra-revenue: debit balance
    AccountCode.gateway_fees: AccountKind.expense,
    AccountCode.disputed_funds: AccountKind.asset,
    AccountCode.receivable: AccountKind.asset,
    AccountCode.customer_deposits: AccountKind.liability,
    AccountCode.payable: AccountKind.liability,
    AccountCode.commission_expense: AccountKind.expense,
    AccountCode.points_liability: AccountKind.liability,
    AccountCode.inventory: AccountKind.asset,
    # membership
    AccountCode.points_expense: AccountKind.expense,
    AccountCode.points_breakage: AccountKind.revenue,
    AccountCode.commission_payable: AccountKind.liability,  # distribution
    # distribution settlement
    AccountCode.withholding_payable: AccountKind.liability,
    AccountCode.distribution_fee_income: AccountKind.revenue,
    AccountCode.takings_payable: AccountKind.liability,
    AccountCode.takings_receivable: AccountKind.asset,
    AccountCode.cost_recoveries: AccountKind.revenue,
    AccountCode.borne_gateway_fees: AccountKind.expense,
    AccountCode.borne_commissions: AccountKind.expense,
}


class LedgerAccount(TenantKeyMixin, OwnerPathMixin, CreatedAtMixin, Base):
    """An account of one org (tenant-wide accounts belong to the brand root), maybe per counterparty."""

    __tablename__ = "ledger_accounts"
    __dataset__ = None
    __table_args__ = (
        tenant_fk(["org_id"], "orgs"),
        tenant_fk(["counterparty_org_id"], "orgs"),
        UniqueConstraint("tenant_id", "key"),
        Index("ix_ledger_accounts_scope", "tenant_id", "owner_path"),
    )

    key: Mapped[str] = mapped_column(String(200))  # org:code[:counterparty]:currency, unique per tenant
    org_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    code: Mapped[AccountCode] = mapped_column(str_enum(AccountCode, 40))
    kind: Mapped[AccountKind] = mapped_column(str_enum(AccountKind))
    counterparty_org_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    currency: Mapped[str] = mapped_column(String(3))


class JournalEntry(TenantKeyMixin, OwnerPathMixin, CreatedAtMixin, Base):
    """One balanced posting; append-only, corrected by a reversing entry; source_key makes it idempotent."""

    __tablename__ = "journal_entries"
    __dataset__ = None
    __table_args__ = (
        tenant_fk(["reverses_entry_id"], "journal_entries"),
        UniqueConstraint("tenant_id", "source_key"),
        Index("ix_journal_entries_scope", "tenant_id", "owner_path", "created_at"),
        Index("ix_journal_entries_latest", "tenant_id", "created_at"),  # perf: scoped lists newest first
    )

    kind: Mapped[str] = mapped_column(String(40))  # payment, refund, fee, credit_sale, repayment, reversal
    source_key: Mapped[str] = mapped_column(String(255))
    memo: Mapped[str | None] = mapped_column(String(500))
    currency: Mapped[str] = mapped_column(String(3))
    reverses_entry_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    details: Mapped[dict] = mapped_column(JsonType, default=dict)


class JournalLine(TenantKeyMixin, OwnerPathMixin, Base):
    """A signed amount on one account (debit > 0, credit < 0); owned like its account."""

    __tablename__ = "journal_lines"
    __dataset__ = None
    __table_args__ = (
        tenant_fk(["entry_id"], "journal_entries"),
        tenant_fk(["account_id"], "ledger_accounts"),
        Index("ix_journal_lines_entry", "tenant_id", "entry_id"),
        Index("ix_journal_lines_account", "tenant_id", "account_id"),
        CheckConstraint("amount_minor <> 0", name="amount_nonzero"),
    )

    entry_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    account_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    amount_minor: Mapped[int] = mapped_column(BigInteger)


class ExportStatus(StrEnum):
    queued = "queued"
    running = "running"
    done = "done"
    failed = "failed"


class ExportFormat(StrEnum):
    csv = "csv"
    xlsx = "xlsx"


class ExportJob(TenantKeyMixin, OwnerPathMixin, CreatedAtMixin, Base):
    """One export of a dataset for a period, run as the scope that asked (owned by its org)."""

    __tablename__ = "export_jobs"
    __dataset__ = None
    __table_args__ = (
        tenant_fk(["org_id"], "orgs"),
        tenant_fk(["filter_org_id"], "orgs"),
        Index("ix_export_jobs_scope", "tenant_id", "owner_path", "created_at"),
        CheckConstraint("rows_done >= 0 AND rows_total >= 0", name="progress_sane"),
    )

    dataset: Mapped[str] = mapped_column(String(40))
    format: Mapped[ExportFormat] = mapped_column(str_enum(ExportFormat, 8))
    period_from: Mapped[datetime] = mapped_column(UtcDateTime)
    period_to: Mapped[datetime] = mapped_column(UtcDateTime)
    filter_org_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)  # narrows to that org's subtree
    # who asked: the task rebuilds this scope (with the grants current when it runs)
    org_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    requested_by_kind: Mapped[ActorKind] = mapped_column(str_enum(ActorKind))
    requested_by_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    role: Mapped[Role] = mapped_column(str_enum(Role))
    status: Mapped[ExportStatus] = mapped_column(str_enum(ExportStatus, 12), default=ExportStatus.queued)
    rows_total: Mapped[int] = mapped_column(BigInteger, default=0)
    rows_done: Mapped[int] = mapped_column(BigInteger, default=0)
    file_name: Mapped[str | None] = mapped_column(String(200))  # inside EXPORT_DIR, never a client path
    size_bytes: Mapped[int | None] = mapped_column(BigInteger)
    sha256: Mapped[str | None] = mapped_column(String(64))
    expires_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    error: Mapped[str | None] = mapped_column(String(500))
    finished_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow, onupdate=utcnow)
