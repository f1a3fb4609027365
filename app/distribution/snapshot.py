"""The commission snapshot, taken once when a retail order is placed: chain, rates and base per line.

Payment, completion and refunds read these rows and nothing else: a rule, level or binding
changed after placement never changes what an order pays.
"""

import uuid
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.catalog.models import Product, Sku
from app.db import utcnow, uuid7
from app.distribution import rules
from app.distribution.chain import ChainLink, commission_chain
from app.distribution.models import (
    CommissionPlan,
    CommissionRule,
    CommissionSnapshot,
    EntryRole,
    PromoterLevel,
)
from app.orders.cache import TtlCache
from app.orders.models import Order, OrderFlow, OrderLine
from app.tenancy.elevation import Why, elevated
from app.tenancy.scope import system_scope


@dataclass(frozen=True)
class Earning:
    link: ChainLink
    rule: rules.RuleTerms | None
    rate_bp: int | None
    fixed_minor: int | None
    amount_minor: int


def snapshot_commissions(session: Session, order: Order, lines: list[OrderLine]) -> int:
    """Write the order's commission snapshot (retail orders of a consumer); answer how many rows."""
    if order.flow is not OrderFlow.retail or order.buyer_consumer_id is None:
        return 0
    with elevated(session, Why.snapshot_commissions, scope=system_scope(order.tenant_id)):
        terms = plan_terms(session, order.tenant_id)
        if not terms:
            return 0
        chain = commission_chain(session, order)
        if not chain:
            return 0
        levels = _level_rates(session, order.tenant_id, chain)
        targets = _targets(session, order.tenant_id, [line.sku_id for line in lines])
        rows = []
        for line in lines:
            for earning in line_earnings(terms, chain, levels, targets[line.sku_id], line):
                rows.append(_row(order, line, earning))
        if rows:
            session.execute(CommissionSnapshot.__table__.insert(), rows)
        return len(rows)


def line_earnings(terms: list[rules.RuleTerms], chain: list[ChainLink],
                  levels: dict[uuid.UUID, tuple[int, int]], target: rules.LineTarget,
                  line: OrderLine) -> list[Earning]:
    """Who earns what on one line: rules by precedence, 级差 for distributors, capped at the base."""
    base, qty = line.total_minor, line.qty
    picked: list[tuple[ChainLink, rules.RuleTerms | None, int | None, int | None, int]] = []
    for link in chain:
        rule = rules.pick_rule(terms, role=link.role.value, line=target, level_id=link.level_id,
                               org_id=link.org_id if link.role in ORG_QUALIFIED else None,
                               org_depth=link.org_depth)
        rate_bp, fixed = (rule.rate_bp, rule.fixed_minor) if rule else (None, None)
        if rule is None and link.level_id in levels and link.role in LEVEL_ROLES:
            rate_bp = levels[link.level_id][0 if link.role is EntryRole.promoter_l1 else 1]
        if rate_bp is None and fixed is None:
            continue
        amount = rules.amount_for(rate_bp=rate_bp, fixed_minor=fixed, base_minor=base, qty=qty)
        picked.append((link, rule, rate_bp, fixed, amount))
    distributors = [i for i, item in enumerate(picked) if item[0].role is EntryRole.distributor]
    earned = [item[4] for item in picked]
    for index, amount in zip(distributors, rules.differential([earned[i] for i in distributors]),
                             strict=True):
        earned[index] = amount
    capped = rules.cap_to_base(earned, base)
    return [Earning(link, rule, rate_bp, fixed, amount)
            for (link, rule, rate_bp, fixed, _), amount in zip(picked, capped, strict=True) if amount > 0]


ORG_QUALIFIED = (EntryRole.home_store, EntryRole.distributor, EntryRole.guide)
LEVEL_ROLES = (EntryRole.promoter_l1, EntryRole.promoter_l2)


_PLAN_TERMS = TtlCache(seconds=60)


def plan_terms(session: Session, tenant_id: uuid.UUID) -> list[rules.RuleTerms]:
    """The rules of the tenant's newest active plan (none: no commissions).

    Cached for a minute per process: checkout asks on every order, and plans are immutable (a new
    plan replaces the active one). create_plan forgets the cache in its own process; the other
    workers apply a new plan to orders placed up to 60 s later (docs/distribution.md)."""
    return _PLAN_TERMS.get(tenant_id, lambda: _load_plan_terms(session, tenant_id))


def forget_plan_terms() -> None:
    _PLAN_TERMS.clear()


def _load_plan_terms(session: Session, tenant_id: uuid.UUID) -> list[rules.RuleTerms]:
    plan_id = session.scalar(select(CommissionPlan.id).where(
        CommissionPlan.tenant_id == tenant_id, CommissionPlan.active.is_(True))
        .order_by(CommissionPlan.created_at.desc(), CommissionPlan.id.desc()).limit(1))
    if plan_id is None:
        return []
    found = session.scalars(select(CommissionRule).where(
        CommissionRule.tenant_id == tenant_id, CommissionRule.plan_id == plan_id)
        .order_by(CommissionRule.created_at, CommissionRule.id))
    return [rules.RuleTerms(id=r.id, role=r.role.value, rate_bp=r.rate_bp, fixed_minor=r.fixed_minor,
                            sku_id=r.sku_id, product_id=r.product_id, category_id=r.category_id,
                            promoter_level_id=r.promoter_level_id, org_id=r.org_id, org_depth=r.org_depth,
                            order=number) for number, r in enumerate(found)]


def _level_rates(session: Session, tenant_id: uuid.UUID,
                 chain: list[ChainLink]) -> dict[uuid.UUID, tuple[int, int]]:
    ids = {link.level_id for link in chain if link.level_id}
    if not ids:
        return {}
    return {row.id: (row.l1_rate_bp, row.l2_rate_bp) for row in session.execute(
        select(PromoterLevel.id, PromoterLevel.l1_rate_bp, PromoterLevel.l2_rate_bp).where(
            PromoterLevel.tenant_id == tenant_id, PromoterLevel.id.in_(ids)))}


def _targets(session: Session, tenant_id: uuid.UUID,
             sku_ids: list[uuid.UUID]) -> dict[uuid.UUID, rules.LineTarget]:
    found = session.execute(select(Sku.id, Sku.product_id, Product.category_id).join(
        Product, (Product.tenant_id == Sku.tenant_id) & (Product.id == Sku.product_id))
        .where(Sku.tenant_id == tenant_id, Sku.id.in_(sku_ids)))
    targets = {sku_id: rules.LineTarget(sku_id, product_id, category_id)
               for sku_id, product_id, category_id in found}
    return {sku_id: targets.get(sku_id, rules.LineTarget(sku_id, None, None)) for sku_id in sku_ids}


def _row(order: Order, line: OrderLine, earning: Earning) -> dict:
    link = earning.link
    return {
        "tenant_id": order.tenant_id, "id": uuid7(), "owner_path": link.beneficiary.owner_path,
        "beneficiary_kind": link.beneficiary.kind, "beneficiary_id": link.beneficiary.id,
        "beneficiary_org_id": link.beneficiary.org_id,
        "beneficiary_consumer_id": link.beneficiary.consumer_id, "order_id": order.id,
        "order_line_id": line.id, "role": link.role, "promoter_id": link.promoter_id,
        "rule_id": earning.rule.id if earning.rule else None, "rate_bp": earning.rate_bp,
        "fixed_minor": earning.fixed_minor, "qty": line.qty, "base_minor": line.total_minor,
        "amount_minor": earning.amount_minor, "currency": order.currency, "created_at": utcnow(),
    }
