"""Binding a customer to a promoter (绑定): attribution, validity, protection (抢客保护), no cycles.

Tenant settings (`tenants.settings.distribution`): `attribution` = first_touch | last_touch
(default first_touch), `binding_validity_days` (0 = no expiry, default 0),
`protection_days` (default 0): while protected, a last touch by another promoter does not take
the customer. Every change ends the open row and writes a new one: the table is the history.
The consumer row is locked first, so two touches at once queue up (one open row per consumer).
"""

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.db import utcnow, uuid7
from app.distribution.chain import reaches
from app.distribution.errors import BindingCycle, CustomerProtected, PromoterNotActive, SelfBinding
from app.distribution.models import Binding, BindingEnd, BindingSource, Promoter, PromoterStatus
from app.distribution.promoters import distribution_settings, promoter_by_code
from app.platform.audit import audit
from app.tenancy.elevation import Why, elevated
from app.tenancy.filters import get_visible, scoped
from app.tenancy.models import Consumer
from app.tenancy.permissions import Action, require
from app.tenancy.scope import Scope, system_scope


@dataclass(frozen=True)
class Bound:
    binding: Binding
    changed: bool  # False: the customer stayed with whom they had


def bind(session: Session, scope: Scope, *, code: str, source: BindingSource) -> Bound:
    """The consumer opened a promoter's share link or QR code."""
    require(scope, Action.bind_referral)
    with elevated(session, Why.join_distribution, scope=system_scope(scope.tenant_id)):
        promoter = promoter_by_code(session, scope.tenant_id, code)
        return _bind(session, scope.tenant_id, scope.consumer_id, promoter, source, now=utcnow())


def rebind(session: Session, scope: Scope, *, consumer_id: uuid.UUID, promoter_id: uuid.UUID,
           note: str | None = None) -> Bound:
    """Staff move a customer to another promoter, protection or not; audited."""
    require(scope, Action.rebind_customers)
    consumer = get_visible(session, Consumer, scope, consumer_id)
    require(scope, Action.rebind_customers, on=consumer.owner_path)
    promoter = get_visible(session, Promoter, scope, promoter_id)
    with elevated(session, Why.join_distribution, scope=system_scope(scope.tenant_id)):
        bound = _bind(session, scope.tenant_id, consumer.id, promoter, BindingSource.store, now=utcnow(),
                      force=True, actor_id=scope.actor_id, note=note)
    audit(session, scope, Action.rebind_customers.value, owner_path=consumer.owner_path,
          subject_id=consumer.id, subject_type="consumer", promoter_id=promoter.id,
          binding_id=bound.binding.id)
    return bound


def _bind(session: Session, tenant_id: uuid.UUID, consumer_id: uuid.UUID, promoter: Promoter,
          source: BindingSource, *, now: datetime, force: bool = False, actor_id: uuid.UUID | None = None,
          note: str | None = None) -> Bound:
    if promoter.status is not PromoterStatus.active:
        raise PromoterNotActive("This promoter is not active.")
    if promoter.consumer_id == consumer_id:
        raise SelfBinding("A promoter cannot bind themselves.")
    consumer = session.scalars(select(Consumer).where(
        Consumer.tenant_id == tenant_id, Consumer.id == consumer_id).with_for_update()).one()
    if reaches(session, tenant_id, promoter, consumer.id):
        raise BindingCycle("This promoter is already below the customer in the chain.")
    settings = distribution_settings(session, tenant_id)
    current = session.scalar(select(Binding).where(
        Binding.tenant_id == tenant_id, Binding.consumer_id == consumer.id, Binding.ended_reason.is_(None)))
    if current is not None:
        expired = current.valid_to is not None and current.valid_to <= now
        if not expired and current.promoter_id == promoter.id:
            return Bound(current, False)
        if not expired and not force:
            if settings.get("attribution", "first_touch") == "first_touch":
                return Bound(current, False)
            if current.protected_until is not None and current.protected_until > now:
                raise CustomerProtected("Another promoter holds this customer for now.")
        reason = BindingEnd.rebound if force else BindingEnd.expired if expired else BindingEnd.replaced
        current.ended_reason, current.ended_by_id = reason, actor_id
        if not expired:
            current.valid_to = now
        session.flush()
    binding = Binding(tenant_id=tenant_id, id=uuid7(), owner_path=consumer.owner_path,
                      consumer_id=consumer.id, promoter_id=promoter.id, source=source, valid_from=now,
                      valid_to=_after(now, settings.get("binding_validity_days")),
                      protected_until=_after(now, settings.get("protection_days")), note=note)
    session.add(binding)
    session.flush()
    return Bound(binding, True)


def _after(now: datetime, days) -> datetime | None:
    return now + timedelta(days=int(days)) if days else None


def history(session: Session, scope: Scope, *, consumer_id: uuid.UUID) -> list[Binding]:
    """A customer's bindings, newest first, as the caller's scope sees them."""
    return list(session.scalars(scoped(Binding, scope).where(Binding.consumer_id == consumer_id)
                                .order_by(Binding.valid_from.desc(), Binding.id.desc())))
