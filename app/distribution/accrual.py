"""Commission entries over an order's life: frozen at payment, a freeze clock at completion,
pro-rata reversals on refunds, set-based release of what is due.

Every function works from the order's snapshot and the line's refunded amount as committed now
(under the order row lock), so it does not matter in which order events arrive or how often:
each beneficiary's net on a line is always `rules.kept_shares` of what the buyer kept.
"""

import uuid
from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from app.db import utcnow
from app.distribution import ledger, rules
from app.distribution.ledger import Beneficiary, EntryDraft
from app.distribution.models import (
    CommissionSnapshot,
    DistributionEntry,
    EntryKind,
    EntryStatus,
)
from app.orders.locks import fresh_lines, lock_order
from app.orders.models import Order, OrderLine
from app.tenancy.models import Tenant

DEFAULT_FREEZE_DAYS = 7
RELEASE_BATCH = 50_000
UNSETTLED = (EntryStatus.frozen, EntryStatus.available)

GroupKey = tuple[uuid.UUID, str, uuid.UUID, str]  # line, beneficiary kind, beneficiary id, role


def freeze_days(session: Session, tenant_id: uuid.UUID) -> int:
    tenant = session.get(Tenant, tenant_id)
    return int(((tenant.settings or {}).get("distribution") or {}).get("freeze_days", DEFAULT_FREEZE_DAYS))


def snapshots_of(session: Session, tenant_id: uuid.UUID, order_id: uuid.UUID) -> list[CommissionSnapshot]:
    return list(session.scalars(select(CommissionSnapshot).where(
        CommissionSnapshot.tenant_id == tenant_id, CommissionSnapshot.order_id == order_id)
        .order_by(CommissionSnapshot.order_line_id, CommissionSnapshot.role, CommissionSnapshot.id)))


def _key(row) -> GroupKey:
    return (row.order_line_id, row.beneficiary_kind.value, row.beneficiary_id, row.role.value)


def _beneficiary(row) -> Beneficiary:
    return Beneficiary(row.beneficiary_kind, row.beneficiary_id, row.beneficiary_org_id, row.owner_path)


def _targets(snapshots: Sequence, refunded: dict[uuid.UUID, int]) -> dict[GroupKey, int]:
    """Each (line, beneficiary, role)'s share of what the buyer kept of the line, as of now."""
    by_line: dict[uuid.UUID, list] = defaultdict(list)
    for snap in snapshots:
        by_line[snap.order_line_id].append(snap)
    targets = {}
    for line_id, group in by_line.items():
        base = group[0].base_minor
        kept = base - min(base, refunded.get(line_id, 0))
        for snap, share in zip(group, rules.kept_shares([s.amount_minor for s in group], base, kept),
                               strict=True):
            targets[_key(snap)] = share
    return targets


def _available_at(order: Order, days: int) -> datetime | None:
    return order.completed_at + timedelta(days=days) if order.completed_at else None


def accrue_paid_order(session: Session, *, tenant_id: uuid.UUID, order_id: uuid.UUID) -> int:
    """order.paid: one frozen entry per snapshot row, for its share of what is still kept."""
    order = lock_order(session, tenant_id, order_id)
    if order.paid_at is None:
        return 0
    snap = CommissionSnapshot  # plain rows of the columns used, not ORM objects: once per paid order
    snapshots = session.execute(select(
        snap.order_line_id, snap.role, snap.beneficiary_kind, snap.beneficiary_id, snap.beneficiary_org_id,
        snap.owner_path, snap.base_minor, snap.amount_minor, snap.currency, OrderLine.refunded_minor).join(
        OrderLine, (OrderLine.tenant_id == snap.tenant_id) & (OrderLine.id == snap.order_line_id))
        .where(snap.tenant_id == tenant_id, snap.order_id == order_id,
               OrderLine.order_id == order_id)  # the same lines, but the planner knows: never a tenant scan
        .order_by(snap.order_line_id, snap.role, snap.id)).all()
    if not snapshots:
        return 0
    targets = _targets(snapshots, {row.order_line_id: row.refunded_minor for row in snapshots})
    available_at = _available_at(order, freeze_days(session, tenant_id)) if order.completed_at else None
    drafts = [EntryDraft(beneficiary=_beneficiary(s), kind=EntryKind.commission, role=s.role,
                         amount_minor=targets[_key(s)], currency=s.currency, status=EntryStatus.frozen,
                         source_key=ledger.commission_key(s.order_line_id, _beneficiary(s), s.role),
                         base_minor=s.base_minor, order_id=order.id, order_line_id=s.order_line_id,
                         available_at=available_at)
              for s in snapshots if targets[_key(s)] > 0]
    written = ledger.accrue(session, tenant_id=tenant_id, drafts=drafts,
                            journal_key=f"commission.accrue:{order.id}", owner_path=order.seller_path,
                            memo="commissions accrued at payment")
    return len(written)


def start_freeze_clock(session: Session, *, tenant_id: uuid.UUID, order_id: uuid.UUID) -> int:
    """order.completed: frozen entries become due `freeze_days` after completion (one UPDATE)."""
    order = session.get(Order, (tenant_id, order_id))
    if order is None or order.completed_at is None:
        return 0
    due = _available_at(order, freeze_days(session, tenant_id))
    return session.execute(update(DistributionEntry).where(
        DistributionEntry.tenant_id == tenant_id, DistributionEntry.order_id == order_id,
        DistributionEntry.status == EntryStatus.frozen, DistributionEntry.available_at.is_(None))
        .values(available_at=due).execution_options(synchronize_session=False)).rowcount


def reverse_refund(session: Session, *, tenant_id: uuid.UUID, order_id: uuid.UUID,
                   refund_id: uuid.UUID) -> int:
    """order.refunded: bring each beneficiary's net on the refunded lines down to their kept share.

    Before settlement the negative entry follows the entry it reverses (frozen or available) and a
    line refunded in full leaves its entries `reversed`; after settlement it is an available debt
    for the next statement, never clamped or skipped.
    """
    snapshots = snapshots_of(session, tenant_id, order_id)
    if not snapshots:
        return 0
    order = lock_order(session, tenant_id, order_id)
    entries = ledger.entries_of_order(session, tenant_id, order_id)
    if not entries:  # not accrued yet: the accrual will count this refund itself
        return 0
    refunded = {line.id: line.refunded_minor for line in fresh_lines(session, order)}
    targets = _targets(snapshots, refunded)
    groups: dict[GroupKey, list[DistributionEntry]] = defaultdict(list)
    for entry in entries:
        groups[_key(entry)].append(entry)
    now, drafts = utcnow(), []
    for snap in snapshots:
        held = groups.get(_key(snap), [])
        if not held:
            continue
        delta = targets[_key(snap)] - sum(entry.amount_minor for entry in held)
        if delta == 0:
            continue
        status, available_at = _reversal_status(held, now)
        drafts.append(EntryDraft(
            beneficiary=_beneficiary(snap), kind=EntryKind.commission, role=snap.role, amount_minor=delta,
            currency=snap.currency, status=status,
            source_key=ledger.reversal_key(refund_id, snap.order_line_id, _beneficiary(snap), snap.role),
            base_minor=snap.base_minor, order_id=order.id, order_line_id=snap.order_line_id,
            refund_id=refund_id, available_at=available_at))
    written = ledger.reverse(session, tenant_id=tenant_id, drafts=drafts,
                             journal_key=f"commission.reverse:{refund_id}", owner_path=order.seller_path,
                             memo="commissions reversed by a refund")
    _retire_netted(session, tenant_id, order_id)
    return len(written)


def _reversal_status(held: list[DistributionEntry], now: datetime) -> tuple[EntryStatus, datetime | None]:
    """Follow the unsettled entry it reverses; once anything was settled, a debt available now."""
    if any(entry.status not in UNSETTLED and entry.status is not EntryStatus.reversed for entry in held):
        return EntryStatus.available, now
    accrual = next((entry for entry in held if entry.amount_minor > 0), held[0])
    status = accrual.status if accrual.status in UNSETTLED else EntryStatus.available
    return status, accrual.available_at


def _retire_netted(session: Session, tenant_id: uuid.UUID, order_id: uuid.UUID) -> None:
    """Unsettled entries of a (line, beneficiary, role) that net to zero become `reversed` together."""
    groups: dict[GroupKey, list[DistributionEntry]] = defaultdict(list)
    for entry in ledger.entries_of_order(session, tenant_id, order_id):
        groups[_key(entry)].append(entry)
    ids = [entry.id for held in groups.values()
           if all(entry.status in UNSETTLED for entry in held) and sum(e.amount_minor for e in held) == 0
           for entry in held]
    if ids:
        session.execute(update(DistributionEntry).where(
            DistributionEntry.tenant_id == tenant_id, DistributionEntry.id.in_(ids))
            .values(status=EntryStatus.reversed).execution_options(synchronize_session=False))


def release_due(session: Session, *, tenant_id: uuid.UUID, now: datetime | None = None,
                batch: int = RELEASE_BATCH) -> int:
    """frozen → available for every entry whose freeze ended: one UPDATE per batch of `batch` rows."""
    now, total = now or utcnow(), 0
    while True:
        due = (select(DistributionEntry.id).where(
            DistributionEntry.tenant_id == tenant_id, DistributionEntry.status == EntryStatus.frozen,
            DistributionEntry.available_at <= now).limit(batch).scalar_subquery())
        moved = session.execute(update(DistributionEntry).where(
            DistributionEntry.tenant_id == tenant_id, DistributionEntry.id.in_(due),
            DistributionEntry.status == EntryStatus.frozen)
            .values(status=EntryStatus.available).execution_options(synchronize_session=False)).rowcount
        total += moved
        if moved < batch:
            return total
