"""Pure commission arithmetic: which rule applies, a line's amounts, 级差, what a refund leaves.

No session here; plain values in, plain values out (tests/unit/test_distribution_rules.py).
"""

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from app.money import allocate

BASIS_POINTS = 10_000


@dataclass(frozen=True)
class RuleTerms:
    """What a commission rule says, detached from the database row."""

    id: uuid.UUID | None
    role: str
    rate_bp: int | None = None
    fixed_minor: int | None = None
    sku_id: uuid.UUID | None = None
    product_id: uuid.UUID | None = None
    category_id: uuid.UUID | None = None
    promoter_level_id: uuid.UUID | None = None
    org_id: uuid.UUID | None = None
    org_depth: int | None = None
    order: int = 0  # creation order: the newer rule wins a tie


@dataclass(frozen=True)
class LineTarget:
    """What a line is: its SKU, that SKU's product and the product's category."""

    sku_id: uuid.UUID
    product_id: uuid.UUID | None
    category_id: uuid.UUID | None


def _target_rank(rule: RuleTerms, line: LineTarget) -> int | None:
    """SKU 3 > product 2 > category 1 > any 0; None if the rule targets something else."""
    if rule.sku_id is not None:
        return 3 if rule.sku_id == line.sku_id else None
    if rule.product_id is not None:
        return 2 if rule.product_id == line.product_id else None
    if rule.category_id is not None:
        return 1 if rule.category_id == line.category_id else None
    return 0


def _qualifier_rank(rule: RuleTerms, *, level_id: uuid.UUID | None, org_id: uuid.UUID | None,
                    org_depth: int | None) -> int | None:
    """A rule for this promoter level / this org (2) or org depth (1) beats a general one (0)."""
    rank = 0
    for wanted, have, weight in ((rule.promoter_level_id, level_id, 2), (rule.org_id, org_id, 2),
                                 (rule.org_depth, org_depth, 1)):
        if wanted is None:
            continue
        if wanted != have:
            return None
        rank += weight
    return rank


def pick_rule(rules: Iterable[RuleTerms], *, role: str, line: LineTarget, level_id: uuid.UUID | None = None,
              org_id: uuid.UUID | None = None, org_depth: int | None = None) -> RuleTerms | None:
    """The rule that applies (docs/distribution.md, precedence): target first, then qualifier, then newest."""
    best, best_rank = None, None
    for rule in rules:
        if rule.role != role:
            continue
        target = _target_rank(rule, line)
        qualifier = _qualifier_rank(rule, level_id=level_id, org_id=org_id, org_depth=org_depth)
        if target is None or qualifier is None:
            continue
        rank = (target, qualifier, rule.order)
        if best_rank is None or rank > best_rank:
            best, best_rank = rule, rank
    return best


def amount_for(*, rate_bp: int | None, fixed_minor: int | None, base_minor: int, qty: int) -> int:
    """A percentage of the base (rounded down) or a fixed amount per unit."""
    if rate_bp is not None:
        return base_minor * rate_bp // BASIS_POINTS
    return (fixed_minor or 0) * qty


def differential(cumulative: Sequence[int]) -> list[int]:
    """级差 up a chain (nearest first): each earns its amount minus the most any one below it earns."""
    earned, below = [], 0
    for amount in cumulative:
        earned.append(max(0, amount - below))
        below = max(below, amount)
    return earned


def cap_to_base(amounts: Sequence[int], base_minor: int) -> list[int]:
    """In precedence order, each amount fits in what the ones before it left of the base."""
    left, capped = base_minor, []
    for amount in amounts:
        part = max(0, min(amount, left))
        capped.append(part)
        left -= part
    return capped


def kept_shares(amounts: Sequence[int], base_minor: int, kept_minor: int) -> list[int]:
    """Each beneficiary's share of a line when only `kept_minor` of its base was kept.

    The line's total commission is scaled down (rounded down) and split back by largest remainder
    over the original amounts. It depends only on what was kept, never on how the refunds came,
    so any sequence of partial refunds nets every beneficiary to exactly this.
    """
    if base_minor <= 0:
        return [0] * len(amounts)
    kept_minor = max(0, min(kept_minor, base_minor))
    total = sum(amounts) * kept_minor // base_minor
    return allocate(total, list(amounts)) if amounts else []
