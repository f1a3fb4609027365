"""Every org's books: its trial balance as of a moment, and a buyer's statement of account."""

import uuid
from collections import defaultdict
from datetime import UTC, datetime

from sqlalchemy import and_, case, func, select
from sqlalchemy.orm import Session

from app.db import utcnow
from app.finance.errors import InvalidPeriod
from app.finance.exports.datasets import DATASETS, Window
from app.finance.models import AccountCode, JournalEntry, JournalLine, LedgerAccount
from app.payments.models import CreditAccount
from app.tenancy.filters import get_visible, scoped, visible
from app.tenancy.models import Org
from app.tenancy.permissions import Action, require
from app.tenancy.scope import Scope

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

# How each kind of entry moves what a buyer owes its supplier (its payable), and where it is shown.
STATEMENT_KINDS = {
    "purchase": "purchases_minor",
    "purchase_return": "returns_minor",
    "purchase_payment": "paid_at_order_minor",
    "purchase_repayment": "repayments_minor",
    "purchase_refund_received": "refunds_received_minor",
}

OWED_MORE = {"purchases_minor", "refunds_received_minor", "other_minor"}  # shown as they raise the debt


def org_trial_balance(session: Session, scope: Scope, *, org_id: uuid.UUID | None = None,
                      as_of: datetime | None = None) -> dict:
    """The accounts of one org (or all I see) with their debits, credits and balance as of a moment.

    The same query as the `trial_balance` export, so the API and the file cannot disagree.
    """
    require(scope, Action.view_finance)
    as_of = as_of or utcnow()
    statement = DATASETS["trial_balance"].build(scope, Window(EPOCH, as_of))
    if org_id is not None:
        get_visible(session, Org, scope, org_id)
        statement = statement.where(LedgerAccount.org_id == org_id)
    accounts = [dict(row) for row in session.execute(statement).mappings()]
    totals: dict[str, dict[str, int]] = defaultdict(lambda: {"debit_minor": 0, "credit_minor": 0})
    for account in accounts:
        totals[account["currency"]]["debit_minor"] += int(account["debit_minor"])
        totals[account["currency"]]["credit_minor"] += int(account["credit_minor"])
    return {"org_id": org_id, "as_of": as_of, "accounts": accounts,
            "totals": [{"currency": currency, **sums,
                        "difference_minor": sums["debit_minor"] - sums["credit_minor"]}
                       for currency, sums in sorted(totals.items())]}


def statement_of_account(session: Session, scope: Scope, *, org_id: uuid.UUID, start: datetime,
                         end: datetime, counterparty_org_id: uuid.UUID | None = None) -> dict:
    """What a buying org owes each supplier: opening, purchases, returns, payments, repayments, closing.

    Read from the buyer's own payable accounts (one per supplier and currency), so it is exactly its
    books; the credit limit and use come from the credit accounts between the two.
    """
    require(scope, Action.view_finance)
    if not start < end:
        raise InvalidPeriod("The period needs from < to.")
    org = get_visible(session, Org, scope, org_id)
    before = JournalEntry.created_at < start
    kind = case((before, "opening"), else_=JournalEntry.kind)
    statement = (select(LedgerAccount.counterparty_org_id, LedgerAccount.currency, kind.label("bucket"),
                        func.sum(JournalLine.amount_minor).label("total"))
                 .join(LedgerAccount, and_(LedgerAccount.tenant_id == JournalLine.tenant_id,
                                           LedgerAccount.id == JournalLine.account_id))
                 .join(JournalEntry, and_(JournalEntry.tenant_id == JournalLine.tenant_id,
                                          JournalEntry.id == JournalLine.entry_id))
                 .where(visible(JournalLine, scope), LedgerAccount.org_id == org.id,
                        LedgerAccount.code == AccountCode.payable, JournalEntry.created_at < end)
                 .group_by(LedgerAccount.counterparty_org_id, LedgerAccount.currency, kind))
    if counterparty_org_id is not None:
        statement = statement.where(LedgerAccount.counterparty_org_id == counterparty_org_id)
    suppliers: dict[tuple, dict] = {}
    for supplier, currency, bucket, total in session.execute(statement):
        row = suppliers.setdefault((supplier, currency), _empty(supplier, currency))
        owed = -int(total)  # a payable grows with credits
        if bucket == "opening":
            row["opening_minor"] += owed
        else:
            field = STATEMENT_KINDS.get(bucket, "other_minor")
            row[field] += owed if field in OWED_MORE else -owed
        row["closing_minor"] += owed
    _add_credit(session, scope, org.id, suppliers)
    return {"org_id": org.id, "from": start, "to": end, "suppliers": sorted(
        suppliers.values(), key=lambda row: (str(row["supplier_org_id"]), row["currency"]))}


def _empty(supplier: uuid.UUID, currency: str) -> dict:
    return {"supplier_org_id": supplier, "currency": currency, "opening_minor": 0,
            **dict.fromkeys(STATEMENT_KINDS.values(), 0), "other_minor": 0, "commissions_minor": None,
            "closing_minor": 0, "credit_limit_minor": None, "credit_used_minor": None}


def _add_credit(session: Session, scope: Scope, buyer_id: uuid.UUID, suppliers: dict) -> None:
    """The credit line each supplier grants, where the caller sees it (the seller's or the buyer's side)."""
    lines = scoped(CreditAccount, scope).where(CreditAccount.buyer_org_id == buyer_id)
    for account in session.scalars(lines):
        row = suppliers.setdefault((account.seller_org_id, account.currency),
                                   _empty(account.seller_org_id, account.currency))
        row["credit_limit_minor"], row["credit_used_minor"] = account.limit_minor, account.used_minor
