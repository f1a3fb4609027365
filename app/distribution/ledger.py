"""The distribution ledger: entries written once per source key, commissions posted to the journal.

`write_entries` is the one writer of `distribution_entries` (settlement uses it too): one
INSERT ... ON CONFLICT DO NOTHING for the whole batch, answering which drafts were new, so a
replayed event writes nothing and posts nothing. `accrue`/`reverse` add the journal posting
for commissions: Dr commission expense, Cr commission payable (the brand's control account;
the entries are its sub-ledger per beneficiary), on the amounts actually written; a reversal's
negative amounts flip both lines.
"""

import uuid
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.db import insert_or_ignore, utcnow, uuid7
from app.distribution.models import (
    BeneficiaryKind,
    DistributionEntry,
    EntryKind,
    EntryRole,
    EntryStatus,
)
from app.finance.accounts import AccountRef, account_refs
from app.finance.journal import post_entry
from app.finance.models import AccountCode
from app.orders.cache import TtlCache
from app.tenancy.elevation import Why, elevated
from app.tenancy.orgs import brand_root
from app.tenancy.scope import system_scope


@dataclass(frozen=True)
class Beneficiary:
    """Who is owed: kind and id, the org that answers for them, the path that owns their rows."""

    kind: BeneficiaryKind
    id: uuid.UUID
    org_id: uuid.UUID
    owner_path: str

    @property
    def consumer_id(self) -> uuid.UUID | None:
        return self.id if self.kind is BeneficiaryKind.consumer else None

    @property
    def key(self) -> str:
        return f"{self.kind.value}:{self.id}"


@dataclass(frozen=True)
class EntryDraft:
    """An entry to write; `source_key` (unique per tenant) makes writing it idempotent."""

    beneficiary: Beneficiary
    kind: EntryKind
    role: EntryRole
    amount_minor: int
    currency: str
    status: EntryStatus
    source_key: str
    base_minor: int = 0
    order_id: uuid.UUID | None = None
    order_line_id: uuid.UUID | None = None
    refund_id: uuid.UUID | None = None
    available_at: datetime | None = None
    statement_id: uuid.UUID | None = None
    id: uuid.UUID = field(default_factory=uuid7)

    def row(self, tenant_id: uuid.UUID, now: datetime | None = None) -> dict:
        values = {
            "tenant_id": tenant_id, "id": self.id, "owner_path": self.beneficiary.owner_path,
            "beneficiary_kind": self.beneficiary.kind, "beneficiary_id": self.beneficiary.id,
            "beneficiary_org_id": self.beneficiary.org_id,
            "beneficiary_consumer_id": self.beneficiary.consumer_id, "kind": self.kind,
            "role": self.role, "order_id": self.order_id, "order_line_id": self.order_line_id,
            "refund_id": self.refund_id, "base_minor": self.base_minor,
            "amount_minor": self.amount_minor, "currency": self.currency, "status": self.status,
            "available_at": self.available_at, "statement_id": self.statement_id,
            "source_key": self.source_key,
        }
        if now is not None:
            values["created_at"] = now
        return values


def commission_key(line_id: uuid.UUID, beneficiary: Beneficiary, role: EntryRole) -> str:
    return f"accrue:{line_id}:{beneficiary.key}:{role.value}"


def reversal_key(refund_id: uuid.UUID, line_id: uuid.UUID, beneficiary: Beneficiary, role: EntryRole) -> str:
    return f"reverse:{refund_id}:{line_id}:{beneficiary.key}:{role.value}"


def write_entries(session: Session, tenant_id: uuid.UUID, drafts: Sequence[EntryDraft],
                  *, now: datetime | None = None) -> list[EntryDraft]:
    """Insert the drafts whose source key is new, in one statement; answer those that were new."""
    if not drafts:
        return []
    table = DistributionEntry.__table__
    statement = insert_or_ignore(session, table, conflict_on=["tenant_id", "source_key"])
    moment = now or utcnow()
    # Parameter sets, not `.values([...])`: SQLAlchemy sends them as one multi-row INSERT all the
    # same ("insertmanyvalues"), but compiles the statement once per process instead of once per
    # call (a ten-row VALUES list cost ~2 ms of compiling on every paid order).
    written = set(session.scalars(statement.returning(table.c.source_key),
                                  [d.row(tenant_id, moment) for d in drafts]))
    return [draft for draft in drafts if draft.source_key in written]


def accrue(session: Session, *, tenant_id: uuid.UUID, drafts: Sequence[EntryDraft], journal_key: str,
           owner_path: str, memo: str) -> list[EntryDraft]:
    """Write commission entries once and post what was written (Dr expense, Cr payable)."""
    with elevated(session, Why.write_distribution_ledger, scope=system_scope(tenant_id)):
        written = write_entries(session, tenant_id, drafts)
        post_commissions(session, tenant_id=tenant_id, entries=written, journal_key=journal_key,
                         owner_path=owner_path, memo=memo)
    return written


def reverse(session: Session, *, tenant_id: uuid.UUID, drafts: Sequence[EntryDraft], journal_key: str,
            owner_path: str, memo: str) -> list[EntryDraft]:
    """Write refund adjustments once and post them (a negative amount: Dr payable, Cr expense).

    Mostly negative; a largest-remainder share can rise by a unit when the kept amount falls
    (the Alabama paradox), and that unit is written too, so every net stays exact.
    """
    return accrue(session, tenant_id=tenant_id, drafts=drafts, journal_key=journal_key,
                  owner_path=owner_path, memo=memo)


def post_commissions(session: Session, *, tenant_id: uuid.UUID, entries: Sequence[EntryDraft],
                     journal_key: str, owner_path: str, memo: str) -> None:
    """One balanced journal entry per currency for the written commission amounts."""
    by_currency: dict[str, list[EntryDraft]] = defaultdict(list)
    for entry in entries:
        if entry.amount_minor:
            by_currency[entry.currency].append(entry)
    if not by_currency:
        return
    for currency, group in sorted(by_currency.items()):
        expense, payable = commission_accounts(session, tenant_id, currency)
        total = sum(entry.amount_minor for entry in group)
        lines = [(expense, total), (payable, -total)]
        suffix = f":{currency}" if len(by_currency) > 1 else ""
        post_entry(session, tenant_id=tenant_id, owner_path=owner_path, kind="commission",
                   source_key=f"{journal_key}{suffix}", currency=currency, lines=lines, memo=memo,
                   details={"entries": len(group)})


def commission_accounts(session: Session, tenant_id: uuid.UUID, currency: str) -> list[AccountRef]:
    """The brand's commission expense and commission payable: no round trip once they are known.

    One control account for what is payable; `distribution_entries` is its sub-ledger per
    beneficiary (a journal account per promoter would grow the chart without telling more).
    """
    brand_id = brand_id_of(session, tenant_id)
    return account_refs(session, tenant_id=tenant_id, currency=currency,
                        wanted=[(brand_id, AccountCode.commission_expense, None),
                                (brand_id, AccountCode.commission_payable, None)],
                        org=lambda _: brand_root(session, tenant_id))


def brand_id_of(session: Session, tenant_id: uuid.UUID) -> uuid.UUID:
    """The id of the tenant's brand root (cached: a tenant's root org never changes)."""
    return _brand_ids.get(tenant_id, lambda: brand_root(session, tenant_id).id)


_brand_ids = TtlCache(seconds=3600)  # a tenant's root org never changes


def entries_of_order(session: Session, tenant_id: uuid.UUID, order_id: uuid.UUID,
                     kind: EntryKind = EntryKind.commission) -> list[DistributionEntry]:
    """Every entry of one order (system scope: handlers and settlement)."""
    return list(session.scalars(select(DistributionEntry).where(
        DistributionEntry.tenant_id == tenant_id, DistributionEntry.order_id == order_id,
        DistributionEntry.kind == kind).order_by(DistributionEntry.created_at, DistributionEntry.id)))
