"""The chart of accounts: get-or-create an org's account, balances in my scope."""

import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.db import insert_or_ignore, uuid7
from app.finance.models import CHART, AccountCode, AccountKind, JournalEntry, JournalLine, LedgerAccount
from app.tenancy.filters import scoped
from app.tenancy.models import Org
from app.tenancy.scope import Scope

DEBIT_NORMAL = frozenset({AccountKind.asset, AccountKind.expense})


def account_key(org_id: uuid.UUID, code: AccountCode, counterparty_org_id: uuid.UUID | None,
                currency: str) -> str:
    return f"{org_id}:{code.value}:{counterparty_org_id or '-'}:{currency}"


def ensure_account(session: Session, *, tenant_id: uuid.UUID, org: Org, code: AccountCode,
                   currency: str, counterparty_org_id: uuid.UUID | None = None) -> LedgerAccount:
    """The org's account for `code` (and counterparty), created on first use; safe under races."""
    key = account_key(org.id, code, counterparty_org_id, currency)
    found = session.scalars(select(LedgerAccount).where(
        LedgerAccount.tenant_id == tenant_id, LedgerAccount.key == key)).one_or_none()
    if found is not None:
        return found
    session.execute(insert_or_ignore(session, LedgerAccount, conflict_on=["tenant_id", "key"]).values(
        tenant_id=tenant_id, id=uuid7(), key=key, org_id=org.id, code=code, kind=CHART[code],
        counterparty_org_id=counterparty_org_id, currency=currency, owner_path=org.path,
    ))
    return session.scalars(select(LedgerAccount).where(
        LedgerAccount.tenant_id == tenant_id, LedgerAccount.key == key)).one()


def natural_balance(kind: AccountKind, debit_minus_credit: int) -> int:
    """Balance in the account's own direction: assets and expenses debit, the rest credit."""
    return debit_minus_credit if kind in DEBIT_NORMAL else -debit_minus_credit


@dataclass(frozen=True)
class AccountBalance:
    account: LedgerAccount
    debit_minus_credit: int

    @property
    def balance(self) -> int:
        return natural_balance(self.account.kind, self.debit_minus_credit)


def account_balances(session: Session, scope: Scope, *, org_id: uuid.UUID | None = None,
                     code: AccountCode | None = None, as_of: datetime | None = None) -> list[AccountBalance]:
    """Every account in my scope with the sum of its lines, of entries before `as_of` if given."""
    totals = (select(JournalLine.account_id, func.sum(JournalLine.amount_minor).label("total"))
              .where(JournalLine.tenant_id == scope.tenant_id)
              .group_by(JournalLine.account_id))
    if as_of is not None:
        totals = (totals.join(JournalEntry, (JournalEntry.tenant_id == JournalLine.tenant_id)
                              & (JournalEntry.id == JournalLine.entry_id))
                  .where(JournalEntry.created_at < as_of))
    totals = totals.subquery()
    statement = (scoped(LedgerAccount, scope)
                 .add_columns(func.coalesce(totals.c.total, 0))
                 .outerjoin(totals, totals.c.account_id == LedgerAccount.id)
                 .order_by(LedgerAccount.owner_path, LedgerAccount.code))
    if org_id is not None:
        statement = statement.where(LedgerAccount.org_id == org_id)
    if code is not None:
        statement = statement.where(LedgerAccount.code == code)
    return [AccountBalance(account, int(total)) for account, total in session.execute(statement)]
