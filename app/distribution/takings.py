"""Store takings (分账): what the brand owes a store for the retail sales the brand's account took.

A consumer pays the brand's merchant account, so a store's retail money sits with the brand. On
`order.paid` of a retail order sold by a store and paid through the gateway the ledger records,
owed to the store:
`takings` (+ the amount paid), `fee` (− the store's share of the gateway fee) and an
`adjustment` (− the commissions the store bears: its promoters' and guides'), each with role
`store_takings`. Refunds write `takings` back (−), a bounced refund forward again (+). Entries
are keyed by event id, so a replayed event writes and posts nothing. docs/settlement.md says why.

The commissions the store bears are read from the commission entries of its order (written by
app/distribution/ledger.py for the same events) and written as a catch-up on every event of the
order: whatever stands now, minus what the store already bears. A late or retried commission
handler is therefore caught up by the next event (order.completed comes before availability).
"""

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from app.db import utcnow
from app.distribution.accrual import UNSETTLED, freeze_days
from app.distribution.ledger import Beneficiary, EntryDraft, write_entries
from app.distribution.models import BeneficiaryKind, DistributionEntry, EntryKind, EntryRole, EntryStatus
from app.distribution.settlement_postings import post_takings
from app.distribution.settlement_rules import SettlementSettings, gateway_fee_share
from app.distribution.statements import settlement_settings
from app.orders.cache import TtlCache
from app.orders.models import Order, OrderFlow, PaymentMethod
from app.platform.models import OutboxEvent
from app.tenancy.enums import OrgKind
from app.tenancy.models import Org
from app.tenancy.orgs import org_by_id

# Commissions a store bears on its own sale: the people who brought or served the customer.
# Home-store and distributor (级差) commissions are the brand's network incentives: the brand bears them.
BORNE_ROLES = (EntryRole.promoter_l1, EntryRole.promoter_l2, EntryRole.guide)

E = DistributionEntry


def store_of(session: Session, order: Order):
    """The selling store of a retail order paid into the brand's gateway account, or None.

    Paid offline (cash or a transfer at the store) the money is already the store's: the journal
    books it on the store's own cash (finance.postings.settlement_account), nothing is owed.
    """
    if order is None or order.flow is not OrderFlow.retail:
        return None
    if order.payment_method is not PaymentMethod.stripe:
        return None
    seller = org_by_id(session, order.tenant_id, order.seller_org_id)
    return seller if seller is not None and seller.kind is OrgKind.store else None


def record_takings(session: Session, event: OutboxEvent) -> None:
    """order.paid / order.refunded / order.refund_bounced / order.completed of a store's retail order."""
    order, _seller = _order_and_seller(session, event.tenant_id, event.subject_id)
    store = store_of(session, order)  # the seller is in the identity map: no second round trip
    if store is None:
        return
    store_owed = Beneficiary(BeneficiaryKind.org, store.id, store.id, store.path)
    amount = int(event.payload.get("amount_minor") or 0)
    drafts: list[EntryDraft] = []
    standing = standing_of(session, order)
    status, available_at = entry_status(session, order, standing.held)

    def draft(kind: EntryKind, minor: int, tag: str) -> None:
        if minor:
            drafts.append(EntryDraft(
                beneficiary=store_owed, kind=kind, role=EntryRole.store_takings, amount_minor=minor,
                currency=order.currency, status=status, base_minor=abs(amount), order_id=order.id,
                refund_id=_refund_id(event), available_at=available_at,
                source_key=f"takings:{tag}:{event.id}"))

    if event.type == "order.paid":
        draft(EntryKind.takings, amount, "paid")
        draft(EntryKind.fee, -gateway_fee_share(amount, fee_terms(session, order.tenant_id)), "fee")
    elif event.type == "order.refunded":
        draft(EntryKind.takings, -amount, "refunded")
    elif event.type == "order.refund_bounced":
        draft(EntryKind.takings, amount, "bounced")
    draft(EntryKind.adjustment, -(standing.borne + standing.already_borne), "borne")
    written = write_entries(session, order.tenant_id, drafts)
    post_takings(session, order=order, store=store, event_id=event.id, written=written)


def _order_and_seller(session: Session, tenant_id: uuid.UUID,
                      order_id: uuid.UUID) -> tuple[Order | None, Org | None]:
    """The order and its seller org in one SELECT (store_of then finds the org in the session)."""
    row = session.execute(select(Order, Org).outerjoin(
        Org, (Org.tenant_id == Order.tenant_id) & (Org.id == Order.seller_org_id))
        .where(Order.tenant_id == tenant_id, Order.id == order_id)).first()
    return (row[0], row[1]) if row is not None else (None, None)


_FEE_TERMS = TtlCache(seconds=60)


def fee_terms(session: Session, tenant_id: uuid.UUID) -> SettlementSettings:
    """The tenant's settlement settings, cached a minute per process like checkout's tenant terms
    (orders.placement): a changed fee rate applies to orders paid up to 60 s later."""
    return _FEE_TERMS.get(tenant_id, lambda: settlement_settings(session, tenant_id))


def _refund_id(event: OutboxEvent) -> uuid.UUID | None:
    refund_id = event.payload.get("refund_id")
    return uuid.UUID(refund_id) if refund_id and event.type != "order.paid" else None


@dataclass(frozen=True)
class Standing:
    """What the order's entries say now, read in one SELECT."""

    held: list[tuple[EntryStatus, datetime | None]]  # the store's takings entries, oldest first
    borne: int  # commissions standing now for the roles the store bears (accruals − reversals)
    already_borne: int  # what the store's takings already carry for them (negative)


def standing_of(session: Session, order: Order) -> Standing:
    """The store's takings entries of the order and the commissions it bears on it."""
    rows = session.execute(select(E.kind, E.role, E.status, E.available_at, E.amount_minor).where(
        E.tenant_id == order.tenant_id, E.order_id == order.id,
        or_(E.role == EntryRole.store_takings, (E.kind == EntryKind.commission) & E.role.in_(BORNE_ROLES)))
        .order_by(E.created_at, E.id)).all()
    takings = [row for row in rows if row.role is EntryRole.store_takings]
    return Standing(
        held=[(row.status, row.available_at) for row in takings],
        borne=sum(row.amount_minor for row in rows if row.kind is EntryKind.commission
                  and row.role in BORNE_ROLES),
        already_borne=sum(row.amount_minor for row in takings if row.kind is EntryKind.adjustment))


def entry_status(session: Session, order: Order,
                 held: list[tuple[EntryStatus, datetime | None]]) -> tuple[EntryStatus, datetime | None]:
    """Like commission reversals: follow the order's unsettled takings (`held`, oldest first); once
    any was settled, the new amount (a refund's debt) is available now for the next statement,
    never clamped."""
    if any(status not in UNSETTLED for status, _ in held):
        return EntryStatus.available, utcnow()
    if held:
        return held[0]
    if order.completed_at is None:
        return EntryStatus.frozen, None  # the freeze clock starts at completion (accrual.start_freeze_clock)
    return EntryStatus.frozen, order.completed_at + timedelta(days=freeze_days(session, order.tenant_id))
