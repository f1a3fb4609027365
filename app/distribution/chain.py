"""Who stands behind a retail order: promoter upline (L1, L2), guide, home store, upstream distributors.

The promoter upline comes from bindings; the guide and home store from the consumer's own
归属 (consumers.guide_id, consumers.home_store_id), which stays separate from the upline.
"""

import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from app.db import utcnow
from app.distribution.ledger import Beneficiary
from app.distribution.models import BeneficiaryKind, Binding, EntryRole, Promoter, PromoterStatus
from app.orders.models import Order
from app.tenancy.enums import OrgKind
from app.tenancy.filters import ancestor_paths
from app.tenancy.models import Consumer, Org, User

MAX_UPLINE = 64  # a chain longer than this is treated as a cycle (it cannot be one: bind refuses cycles)


@dataclass(frozen=True)
class ChainLink:
    role: EntryRole
    beneficiary: Beneficiary
    promoter_id: uuid.UUID | None = None
    level_id: uuid.UUID | None = None
    org_id: uuid.UUID | None = None
    org_depth: int | None = None


def open_binding(session: Session, tenant_id: uuid.UUID, consumer_id: uuid.UUID,
                 now: datetime | None = None) -> Binding | None:
    """The consumer's current binding if it is still valid (not ended, not past its validity)."""
    now = now or utcnow()
    return session.scalar(select(Binding).where(
        Binding.tenant_id == tenant_id, Binding.consumer_id == consumer_id, Binding.ended_reason.is_(None),
        Binding.valid_from <= now, or_(Binding.valid_to.is_(None), Binding.valid_to > now)))


def upline_of(session: Session, tenant_id: uuid.UUID, consumer_id: uuid.UUID,
              now: datetime | None = None) -> Promoter | None:
    """The active promoter this consumer is bound to, if any."""
    binding = open_binding(session, tenant_id, consumer_id, now)
    if binding is None:
        return None
    promoter = session.get(Promoter, (tenant_id, binding.promoter_id))
    return promoter if promoter is not None and promoter.status is PromoterStatus.active else None


def reaches(session: Session, tenant_id: uuid.UUID, promoter: Promoter, consumer_id: uuid.UUID) -> bool:
    """Whether walking up from `promoter` meets `consumer_id` (binding them would close a cycle)."""
    seen: set[uuid.UUID] = set()
    current: Promoter | None = promoter
    while current is not None and current.id not in seen and len(seen) < MAX_UPLINE:
        if current.consumer_id == consumer_id:
            return True
        seen.add(current.id)
        if current.consumer_id is None:  # a staff promoter has no upline
            return False
        binding = open_binding(session, tenant_id, current.consumer_id)
        current = session.get(Promoter, (tenant_id, binding.promoter_id)) if binding else None
    return current is not None  # stopped by the guard: treat as a cycle


def promoter_beneficiary(session: Session, promoter: Promoter) -> Beneficiary:
    if promoter.kind is BeneficiaryKind.consumer:
        return Beneficiary(BeneficiaryKind.consumer, promoter.consumer_id, promoter.org_id,
                           promoter.owner_path)
    return Beneficiary(BeneficiaryKind.staff, promoter.user_id, promoter.org_id, promoter.owner_path)


def org_beneficiary(org: Org) -> Beneficiary:
    return Beneficiary(BeneficiaryKind.org, org.id, org.id, org.path)


def commission_chain(session: Session, order: Order) -> list[ChainLink]:
    """Every candidate beneficiary of a consumer's retail order, in precedence order (the cap order)."""
    tenant_id = order.tenant_id
    consumer = session.get(Consumer, (tenant_id, order.buyer_consumer_id))
    links: list[ChainLink] = []
    first = upline_of(session, tenant_id, consumer.id)
    if first is not None:
        links.append(ChainLink(EntryRole.promoter_l1, promoter_beneficiary(session, first), first.id,
                               first.level_id))
        second = upline_of(session, tenant_id, first.consumer_id) if first.consumer_id else None
        if second is not None and second.consumer_id != consumer.id:
            links.append(ChainLink(EntryRole.promoter_l2, promoter_beneficiary(session, second), second.id,
                                   second.level_id))
    guide_id = order.guide_id or consumer.guide_id
    guide = session.get(User, (tenant_id, guide_id)) if guide_id else None
    if guide is not None and guide.active:
        links.append(ChainLink(EntryRole.guide, Beneficiary(BeneficiaryKind.staff, guide.id, guide.org_id,
                                                             guide.owner_path), org_id=guide.org_id))
    home = session.get(Org, (tenant_id, consumer.home_store_id))
    if home is not None:
        links.append(ChainLink(EntryRole.home_store, org_beneficiary(home), org_id=home.id,
                               org_depth=home.depth))
    upstream = session.scalars(select(Org).where(
        Org.tenant_id == tenant_id, Org.path.in_(ancestor_paths(order.seller_path)),
        Org.kind == OrgKind.distributor).order_by(Org.depth.desc()))
    for org in upstream:  # nearest first: 级差 runs from the store upwards
        links.append(ChainLink(EntryRole.distributor, org_beneficiary(org), org_id=org.id,
                               org_depth=org.depth))
    return links
