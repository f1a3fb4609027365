"""Posting to the journal: balanced entries, idempotent by source key, corrected by reversal."""

import uuid
from collections.abc import Iterable, Sequence
from functools import cache

from sqlalchemy import bindparam, func, select
from sqlalchemy.orm import Session, make_transient_to_detached

from app.db import insert_or_ignore_for, one_of, utcnow, uuid7
from app.errors import NotFound
from app.finance.control_models import AccountingPeriod
from app.finance.entry_filters import filter_entries
from app.finance.errors import UnbalancedEntry
from app.finance.models import JournalEntry, JournalLine, LedgerAccount
from app.finance.periods import ensure_open, period_of
from app.paging import CursorKey, Page, paginate
from app.tenancy.elevation import Why, elevated
from app.tenancy.filters import scoped
from app.tenancy.scope import Scope, system_scope

# --- pure rules ----------------------------------------------------------------------------------

def check_balanced(amounts: Sequence[int]) -> None:
    """An entry has at least two non-zero integer lines that sum to exactly zero."""
    if len(amounts) < 2:
        raise UnbalancedEntry("A journal entry needs at least two lines.")
    if any(not isinstance(a, int) or isinstance(a, bool) or a == 0 for a in amounts):
        raise UnbalancedEntry("Journal lines are non-zero integer minor units.")
    if sum(amounts) != 0:
        raise UnbalancedEntry(f"The lines sum to {sum(amounts)}, not zero.")


def merge_lines(lines: Iterable[tuple[LedgerAccount, int]]) -> list[tuple[LedgerAccount, int]]:
    """One line per account, zero lines dropped (a fee of 0 posts nothing)."""
    merged: dict[uuid.UUID, list] = {}
    for account, amount in lines:
        merged.setdefault(account.id, [account, 0])[1] += amount
    return [(account, amount) for account, amount in merged.values() if amount != 0]


def reversal(amounts: Sequence[int]) -> list[int]:
    return [-amount for amount in amounts]


# --- posting -------------------------------------------------------------------------------------

def find_entry(session: Session, tenant_id: uuid.UUID, source_key: str) -> JournalEntry | None:
    return session.scalars(select(JournalEntry).where(
        JournalEntry.tenant_id == tenant_id, JournalEntry.source_key == source_key)).one_or_none()


def post_entry(session: Session, *, tenant_id: uuid.UUID, owner_path: str, kind: str, source_key: str,
               currency: str, lines: Iterable[tuple[LedgerAccount, int]], memo: str | None = None,
               details: dict | None = None,
               reverses_entry_id: uuid.UUID | None = None) -> JournalEntry | None:
    """Post one balanced entry once per source_key (a repeat returns the first); None if nothing moved.

    Two statements when it posts: the entry's INSERT carries the idempotency (ON CONFLICT on the
    source key) and the closed-period check (nothing is inserted into a closed month), then the
    lines. Only when nothing was inserted does it look further: the first entry, or the refusal.
    `lines` take any account with `id`, `currency` and `owner_path` (finance.accounts.AccountRef).
    """
    merged = merge_lines(lines)
    with elevated(session, Why.post_journal, scope=system_scope(tenant_id)):
        if not merged:
            return find_entry(session, tenant_id, source_key)
        try:
            check_balanced([amount for _, amount in merged])
            if any(account.currency != currency for account, _ in merged):
                raise UnbalancedEntry("Every line of an entry is in the entry's currency.")
        except UnbalancedEntry:
            if (existing := find_entry(session, tenant_id, source_key)) is not None:
                return existing  # a repeat answers the first, whatever it brings now
            raise
        posted_at = utcnow()
        entry = JournalEntry(tenant_id=tenant_id, id=uuid7(), created_at=posted_at, owner_path=owner_path,
                             kind=kind, source_key=source_key, memo=memo, currency=currency,
                             reverses_entry_id=reverses_entry_id, details=details or {})
        if not _insert_unless_closed(session, entry):
            if (existing := find_entry(session, tenant_id, source_key)) is not None:
                return existing
            ensure_open(session, tenant_id, posted_at)  # raises: the period is closed
            raise RuntimeError(f"journal entry {source_key!r} was neither posted nor found")
        make_transient_to_detached(entry)  # the row is written: the caller gets it as loaded
        session.add(entry)
        session.execute(JournalLine.__table__.insert(), [
            {"tenant_id": tenant_id, "id": uuid7(), "entry_id": entry.id, "account_id": account.id,
             "amount_minor": amount, "owner_path": account.owner_path} for account, amount in merged])
    return entry


_ENTRY_COLUMNS = ("tenant_id", "id", "created_at", "owner_path", "kind", "source_key", "memo", "currency",
                  "reverses_entry_id", "details")


def _insert_unless_closed(session: Session, entry: JournalEntry) -> bool:
    """INSERT the entry unless its source key exists or its month is closed; True if it was inserted.

    The application's wall of periods.ensure_open folded into the INSERT (a closed period is
    read at every posting, never cached); the trigger of 0015 stays the database's wall.
    """
    session.flush()  # the caller's pending rows first, as an ORM insert would
    values = {name: getattr(entry, name) for name in _ENTRY_COLUMNS}
    row = session.execute(_entry_insert(session.get_bind().dialect.name),
                          {**values, "period": period_of(entry.created_at)}).first()
    return row is not None


@cache
def _entry_insert(dialect_name: str):
    """INSERT ... SELECT :values WHERE the month is open ON CONFLICT (source key) DO NOTHING RETURNING id,
    built once per dialect (every payment, refund and commission posts through it)."""
    table = JournalEntry.__table__
    closed = select(AccountingPeriod.id).where(AccountingPeriod.tenant_id == bindparam("tenant_id"),
                                               AccountingPeriod.period == bindparam("period"))
    row = select(*(bindparam(name, type_=table.c[name].type) for name in _ENTRY_COLUMNS)).where(
        ~closed.exists())
    return (insert_or_ignore_for(dialect_name, table, conflict_on=["tenant_id", "source_key"])
            .from_select(list(_ENTRY_COLUMNS), row).returning(table.c.id))


def lines_of(session: Session, entry: JournalEntry) -> list[JournalLine]:
    return list(session.scalars(select(JournalLine).where(
        JournalLine.tenant_id == entry.tenant_id, JournalLine.entry_id == entry.id)))


def reverse_entry(session: Session, *, tenant_id: uuid.UUID, entry_id: uuid.UUID,
                  memo: str | None = None) -> JournalEntry:
    """The correction of a posted entry: the same lines with the signs flipped, once."""
    with elevated(session, Why.post_journal, scope=system_scope(tenant_id)):
        original = session.get(JournalEntry, (tenant_id, entry_id))
        if original is None:
            raise NotFound("No journal entry with that id.")
        lines = lines_of(session, original)
        accounts = {a.id: a for a in session.scalars(select(LedgerAccount).where(
            LedgerAccount.tenant_id == tenant_id,
            LedgerAccount.id.in_([line.account_id for line in lines])))}
        reversed_lines = [(accounts[line.account_id], -line.amount_minor) for line in lines]
        return post_entry(session, tenant_id=tenant_id, owner_path=original.owner_path, kind="reversal",
                          source_key=f"reversal:{original.id}", currency=original.currency,
                          lines=reversed_lines, memo=memo or f"reverses {original.kind}",
                          reverses_entry_id=original.id)


def trial_balance(session: Session, tenant_id: uuid.UUID) -> int:
    """The sum of every line of the tenant's journal: zero when the books balance."""
    with elevated(session, Why.post_journal, scope=system_scope(tenant_id)):
        return int(session.scalar(select(func.coalesce(func.sum(JournalLine.amount_minor), 0))
                                  .where(JournalLine.tenant_id == tenant_id)))


def list_entries(session: Session, scope: Scope, *, kind: str | None = None, limit: int = 50,
                 cursor: CursorKey | None = None, **filters) -> Page[dict]:
    """Entries in my scope, newest first, each with the lines on accounts I see (one more query;
    `filters`: entry_filters). The lines are plain rows of what the response shows: a page holds
    twice as many lines as entries, and ORM objects for them were a third of the list's time."""
    statement = scoped(JournalEntry, scope)
    if kind:
        statement = statement.where(JournalEntry.kind == kind)
    statement = filter_entries(statement, **filters)
    page = paginate(session, statement, JournalEntry, limit=limit, cursor=cursor)
    lines: dict[uuid.UUID, list] = {entry.id: [] for entry in page.items}
    if page.items:
        of_page = one_of(session, JournalLine.entry_id, list(lines))
        for line in session.execute(scoped(JournalLine, scope).with_only_columns(
                JournalLine.entry_id, JournalLine.account_id, JournalLine.amount_minor).where(
                of_page).order_by(JournalLine.amount_minor.desc())):
            lines[line.entry_id].append(line)
    return page.map(lambda entry: {"entry": entry, "lines": lines[entry.id]})
