"""Commission arithmetic without a database: precedence, 级差, the cap, what refunds leave."""

import uuid
from dataclasses import dataclass

from hypothesis import given
from hypothesis import strategies as st

from app.distribution import rules
from app.distribution.chain import ChainLink
from app.distribution.ledger import Beneficiary
from app.distribution.models import BeneficiaryKind, EntryRole
from app.distribution.snapshot import line_earnings

SKU, PRODUCT, CATEGORY = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
LINE = rules.LineTarget(SKU, PRODUCT, CATEGORY)


@dataclass
class Line:
    total_minor: int
    qty: int


def rule(role="promoter_l1", order=0, **fields):
    return rules.RuleTerms(id=uuid.uuid4(), role=role, order=order, **({"rate_bp": 100} | fields))


def test_a_sku_rule_beats_a_product_rule_beats_a_category_rule_beats_a_general_one():
    general, category = rule(order=4), rule(category_id=CATEGORY, order=3)
    product, sku = rule(product_id=PRODUCT, order=2), rule(sku_id=SKU, order=1)
    candidates = [general, category, product, sku]
    assert rules.pick_rule(candidates, role="promoter_l1", line=LINE) is sku
    assert rules.pick_rule(candidates[:3], role="promoter_l1", line=LINE) is product
    assert rules.pick_rule(candidates[:2], role="promoter_l1", line=LINE) is category
    assert rules.pick_rule([rule(sku_id=uuid.uuid4()), general], role="promoter_l1", line=LINE) is general


def test_a_rule_for_the_promoters_level_beats_a_general_one_of_the_same_target_and_never_matches_others():
    level = uuid.uuid4()
    general, for_level = rule(order=2), rule(promoter_level_id=level, order=1)
    assert rules.pick_rule([general, for_level], role="promoter_l1", line=LINE, level_id=level) is for_level
    assert rules.pick_rule([general, for_level], role="promoter_l1", line=LINE, level_id=None) is general


def test_the_newest_of_two_equal_rules_wins_and_other_roles_are_ignored():
    older, newer = rule(order=1), rule(order=2)
    assert rules.pick_rule([newer, older, rule("guide", order=9)], role="promoter_l1", line=LINE) is newer
    assert rules.pick_rule([older], role="guide", line=LINE) is None


def test_amounts_are_a_rounded_down_percentage_or_fixed_per_unit():
    assert rules.amount_for(rate_bp=333, fixed_minor=None, base_minor=1000, qty=3) == 33
    assert rules.amount_for(rate_bp=None, fixed_minor=150, base_minor=1000, qty=3) == 450


def test_the_differential_pays_each_distributor_its_rate_minus_the_highest_below_it():
    assert rules.differential([800, 1200, 1500]) == [800, 400, 300]
    assert rules.differential([1200, 800, 1500]) == [1200, 0, 300]  # a lower rate above earns nothing


def test_the_cap_fills_the_base_in_precedence_order():
    assert rules.cap_to_base([600, 300, 300], 1000) == [600, 300, 100]


def test_a_line_kept_in_full_keeps_every_share_and_a_line_refunded_in_full_keeps_none():
    assert rules.kept_shares([300, 200, 7], 1000, 1000) == [300, 200, 7]
    assert rules.kept_shares([300, 200, 7], 1000, 0) == [0, 0, 0]
    assert rules.kept_shares([300, 200, 7], 0, 0) == [0, 0, 0]


ROLES = [EntryRole.promoter_l1, EntryRole.promoter_l2, EntryRole.guide, EntryRole.home_store,
         EntryRole.distributor, EntryRole.distributor, EntryRole.distributor]


def chain(size: int) -> list[ChainLink]:
    links = []
    for role in ROLES[:size]:
        org = uuid.uuid4()
        links.append(ChainLink(role, Beneficiary(BeneficiaryKind.org, org, org, "/b/"), org_id=org))
    return links


terms = st.lists(st.builds(
    lambda role, rate, fixed, use_rate, org: rules.RuleTerms(
        id=uuid.uuid4(), role=role.value, rate_bp=rate if use_rate else None,
        fixed_minor=None if use_rate else fixed),
    st.sampled_from(ROLES), st.integers(0, 10_000), st.integers(0, 1_000_000), st.booleans(), st.none()),
    max_size=12)


@given(terms, st.integers(1, len(ROLES)), st.integers(0, 10_000_000), st.integers(1, 50))
def test_commissions_on_a_line_never_exceed_its_base_and_are_never_negative(rule_terms, size, base, qty):
    earned = line_earnings(rule_terms, chain(size), {}, LINE, Line(total_minor=base, qty=qty))
    assert sum(e.amount_minor for e in earned) <= base
    assert all(e.amount_minor > 0 for e in earned)


@given(st.lists(st.integers(0, 100_000), min_size=1, max_size=8), st.integers(1, 10_000_000),
       st.integers(0, 10_000_000))
def test_kept_shares_never_exceed_the_accrued_amount_and_sum_to_the_scaled_total(amounts, base, kept):
    kept = min(kept, base)
    shares = rules.kept_shares(amounts, base, kept)
    assert all(0 <= share <= amount for share, amount in zip(shares, amounts, strict=True))
    assert sum(shares) == sum(amounts) * kept // base
