"""The one registry of exportable datasets: name → query builder and documented columns.

Adding a dataset is one entry in DATASETS. A builder returns a SELECT of exactly the documented
columns (labelled by their names, money in minor units next to a `currency` column), already
filtered to the scope (the application wall; RLS is the other), the period and the org. The
human-readable amount columns are added by the writers, never by a builder. A dataset with
personal columns also selects the owner paths that decide each row's fidelity, last (`paths`).
"""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import BigInteger, ColumnElement, Select, and_, case, cast, func, literal, or_, select

from app.finance.accounts import DEBIT_NORMAL
from app.finance.models import JournalEntry, JournalLine, LedgerAccount
from app.orders.models import Order, OrderLine, Refund
from app.payments.models import CreditAccount, CreditEntry, Payment
from app.tenancy.enums import Dataset
from app.tenancy.filters import path_matches, visible
from app.tenancy.scope import PathRule, Scope


@dataclass(frozen=True)
class Column:
    name: str
    doc: str
    money: bool = False  # minor units; the file also has `<name without _minor>` as a decimal
    personal: str | None = None  # how it is masked below full fidelity: name, phone or text


@dataclass(frozen=True)
class Window:
    """What one export covers: [start, end) and, optionally, one org's subtree."""

    start: datetime
    end: datetime
    org_path: str | None = None


@dataclass(frozen=True)
class ExportDataset:
    name: str
    doc: str
    columns: tuple[Column, ...]
    build: Callable[[Scope, Window], Select]
    fidelity_dataset: Dataset | None = None  # whose view decides the fidelity of personal columns
    paths: int = 0  # how many trailing owner-path columns the builder adds for that decision

    @property
    def personal(self) -> bool:
        return any(column.personal for column in self.columns)


def human_name(column: Column) -> str:
    return column.name.removesuffix("_minor")


def header(dataset: ExportDataset) -> list[str]:
    """The file's columns: each money column is followed by its decimal amount."""
    names = []
    for column in dataset.columns:
        names.append(column.name)
        if column.money:
            names.append(human_name(column))
    return names


def _in_period(column, window: Window):
    return and_(column >= window.start, column < window.end)


def _under(window: Window, *columns):
    """Rows owned within the chosen org's subtree (any of the given path columns)."""
    if window.org_path is None:
        return literal(True)
    rule = PathRule(window.org_path, False, None)
    return or_(*(path_matches(column, rule) for column in columns))


# --- builders ------------------------------------------------------------------------------------

def _orders(scope: Scope, window: Window) -> Select:
    return (select(Order.id.label("order_id"), Order.created_at, Order.flow, Order.status,
                   Order.seller_org_id, Order.buyer_org_id, Order.buyer_consumer_id, Order.currency,
                   Order.goods_minor, Order.discount_minor, Order.shipping_minor, Order.total_minor,
                   Order.refunded_minor, Order.payment_method, Order.paid_at,
                   Order.ship_to["name"].as_string().label("ship_to_name"),
                   Order.ship_to["phone"].as_string().label("ship_to_phone"),
                   Order.note, Order.owner_path, Order.seller_path)
            .where(visible(Order, scope), _in_period(Order.created_at, window),
                   _under(window, Order.owner_path, Order.seller_path))
            .order_by(Order.created_at, Order.id))


def _order_lines(scope: Scope, window: Window) -> Select:
    return (select(OrderLine.order_id, OrderLine.line_no, Order.created_at, OrderLine.sku_id,
                   OrderLine.sku_code, OrderLine.name, OrderLine.qty, Order.currency,
                   OrderLine.unit_price_minor, OrderLine.goods_minor, OrderLine.discount_minor,
                   OrderLine.total_minor, OrderLine.refunded_qty, OrderLine.refunded_minor)
            .join(Order, and_(Order.tenant_id == OrderLine.tenant_id, Order.id == OrderLine.order_id))
            .where(visible(OrderLine, scope), visible(Order, scope), _in_period(Order.created_at, window),
                   _under(window, OrderLine.owner_path, OrderLine.seller_path))
            .order_by(Order.created_at, OrderLine.order_id, OrderLine.line_no))


def _payments(scope: Scope, window: Window) -> Select:
    return (select(Payment.id.label("payment_id"), Payment.created_at, Payment.order_id, Payment.gateway,
                   Payment.gateway_ref, Payment.status, Payment.currency, Payment.amount_minor,
                   Payment.received_minor, Payment.refunded_minor, Payment.reference)
            .where(visible(Payment, scope), _in_period(Payment.created_at, window),
                   _under(window, Payment.owner_path, Payment.seller_path))
            .order_by(Payment.created_at, Payment.id))


def _refunds(scope: Scope, window: Window) -> Select:
    return (select(Refund.id.label("refund_id"), Refund.created_at, Refund.order_id, Refund.kind,
                   Refund.status, Refund.currency, Refund.amount_minor, Refund.shipping_minor,
                   Refund.refunded_at, Refund.gateway_ref, Refund.reason, Refund.owner_path,
                   Refund.seller_path)
            .where(visible(Refund, scope), _in_period(Refund.created_at, window),
                   _under(window, Refund.owner_path, Refund.seller_path))
            .order_by(Refund.created_at, Refund.id))


def _credit(scope: Scope, window: Window) -> Select:
    return (select(CreditEntry.id.label("credit_entry_id"), CreditEntry.created_at,
                   CreditAccount.seller_org_id, CreditAccount.buyer_org_id, CreditEntry.kind,
                   CreditEntry.order_id, CreditAccount.currency, CreditEntry.amount_minor,
                   CreditEntry.outstanding_minor, CreditEntry.reference)
            .join(CreditAccount, and_(CreditAccount.tenant_id == CreditEntry.tenant_id,
                                      CreditAccount.id == CreditEntry.account_id))
            .where(visible(CreditEntry, scope), _in_period(CreditEntry.created_at, window),
                   _under(window, CreditEntry.owner_path))
            .order_by(CreditEntry.created_at, CreditEntry.id))


def _journal_lines(scope: Scope, window: Window) -> Select:
    amount = JournalLine.amount_minor
    return (select(JournalLine.id.label("line_id"), JournalLine.entry_id, JournalEntry.created_at,
                   JournalEntry.kind.label("entry_kind"), JournalEntry.source_key, LedgerAccount.org_id,
                   JournalLine.account_id, LedgerAccount.code.label("account_code"),
                   LedgerAccount.counterparty_org_id, JournalEntry.currency,
                   amount, case((amount > 0, amount), else_=0).label("debit_minor"),
                   case((amount < 0, -amount), else_=0).label("credit_minor"))
            .join(JournalEntry, and_(JournalEntry.tenant_id == JournalLine.tenant_id,
                                     JournalEntry.id == JournalLine.entry_id))
            .join(LedgerAccount, and_(LedgerAccount.tenant_id == JournalLine.tenant_id,
                                      LedgerAccount.id == JournalLine.account_id))
            .where(visible(JournalLine, scope), _in_period(JournalEntry.created_at, window),
                   _under(window, JournalLine.owner_path))
            .order_by(JournalEntry.created_at, JournalLine.entry_id, JournalLine.id))


def _total(amounts) -> ColumnElement:
    """A sum of minor units as an integer: PostgreSQL's sum(bigint) is `numeric`, which came back
    as a Decimal and went into the XLSX as a text cell a clerk could not add up."""
    return cast(func.coalesce(func.sum(amounts), 0), BigInteger)


def _trial_balance(scope: Scope, window: Window) -> Select:
    """Per account: the balance before the period, the period's debits and credits, the closing."""
    dated = (select(JournalLine.account_id, JournalLine.amount_minor, JournalEntry.created_at)
             .join(JournalEntry, and_(JournalEntry.tenant_id == JournalLine.tenant_id,
                                      JournalEntry.id == JournalLine.entry_id))
             .where(visible(JournalLine, scope), JournalEntry.created_at < window.end,
                    _under(window, JournalLine.owner_path))
             .subquery())
    before = dated.c.created_at < window.start
    amount = dated.c.amount_minor
    opening = _total(case((before, amount), else_=0))
    debits = _total(case((and_(~before, amount > 0), amount), else_=0))
    credits = _total(case((and_(~before, amount < 0), -amount), else_=0))
    closing = _total(amount)
    normal = case((LedgerAccount.kind.in_([kind.value for kind in DEBIT_NORMAL]), closing), else_=-closing)
    return (select(LedgerAccount.id.label("account_id"), LedgerAccount.org_id,
                   LedgerAccount.code.label("account_code"), LedgerAccount.kind.label("account_kind"),
                   LedgerAccount.counterparty_org_id, LedgerAccount.currency,
                   opening.label("opening_minor"), debits.label("debit_minor"),
                   credits.label("credit_minor"), closing.label("closing_minor"),
                   normal.label("balance_minor"))
            .join(dated, dated.c.account_id == LedgerAccount.id)
            .where(visible(LedgerAccount, scope))
            .group_by(LedgerAccount.id, LedgerAccount.org_id, LedgerAccount.code, LedgerAccount.kind,
                      LedgerAccount.counterparty_org_id, LedgerAccount.currency, LedgerAccount.owner_path)
            .order_by(LedgerAccount.owner_path, LedgerAccount.code, LedgerAccount.id))


C = Column
_CREATED = C("created_at", "When the row was created (UTC)")
_CURRENCY = C("currency", "ISO 4217 code of every amount in the row")

DATASETS: dict[str, ExportDataset] = {d.name: d for d in (
    ExportDataset("orders", "Orders placed in the period, seen from the buyer's or the seller's side", (
        C("order_id", "Order id"), _CREATED, C("flow", "purchase, replenish, retail"),
        C("status", "Order status at export time"), C("seller_org_id", "Selling org"),
        C("buyer_org_id", "Buying org (B2B), empty for retail"),
        C("buyer_consumer_id", "Buying consumer (retail)"), _CURRENCY,
        C("goods_minor", "Goods before discount", money=True), C("discount_minor", "Discount", money=True),
        C("shipping_minor", "Shipping", money=True), C("total_minor", "Total charged", money=True),
        C("refunded_minor", "Refunded so far", money=True),
        C("payment_method", "stripe, credit, offline"), C("paid_at", "When it was paid (UTC)"),
        C("ship_to_name", "Recipient's name", personal="name"),
        C("ship_to_phone", "Recipient's phone", personal="phone"),
        C("note", "The buyer's note (free text)", personal="text"),
    ), _orders, Dataset.orders, paths=2),
    ExportDataset("order_lines", "Lines of the orders placed in the period", (
        C("order_id", "Order id"), C("line_no", "Line number in the order"),
        C("created_at", "When the order was placed (UTC)"), C("sku_id", "SKU id"),
        C("sku_code", "SKU code"), C("name", "Product name at order time"), C("qty", "Units"),
        _CURRENCY, C("unit_price_minor", "Unit price", money=True),
        C("goods_minor", "Units x unit price", money=True), C("discount_minor", "Discount share", money=True),
        C("total_minor", "Line total", money=True), C("refunded_qty", "Units refunded"),
        C("refunded_minor", "Refunded on this line", money=True),
    ), _order_lines),
    ExportDataset("payments", "Payment attempts created in the period", (
        C("payment_id", "Payment id"), _CREATED, C("order_id", "Order paid"),
        C("gateway", "stripe, offline, credit"), C("gateway_ref", "PaymentIntent or transfer reference"),
        C("status", "pending, succeeded, failed, amount_mismatch, refunded"), _CURRENCY,
        C("amount_minor", "Amount asked", money=True), C("received_minor", "Amount received", money=True),
        C("refunded_minor", "Refunded from this payment", money=True),
        C("reference", "Bank reference of an offline payment"),
    ), _payments),
    ExportDataset("refunds", "After-sales refunds requested in the period", (
        C("refund_id", "Refund id"), _CREATED, C("order_id", "Order"),
        C("kind", "Refund kind"), C("status", "Refund status at export time"), _CURRENCY,
        C("amount_minor", "Amount refunded (or to refund)", money=True),
        C("shipping_minor", "Part of the amount that is shipping", money=True),
        C("refunded_at", "When the money went back (UTC)"), C("gateway_ref", "Gateway refund reference"),
        C("reason", "The requester's reason (free text)", personal="text"),
    ), _refunds, Dataset.orders, paths=2),
    ExportDataset("credit", "Credit on account: charges, repayments and credit notes of the period", (
        C("credit_entry_id", "Credit entry id"), _CREATED, C("seller_org_id", "The org granting credit"),
        C("buyer_org_id", "The org using it"), C("kind", "charge, repayment, credit_note"),
        C("order_id", "Order charged, if any"), _CURRENCY, C("amount_minor", "Amount", money=True),
        C("outstanding_minor", "Still owed on this charge", money=True),
        C("reference", "Bank reference of a repayment"),
    ), _credit),
    ExportDataset("journal_lines", "Journal lines of the entries posted in the period", (
        C("line_id", "Journal line id"), C("entry_id", "Journal entry id"),
        C("created_at", "When the entry was posted (UTC)"), C("entry_kind", "What the entry records"),
        C("source_key", "What caused it (idempotency key of the posting)"), C("org_id", "The account's org"),
        C("account_id", "Ledger account id"), C("account_code", "Account in the chart"),
        C("counterparty_org_id", "The other org of a per-counterparty account"), _CURRENCY,
        C("amount_minor", "Signed: debit > 0, credit < 0", money=True),
        C("debit_minor", "Debit (0 for a credit line)", money=True),
        C("credit_minor", "Credit (0 for a debit line)", money=True),
    ), _journal_lines),
    ExportDataset("trial_balance", "Every account with lines up to the period's end", (
        C("account_id", "Ledger account id"), C("org_id", "The account's org"),
        C("account_code", "Account in the chart"),
        C("account_kind", "asset, liability, equity, revenue, expense"),
        C("counterparty_org_id", "The other org of a per-counterparty account"), _CURRENCY,
        C("opening_minor", "Debit minus credit before the period", money=True),
        C("debit_minor", "Debits in the period", money=True),
        C("credit_minor", "Credits in the period", money=True),
        C("closing_minor", "Debit minus credit at the period's end", money=True),
        C("balance_minor", "Closing balance in the account's normal direction", money=True),
    ), _trial_balance),
)}


# invoices (finance-b): defined next to the invoice rules; the module adds its entry to DATASETS
import app.finance.invoice_export  # noqa: E402, F401  (it builds on the types above)


def dataset_names() -> list[str]:
    return list(DATASETS)

