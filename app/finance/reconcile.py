"""Reconciliation against the gateway: every balance transaction of every payout since a moment,
matched by `reporting_category` to our payments, refunds, disputes, fees, transfers and payouts.

What does not match becomes a `ReconciliationDifference` finance lists: money the gateway moved
that we did not book (missing_in_books), money we booked that the gateway does not show
(missing_at_gateway), an amount or a currency that differs. A fee is traced to the order and the
store (seller org) it belongs to. One gateway account serves every tenant: a transaction whose
source belongs to no row of this tenant and names another tenant in its metadata is not ours.
Contract for postings of transfers (distribution): source_key `transfer:<tr_id>` and
`transfer_reversal:<trr_id>`.
"""

import uuid
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from app.db import after_commit, utcnow, uuid7
from app.finance.control_models import DifferenceKind, ReconciliationDifference, ReconciliationRun, RunStatus
from app.finance.models import JournalEntry, JournalLine
from app.finance.periods import require_brand_finance
from app.orders.models import Order
from app.paging import CursorKey, Page, paginate
from app.payments.gateway import BalanceTransaction, GatewayPayoutInfo, PaymentGateway
from app.payments.models import (
    GatewayPayout,
    Payment,
    PaymentDispute,
    PaymentRefund,
    PaymentStatus,
    RefundChannel,
    RefundExecutionStatus,
    RefundReason,
)
from app.tenancy.elevation import Why, elevated, enter_scope, run_as_system
from app.tenancy.filters import get_visible, scoped
from app.tenancy.models import Tenant
from app.tenancy.orgs import brand_root
from app.tenancy.permissions import Action, require
from app.tenancy.scope import PLATFORM_SCOPE, Scope

DEFAULT_WINDOW = timedelta(days=31)
MAX_PAGES = 1000  # 100k transactions per payout: a stop, not a limit anyone should reach
K = DifferenceKind


# --- use cases (API) ----------------------------------------------------------------------------

def start_run(session: Session, scope: Scope, *, since: datetime | None = None,
              enqueue: Callable[[uuid.UUID, uuid.UUID], None] | None = None) -> ReconciliationRun:
    """Queue a reconciliation of the payouts since `since` (31 days by default); a task runs it."""
    require_brand_finance(session, scope, Action.reconcile)
    root_path = scope.org_path
    run = ReconciliationRun(tenant_id=scope.tenant_id, id=uuid7(), owner_path=root_path,
                            status=RunStatus.queued, since=since or utcnow() - DEFAULT_WINDOW,
                            requested_by_id=scope.actor_id, transactions=0, matched=0, differences=0,
                            summary={})
    session.add(run)
    session.flush()
    if enqueue is not None:
        tenant_id, run_id = run.tenant_id, run.id
        after_commit(session, lambda: enqueue(tenant_id, run_id))
    return run


def list_runs(session: Session, scope: Scope, *, limit: int = 50,
              cursor: CursorKey | None = None) -> Page[ReconciliationRun]:
    """Runs of my tenant, newest first, a page at a time."""
    require(scope, Action.view_finance)
    return paginate(session, scoped(ReconciliationRun, scope), ReconciliationRun, limit=limit, cursor=cursor)


def get_run(session: Session, scope: Scope, run_id: uuid.UUID) -> ReconciliationRun:
    require(scope, Action.view_finance)
    return get_visible(session, ReconciliationRun, scope, run_id)


def list_differences(session: Session, scope: Scope, *, run_id: uuid.UUID, kind: DifferenceKind | None = None,
                     limit: int = 50, cursor: CursorKey | None = None) -> Page[ReconciliationDifference]:
    """The differences of a run I see (a store's finance: its own), in the order they were found."""
    require(scope, Action.view_finance)
    statement = scoped(ReconciliationDifference, scope).where(ReconciliationDifference.run_id == run_id)
    if kind is not None:
        statement = statement.where(ReconciliationDifference.kind == kind)
    return paginate(session, statement, ReconciliationDifference, limit=limit, cursor=cursor,
                    newest_first=False)


# --- reading the gateway ------------------------------------------------------------------------

def _all_pages(fetch: Callable[..., list]) -> list:
    found: list = []
    after = None
    for _ in range(MAX_PAGES):
        page = fetch(starting_after=after)
        found.extend(page)
        if len(page) < 100:
            return found
        after = page[-1].id
    raise RuntimeError("more pages than a reconciliation reads")


def read_gateway(gateway: PaymentGateway, since: datetime) -> list[tuple[GatewayPayoutInfo, list]]:
    """Every payout created since `since`, each with its balance transactions (all pages)."""
    payouts = _all_pages(lambda starting_after: gateway.list_payouts(
        created_gte=int(since.timestamp()), limit=100, starting_after=starting_after))
    return [(payout, _all_pages(lambda starting_after, p=payout.id: gateway.list_balance_transactions(
        payout=p, limit=100, starting_after=starting_after))) for payout in payouts]


# --- matching -----------------------------------------------------------------------------------

@dataclass(frozen=True)
class Booked:
    """Our side of one gateway source: what we booked, and whose it is."""

    amount_minor: int
    currency: str
    order_id: uuid.UUID | None = None
    status: str | None = None


@dataclass
class Matcher:
    """Matches one tenant's balance transactions against its rows; collects differences."""

    session: Session
    tenant_id: uuid.UUID
    run: ReconciliationRun
    root_path: str
    differences: list[dict] = field(default_factory=list)
    seen: set[str] = field(default_factory=set)
    counts: Counter = field(default_factory=Counter)
    fees_by_store: dict = field(default_factory=lambda: defaultdict(int))
    orders: dict = field(default_factory=dict)  # order id → (seller org id, seller path)

    def differ(self, kind: DifferenceKind, category: str, *, bt: BalanceTransaction | None = None,
               payout: str | None = None, source: str | None = None, order_id: uuid.UUID | None = None,
               gateway: tuple[int, str] | None = None, books: tuple[int, str] | None = None,
               note: str | None = None) -> None:
        org_id, path = self.orders.get(order_id, (None, self.root_path))
        self.differences.append(dict(
            tenant_id=self.tenant_id, id=uuid7(), run_id=self.run.id, owner_path=path, created_at=utcnow(),
            kind=kind, category=category, gateway_ref=source or (bt.source if bt else None),
            balance_transaction=bt.id if bt else None, payout_ref=payout, order_id=order_id, org_id=org_id,
            gateway_amount_minor=gateway[0] if gateway else None,
            gateway_currency=gateway[1] if gateway else None,
            books_amount_minor=books[0] if books else None, books_currency=books[1] if books else None,
            note=note))

    # -- one payout
    def payout(self, payout: GatewayPayoutInfo, transactions: list[BalanceTransaction]) -> None:
        ours = self._ours(transactions)
        for bt in transactions:
            self.counts["transactions"] += 1
            self.seen.add(bt.source or bt.id)
            booked = ours.get((bt.reporting_category, bt.source))
            if bt.reporting_category == "payout":
                self._compare(bt, booked, -bt.amount_minor, payout.id)
                continue
            if booked is None and bt.tenant_hint and bt.tenant_hint != str(self.tenant_id):
                self.counts["other_tenants"] += 1
                continue
            self._compare(bt, booked, _booked_amount(bt), payout.id)
            if bt.fee_minor:
                self._fee(bt, booked, ours.get(("fee", bt.id)), payout.id)
        moved = sum(bt.net_minor for bt in transactions if bt.reporting_category != "payout")
        if moved != payout.amount_minor:
            self.differ(K.amount_mismatch, "payout", payout=payout.id, source=payout.id,
                        gateway=(payout.amount_minor, payout.currency), books=(moved, payout.currency),
                        note="the payout's balance transactions do not add up to it")

    def _compare(self, bt: BalanceTransaction, booked: Booked | None, amount: int, payout: str) -> None:
        category = bt.reporting_category
        if booked is None:
            self.differ(K.missing_in_books, category, bt=bt, payout=payout, gateway=(amount, bt.currency))
        elif booked.currency != bt.currency:
            self.differ(K.currency_mismatch, category, bt=bt, payout=payout, order_id=booked.order_id,
                        gateway=(amount, bt.currency), books=(booked.amount_minor, booked.currency))
        elif booked.amount_minor != amount:
            self.differ(K.amount_mismatch, category, bt=bt, payout=payout, order_id=booked.order_id,
                        gateway=(amount, bt.currency), books=(booked.amount_minor, booked.currency))
        else:
            self.counts["matched"] += 1
            self.counts[f"matched_{category}"] += 1

    def _fee(self, bt: BalanceTransaction, source: Booked | None, fee: Booked | None, payout: str) -> None:
        order_id = source.order_id if source else None
        if order_id in self.orders:
            self.fees_by_store[str(self.orders[order_id][0])] += bt.fee_minor
        if fee is None:
            self.differ(K.missing_in_books, "fee", bt=bt, payout=payout, order_id=order_id,
                        gateway=(bt.fee_minor, bt.currency), note="the gateway's fee is not booked")
        elif (fee.amount_minor, fee.currency) != (bt.fee_minor, bt.currency):
            kind = K.currency_mismatch if fee.currency != bt.currency else K.amount_mismatch
            self.differ(kind, "fee", bt=bt, payout=payout, order_id=order_id,
                        gateway=(bt.fee_minor, bt.currency), books=(fee.amount_minor, fee.currency))
        else:
            self.counts["matched_fee"] += 1

    # -- our rows for a page of transactions, a handful of queries per payout
    def _ours(self, transactions: list[BalanceTransaction]) -> dict[tuple[str, str | None], Booked]:
        by_category: dict[str, set[str]] = defaultdict(set)
        for bt in transactions:
            by_category[bt.reporting_category].add(bt.source or "")
        ours: dict[tuple[str, str | None], Booked] = {}
        for payment in self._rows(Payment, Payment.charge_ref, by_category["charge"]):
            ours["charge", payment.charge_ref] = Booked(payment.received_minor, payment.currency,
                                                        payment.order_id, payment.status.value)
        refunds = by_category["refund"] | by_category["refund_failure"]
        for row in self._rows(PaymentRefund, PaymentRefund.gateway_ref, refunds):
            booked = Booked(row.amount_minor, row.currency, row.order_id, row.status.value)
            ours["refund", row.gateway_ref] = booked
            if row.status is RefundExecutionStatus.failed:
                ours["refund_failure", row.gateway_ref] = booked
        disputes = by_category["dispute"] | by_category["dispute_reversal"]
        for row in self._rows(PaymentDispute, PaymentDispute.gateway_ref, disputes):
            booked = Booked(row.amount_minor, row.currency, row.order_id, row.status.value)
            ours["dispute", row.gateway_ref] = booked
            if row.status.value == "won":
                ours["dispute_reversal", row.gateway_ref] = booked
        keys = {f"fee:{bt.id}": ("fee", bt.id) for bt in transactions if bt.fee_minor}
        keys |= {f"{c}:{s}": (c, s) for c in ("transfer", "transfer_reversal") for s in by_category[c]}
        for source_key, (amount, currency) in self._entries(keys).items():
            ours[keys[source_key]] = Booked(amount, currency)
        payouts = by_category["payout"]
        if payouts:
            with elevated(self.session, Why.finance_controls, scope=PLATFORM_SCOPE):
                for row in self.session.scalars(select(GatewayPayout).where(GatewayPayout.id.in_(payouts))):
                    ours["payout", row.id] = Booked(row.amount_minor, row.currency, None, row.status)
        self._remember_orders({b.order_id for b in ours.values() if b.order_id} - set(self.orders))
        return ours

    def _rows(self, model, column, values: Iterable[str]) -> list:
        values = [v for v in values if v]
        if not values:
            return []
        return list(self.session.scalars(select(model).where(model.tenant_id == self.tenant_id,
                                                             column.in_(values))))

    def _entries(self, keys: dict[str, tuple]) -> dict[str, tuple[int, str]]:
        """source_key → (the entry's debit total, currency) for the entries that exist."""
        if not keys:
            return {}
        rows = self.session.execute(
            select(JournalEntry.source_key, JournalEntry.currency,
                   func.sum(JournalLine.amount_minor).filter(JournalLine.amount_minor > 0))
            .join(JournalLine, (JournalLine.tenant_id == JournalEntry.tenant_id)
                  & (JournalLine.entry_id == JournalEntry.id))
            .where(JournalEntry.tenant_id == self.tenant_id, JournalEntry.source_key.in_(list(keys)))
            .group_by(JournalEntry.source_key, JournalEntry.currency))
        return {key: (int(total or 0), currency) for key, currency, total in rows}

    def _remember_orders(self, order_ids: set[uuid.UUID]) -> None:
        if order_ids:
            for order_id, org_id, path in self.session.execute(
                    select(Order.id, Order.seller_org_id, Order.seller_path)
                    .where(Order.tenant_id == self.tenant_id, Order.id.in_(list(order_ids)))):
                self.orders[order_id] = (org_id, path)

    # -- what we booked that the payouts did not show: asked of the gateway one by one
    def missing_at_gateway(self, gateway: PaymentGateway, since: datetime) -> None:
        t = self.tenant_id
        ours: list[tuple[str, str, Booked]] = []
        for p in self.session.scalars(select(Payment).where(
                Payment.tenant_id == t, Payment.gateway == gateway.name, Payment.charge_ref.is_not(None),
                Payment.status.in_((PaymentStatus.succeeded, PaymentStatus.refunded,
                                    PaymentStatus.amount_mismatch)), Payment.created_at >= since)):
            ours.append(("charge", p.charge_ref, Booked(p.received_minor, p.currency, p.order_id)))
        for r in self.session.scalars(select(PaymentRefund).where(
                PaymentRefund.tenant_id == t, PaymentRefund.channel == RefundChannel.gateway,
                PaymentRefund.status == RefundExecutionStatus.succeeded,
                PaymentRefund.gateway_ref.is_not(None),
                PaymentRefund.reason != RefundReason.dispute_lost,  # that money left as the dispute
                PaymentRefund.created_at >= since)):
            ours.append(("refund", r.gateway_ref, Booked(r.amount_minor, r.currency, r.order_id)))
        for d in self.session.scalars(select(PaymentDispute).where(
                PaymentDispute.tenant_id == t, PaymentDispute.created_at >= since)):
            ours.append(("dispute", d.gateway_ref, Booked(d.amount_minor, d.currency, d.order_id)))
        unseen = [item for item in ours if item[1] not in self.seen]
        self._remember_orders({b.order_id for _, _, b in unseen if b.order_id} - set(self.orders))
        for category, source, booked in unseen:
            if gateway.list_balance_transactions(source=source, limit=1):
                self.counts["not_yet_paid_out"] += 1  # at the gateway, in a payout still to come
                continue
            self.differ(K.missing_at_gateway, category, source=source, order_id=booked.order_id,
                        books=(booked.amount_minor, booked.currency))


def _booked_amount(bt: BalanceTransaction) -> int:
    """The transaction's amount in the direction our rows keep it (refunds and disputes positive)."""
    if bt.reporting_category in ("refund", "dispute", "transfer"):
        return -bt.amount_minor
    return bt.amount_minor


# --- the run (a task calls this) -------------------------------------------------------------------

def run_reconciliation(session: Session, *, tenant_id: uuid.UUID, run_id: uuid.UUID,
                       gateway: PaymentGateway) -> ReconciliationRun:
    """Read the gateway, match, write the differences and the run's figures; the caller commits."""
    run = session.get(ReconciliationRun, (tenant_id, run_id))
    session.execute(update(ReconciliationRun).where(
        ReconciliationRun.tenant_id == tenant_id, ReconciliationRun.id == run_id)
        .values(status=RunStatus.running))
    matcher = Matcher(session, tenant_id, run, brand_root(session, tenant_id).path)
    for payout, transactions in read_gateway(gateway, run.since):
        matcher.payout(payout, transactions)
    matcher.missing_at_gateway(gateway, run.since)
    if matcher.differences:
        session.execute(ReconciliationDifference.__table__.insert(), matcher.differences)
    counts = matcher.counts
    session.execute(update(ReconciliationRun).where(
        ReconciliationRun.tenant_id == tenant_id, ReconciliationRun.id == run_id).values(
        status=RunStatus.done, finished_at=utcnow(), transactions=counts["transactions"],
        matched=counts["matched"], differences=len(matcher.differences),
        summary={"counts": dict(counts), "fees_by_store": dict(matcher.fees_by_store)}))
    session.expire(run)
    return run


def stale_runs(session: Session, *, older_than: timedelta = timedelta(minutes=5),
               stuck_after: timedelta = timedelta(hours=2)) -> list[tuple[uuid.UUID, uuid.UUID]]:
    """(tenant, run) of every run queued too long or running too long, every tenant (a sweep)."""
    enter_scope(session, Why.sweep_tenants, scope=PLATFORM_SCOPE)
    tenant_ids = session.scalars(select(Tenant.id)).all()
    now, due = utcnow(), []
    for tenant_id in tenant_ids:
        run_as_system(session, tenant_id)
        run = ReconciliationRun
        queued = (run.status == RunStatus.queued) & (run.created_at < now - older_than)
        stuck = (run.status == RunStatus.running) & (run.created_at < now - stuck_after)
        due += session.execute(select(run.tenant_id, run.id).where(
            run.tenant_id == tenant_id, queued | stuck)).all()
    return [tuple(row) for row in due]


def fail_run(session: Session, *, tenant_id: uuid.UUID, run_id: uuid.UUID, error: str) -> None:
    session.execute(update(ReconciliationRun).where(
        ReconciliationRun.tenant_id == tenant_id, ReconciliationRun.id == run_id)
        .values(status=RunStatus.failed, finished_at=utcnow(), error=error[:500]))
