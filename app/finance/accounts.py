"""The chart of accounts: get-or-create an org's account, ids resolved once a process, balances in scope."""

import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session, scoped_session

from app.db import after_commit, insert_or_ignore, uuid7
from app.finance.models import CHART, AccountCode, AccountKind, JournalEntry, JournalLine, LedgerAccount
from app.orders.cache import TtlCache
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
    _this_transaction(session).created.add((tenant_id, key))  # not cached before it commits
    return session.scalars(select(LedgerAccount).where(
        LedgerAccount.tenant_id == tenant_id, LedgerAccount.key == key)).one()


# --- resolved once per process ---------------------------------------------------------------------

@dataclass(frozen=True)
class AccountRef:
    """What a journal line needs of an account (journal.post_entry); none of it changes once the
    account exists: the app never updates or deletes an account, and its owner path is a snapshot
    (ledger_accounts does not follow an org that moves)."""

    id: uuid.UUID
    currency: str
    owner_path: str


Wanted = tuple[uuid.UUID, AccountCode, uuid.UUID | None]  # org id, code, counterparty org id

_REFS = TtlCache(seconds=3600)  # (tenant id, account key) -> AccountRef of a committed account


def account_refs(session: Session, *, tenant_id: uuid.UUID, currency: str, wanted: Sequence[Wanted],
                 org: Callable[[uuid.UUID], Org]) -> list[AccountRef]:
    """The accounts `wanted` in `currency`, in order: from the process cache, else ONE SELECT for
    all of them, else created (ensure_account, with the org that `org(org_id)` answers).

    For a handler that posts on every order: ids cost no round trip once known. Only accounts
    seen committed are cached (filled after the commit, never one this transaction created, which
    a rolled back savepoint could take away again). The caller reads as the tenant's system.
    """
    keys = [(tenant_id, account_key(org_id, code, counterparty, currency))
            for org_id, code, counterparty in wanted]
    refs = _REFS.get_many(keys, lambda _missing: {})
    missing = [key for _, key in keys if (tenant_id, key) not in refs]
    if missing:
        rows = session.execute(select(LedgerAccount.key, LedgerAccount.id, LedgerAccount.currency,
                                      LedgerAccount.owner_path).where(
            LedgerAccount.tenant_id == tenant_id, LedgerAccount.key.in_(missing))).all()
        found = _this_transaction(session).found
        for key, *columns in rows:
            refs[(tenant_id, key)] = found[(tenant_id, key)] = AccountRef(*columns)
    for (org_id, code, counterparty), key in zip(wanted, keys, strict=True):
        if key not in refs:
            refs[key] = _ref(ensure_account(session, tenant_id=tenant_id, org=org(org_id), code=code,
                                            currency=currency, counterparty_org_id=counterparty))
    return [refs[key] for key in keys]


def _ref(account: LedgerAccount) -> AccountRef:
    return AccountRef(account.id, account.currency, account.owner_path)


@dataclass
class _Pending:
    """Accounts this transaction found and created; the found ones are cached once it commits."""

    transaction: object
    found: dict = field(default_factory=dict)
    created: set = field(default_factory=set)

    def commit(self, session: Session) -> None:
        if session.info.get(_PENDING) is self:
            del session.info[_PENDING]
        safe = {key: ref for key, ref in self.found.items() if key not in self.created}
        _REFS.get_many(list(safe), lambda keys: {key: safe[key] for key in keys})


_PENDING = "tiermall_account_refs"


def _this_transaction(session: Session) -> _Pending:
    """The open transaction's record (a new one once the last committed or rolled back)."""
    if isinstance(session, scoped_session):
        session = session.registry()
    transaction = session.get_transaction()
    pending = session.info.get(_PENDING)
    if pending is None or pending.transaction is not transaction:
        pending = session.info[_PENDING] = _Pending(transaction)
        after_commit(session, lambda: pending.commit(session))
    return pending


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
