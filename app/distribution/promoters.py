"""Becoming a promoter (open, by approval, after a spend threshold), deciding, and the brand's levels.

Tenant settings (`tenants.settings.distribution`): `promoter_mode` = open | approval | spend |
closed (default approval), `spend_threshold_minor` for `spend` (paid goods kept, all orders).
"""

import secrets
import uuid

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.db import insert_or_ignore, utcnow, uuid7
from app.distribution.errors import (
    AlreadyDecided,
    PromotersClosed,
    SpendThresholdNotMet,
)
from app.distribution.models import BeneficiaryKind, Promoter, PromoterLevel, PromoterStatus
from app.errors import NotFound
from app.orders.models import Order, OrderStatus
from app.platform.audit import audit
from app.tenancy.elevation import Why, elevated
from app.tenancy.filters import get_visible
from app.tenancy.models import Consumer, Tenant, User
from app.tenancy.permissions import Action, require
from app.tenancy.scope import Scope, system_scope

KEPT_STATUSES = (OrderStatus.paid, OrderStatus.shipped, OrderStatus.completed)
CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"


def distribution_settings(session: Session, tenant_id: uuid.UUID) -> dict:
    tenant = session.get(Tenant, tenant_id)
    return (tenant.settings or {}).get("distribution") or {}


def new_code() -> str:
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(8))


def spent_minor(session: Session, tenant_id: uuid.UUID, consumer_id: uuid.UUID) -> int:
    """What the consumer paid and kept over all their orders, shipping included."""
    return int(session.scalar(select(func.coalesce(func.sum(Order.total_minor - Order.refunded_minor), 0))
                              .where(Order.tenant_id == tenant_id, Order.buyer_consumer_id == consumer_id,
                                     Order.status.in_(KEPT_STATUSES))))


def my_promoter(session: Session, scope: Scope) -> Promoter | None:
    return session.scalar(select(Promoter).where(Promoter.tenant_id == scope.tenant_id,
                                                 Promoter.consumer_id == scope.consumer_id))


def apply(session: Session, scope: Scope) -> Promoter:
    """A consumer asks to share: active at once (open, or spend reached) or pending approval."""
    require(scope, Action.become_promoter)
    existing = my_promoter(session, scope)
    if existing is not None:
        return existing
    settings = distribution_settings(session, scope.tenant_id)
    mode = settings.get("promoter_mode", "approval")
    if mode == "closed":
        raise PromotersClosed("This brand does not take promoters.")
    status = PromoterStatus.active if mode == "open" else PromoterStatus.pending
    if mode == "spend":
        threshold = int(settings.get("spend_threshold_minor", 0))
        if spent_minor(session, scope.tenant_id, scope.consumer_id) < threshold:
            raise SpendThresholdNotMet(f"Promoters have spent at least {threshold} (minor units).")
        status = PromoterStatus.active
    consumer = session.get(Consumer, (scope.tenant_id, scope.consumer_id))
    with elevated(session, Why.join_distribution, scope=system_scope(scope.tenant_id)):
        level_id = _entry_level(session, scope.tenant_id)
    values = {"tenant_id": scope.tenant_id, "id": uuid7(), "owner_path": consumer.owner_path,
              "kind": BeneficiaryKind.consumer, "consumer_id": consumer.id, "user_id": None,
              "org_id": consumer.home_store_id, "level_id": level_id,
              "status": status, "code": new_code(), "created_at": utcnow()}
    unique = ["tenant_id", "consumer_id"]
    session.execute(insert_or_ignore(session, Promoter, conflict_on=unique).values(values))
    return my_promoter(session, scope)


def add_staff_promoter(session: Session, scope: Scope, *, user_id: uuid.UUID) -> Promoter:
    """A manager makes one of their staff (a guide) a promoter; active at once."""
    require(scope, Action.approve_promoters)
    user = get_visible(session, User, scope, user_id)
    require(scope, Action.approve_promoters, on=user.owner_path)
    existing = session.scalar(select(Promoter).where(Promoter.tenant_id == scope.tenant_id,
                                                     Promoter.user_id == user.id))
    if existing is not None:
        return existing
    promoter = Promoter(tenant_id=scope.tenant_id, id=uuid7(), owner_path=user.owner_path,
                        kind=BeneficiaryKind.staff, user_id=user.id, org_id=user.org_id,
                        level_id=_entry_level(session, scope.tenant_id), status=PromoterStatus.active,
                        code=new_code(), decided_by_id=scope.actor_id, decided_at=utcnow())
    session.add(promoter)
    session.flush()
    return promoter


def decide(session: Session, scope: Scope, *, promoter_id: uuid.UUID, approve: bool) -> Promoter:
    """Approve or reject a pending application; suspend (approve=False) an active promoter."""
    require(scope, Action.approve_promoters)
    promoter = get_visible(session, Promoter, scope, promoter_id)
    require(scope, Action.approve_promoters, on=promoter.owner_path)
    if approve and promoter.status is not PromoterStatus.pending:
        raise AlreadyDecided(f"The promoter is {promoter.status.value}; only pending ones are approved.")
    if not approve and promoter.status not in (PromoterStatus.pending, PromoterStatus.active):
        raise AlreadyDecided(f"The promoter is already {promoter.status.value}.")
    if approve:
        promoter.status = PromoterStatus.active
    else:
        promoter.status = PromoterStatus.rejected if promoter.status is PromoterStatus.pending \
            else PromoterStatus.suspended
    promoter.decided_by_id, promoter.decided_at = scope.actor_id, utcnow()
    audit(session, scope, Action.approve_promoters.value, owner_path=promoter.owner_path,
          subject_id=promoter.id, subject_type="promoter", outcome=promoter.status.value)
    session.flush()
    return promoter


def set_level(session: Session, scope: Scope, *, promoter_id: uuid.UUID,
              level_id: uuid.UUID | None) -> Promoter:
    require(scope, Action.approve_promoters)
    promoter = get_visible(session, Promoter, scope, promoter_id)
    require(scope, Action.approve_promoters, on=promoter.owner_path)
    if level_id is not None:
        get_visible(session, PromoterLevel, scope, level_id)
    promoter.level_id = level_id
    session.flush()
    return promoter


def _entry_level(session: Session, tenant_id: uuid.UUID) -> uuid.UUID | None:
    """New promoters start at the lowest level, if the brand defined any."""
    return session.scalar(select(PromoterLevel.id).where(PromoterLevel.tenant_id == tenant_id)
                          .order_by(PromoterLevel.rank).limit(1))


def promoter_by_code(session: Session, tenant_id: uuid.UUID, code: str) -> Promoter:
    found = session.scalar(select(Promoter).where(Promoter.tenant_id == tenant_id, Promoter.code == code))
    if found is None:
        raise NotFound("No promoter with that code.")
    return found
