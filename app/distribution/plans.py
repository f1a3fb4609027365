"""The brand's commission terms: plans with their rules, and promoter levels.

Only the brand's own staff write them (`commissions.manage`, reach own, checked on the brand
root's path); the newest active plan applies to orders placed from then on (snapshots; a
worker that did not create it learns of it within a minute: snapshot.plan_terms is cached).
"""

import uuid

from sqlalchemy import update
from sqlalchemy.orm import Session

from app.db import uuid7
from app.distribution.errors import BrandOnly, InvalidCommissionRule
from app.distribution.models import COMMISSION_ROLES, CommissionPlan, CommissionRule, EntryRole, PromoterLevel
from app.distribution.snapshot import forget_plan_terms
from app.tenancy.enums import ActorKind
from app.tenancy.filters import get_visible, scoped
from app.tenancy.orgs import brand_root
from app.tenancy.permissions import Action, require
from app.tenancy.scope import Scope


def _brand_path(session: Session, scope: Scope) -> str:
    require(scope, Action.manage_commissions)
    brand = brand_root(session, scope.tenant_id)
    if scope.actor_kind is not ActorKind.system and scope.org_id != brand.id:
        raise BrandOnly("Commission plans and promoter levels belong to the brand.")
    require(scope, Action.manage_commissions, on=brand.path)
    return brand.path


def create_plan(session: Session, scope: Scope, *, name: str, rules: list[dict],
                activate: bool = True) -> CommissionPlan:
    """A new plan with its rules; activating it deactivates the others (new orders use it)."""
    path = _brand_path(session, scope)
    if activate:
        session.execute(update(CommissionPlan).where(CommissionPlan.tenant_id == scope.tenant_id,
                                                     CommissionPlan.active.is_(True))
                        .values(active=False).execution_options(synchronize_session=False))
    plan = CommissionPlan(tenant_id=scope.tenant_id, id=uuid7(), owner_path=path, name=name, active=activate)
    session.add(plan)
    session.flush()
    for rule in rules:
        session.add(_rule(scope, plan, path, rule))
    session.flush()
    forget_plan_terms()  # this worker applies it at once; others within a minute (snapshot cache)
    return plan


def _rule(scope: Scope, plan: CommissionPlan, path: str, fields: dict) -> CommissionRule:
    role = EntryRole(fields["role"])
    if role not in COMMISSION_ROLES:
        raise InvalidCommissionRule(f"{role.value} is not a commission role.")
    if (fields.get("rate_bp") is None) == (fields.get("fixed_minor") is None):
        raise InvalidCommissionRule("A rule has either rate_bp or fixed_minor.")
    if sum(fields.get(key) is not None for key in ("sku_id", "product_id", "category_id")) > 1:
        raise InvalidCommissionRule("A rule targets at most one of sku_id, product_id, category_id.")
    return CommissionRule(
        tenant_id=scope.tenant_id, id=uuid7(), owner_path=path, plan_id=plan.id, role=role,
        sku_id=fields.get("sku_id"), product_id=fields.get("product_id"),
        category_id=fields.get("category_id"), promoter_level_id=fields.get("promoter_level_id"),
        org_id=fields.get("org_id"), org_depth=fields.get("org_depth"), rate_bp=fields.get("rate_bp"),
        fixed_minor=fields.get("fixed_minor"))


def list_plans(session: Session, scope: Scope) -> list[tuple[CommissionPlan, list[CommissionRule]]]:
    plans = list(session.scalars(scoped(CommissionPlan, scope)
                                 .order_by(CommissionPlan.created_at.desc(), CommissionPlan.id.desc())
                                 .limit(50)))
    found: dict[uuid.UUID, list[CommissionRule]] = {plan.id: [] for plan in plans}
    if plans:
        statement = scoped(CommissionRule, scope).where(CommissionRule.plan_id.in_(list(found)))
        for rule in session.scalars(statement.order_by(CommissionRule.created_at, CommissionRule.id)):
            found[rule.plan_id].append(rule)
    return [(plan, found[plan.id]) for plan in plans]


def get_plan(session: Session, scope: Scope,
             plan_id: uuid.UUID) -> tuple[CommissionPlan, list[CommissionRule]]:
    plan = get_visible(session, CommissionPlan, scope, plan_id)
    rules = list(session.scalars(scoped(CommissionRule, scope).where(CommissionRule.plan_id == plan.id)
                                 .order_by(CommissionRule.created_at, CommissionRule.id)))
    return plan, rules


def create_level(session: Session, scope: Scope, *, name: str, rank: int, l1_rate_bp: int,
                 l2_rate_bp: int = 0, spend_threshold_minor: int = 0) -> PromoterLevel:
    path = _brand_path(session, scope)
    level = PromoterLevel(tenant_id=scope.tenant_id, id=uuid7(), owner_path=path, name=name, rank=rank,
                          l1_rate_bp=l1_rate_bp, l2_rate_bp=l2_rate_bp,
                          spend_threshold_minor=spend_threshold_minor)
    session.add(level)
    session.flush()
    return level


def list_levels(session: Session, scope: Scope) -> list[PromoterLevel]:
    return list(session.scalars(scoped(PromoterLevel, scope).order_by(PromoterLevel.rank)))

