"""The double-entry journal: accounts per org, entries, and signed lines that sum to zero."""

import uuid
from enum import StrEnum

from sqlalchemy import BigInteger, CheckConstraint, Index, String, UniqueConstraint, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, CreatedAtMixin, JsonType, OwnerPathMixin, TenantKeyMixin, str_enum
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
    # membership
    points_expense = "points_expense"  # points given to members (earned, adjusted, birthday gifts)
    points_breakage = "points_breakage"  # points that expired unused


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
    # membership
    AccountCode.points_expense: AccountKind.expense,
    AccountCode.points_breakage: AccountKind.revenue,
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
