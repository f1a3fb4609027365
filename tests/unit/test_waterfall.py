"""The checkout waterfall: order of steps, stacking, caps, and exact allocation (property-tested)."""

import uuid

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.membership.checkout_errors import CouponNotApplicable, NotStackable, PointsOverLimit
from app.membership.checkout_models import AdjustmentStep
from app.membership.coupon_models import CouponKind, CouponScope
from app.membership.waterfall import CouponTerms, Item, MallTerms, PointsTerms, Stacking, give_back, run
from app.orders.rules import refundable_value

TEA, CUP = uuid.uuid4(), uuid.uuid4()
CAT = uuid.uuid4()


def points(n, share_bp=5000):
    """One point is one minor unit, up to half the goods."""
    return PointsTerms(points=n, max_share_bp=share_bp, value_minor=lambda p: p, points_for=lambda m: m)


def amount_off(off, threshold=0, **kw):
    return CouponTerms(coupon_id=uuid.uuid4(), kind=CouponKind.amount_off, amount_off_minor=off,
                       min_goods_minor=threshold, **kw)


def test_the_steps_apply_in_the_documented_order_each_on_what_the_previous_left():
    items = [Item(TEA, 10_000, 1), Item(CUP, 5_000, 2)]
    result = run(items, level_code="gold", level_discount_bp=1000, coupon=amount_off(2_000, 15_000),
                 points=points(1_000), shipping_fee_minor=800, free_shipping_min_minor=10_000)
    assert [step.step for step in result.steps] == [
        AdjustmentStep.level, AdjustmentStep.coupon, AdjustmentStep.points, AdjustmentStep.shipping]
    assert [step.amount_minor for step in result.steps] == [2_000, 2_000, 1_000, 800]
    assert result.discount_minor == 5_000 and result.shipping_minor == 0
    assert result.total_minor == 15_000 and sum(result.line_discounts) == 5_000


def test_a_threshold_coupon_counts_the_covered_goods_after_the_level_discount():
    items = [Item(TEA, 10_000, 1)]
    with pytest.raises(CouponNotApplicable):
        run(items, level_discount_bp=1000, coupon=amount_off(1_000, threshold=10_000))
    assert run(items, coupon=amount_off(1_000, threshold=10_000)).discount_minor == 1_000


def test_a_percent_coupon_is_capped_and_only_discounts_the_lines_it_covers():
    items = [Item(TEA, 10_000, 1, CAT), Item(CUP, 10_000, 1)]
    coupon = CouponTerms(coupon_id=uuid.uuid4(), kind=CouponKind.percent_off, percent_off_bp=2000,
                         max_off_minor=1_500, applies_to=CouponScope.category, category_id=CAT)
    result = run(items, coupon=coupon)
    assert result.line_discounts == [1_500, 0]


def test_a_coupon_that_covers_no_line_is_refused():
    coupon = CouponTerms(coupon_id=uuid.uuid4(), kind=CouponKind.no_threshold, amount_off_minor=100,
                         applies_to=CouponScope.skus, sku_ids=frozenset({CUP}))
    with pytest.raises(CouponNotApplicable):
        run([Item(TEA, 1_000, 1)], coupon=coupon)


def test_points_beyond_the_max_share_are_refused():
    with pytest.raises(PointsOverLimit):
        run([Item(TEA, 1_000, 1)], points=points(501))
    assert run([Item(TEA, 1_000, 1)], points=points(500)).discount_minor == 500


def test_the_stacking_matrix_lets_an_explicit_coupon_win_over_the_level_and_refuses_coupon_with_points():
    items = [Item(TEA, 10_000, 1)]
    no_level = Stacking(level_with_coupon=False)
    result = run(items, level_discount_bp=1000, coupon=amount_off(500), stacking=no_level)
    assert [step.step for step in result.steps] == [AdjustmentStep.coupon]
    with pytest.raises(NotStackable):
        run(items, coupon=amount_off(500), points=points(10), stacking=Stacking(coupon_with_points=False))
    assert Stacking.from_settings({"stacking": {"coupon_with_points": False}}) == Stacking(
        coupon_with_points=False)


def test_a_mall_order_pays_the_goods_in_points_except_the_items_cash():
    result = run([Item(TEA, 5_000, 2)], mall=MallTerms(uuid.uuid4(), TEA, points_price=300, cash_minor=990),
                 level_discount_bp=1000)
    assert [(s.step, s.amount_minor, s.points) for s in result.steps] == [
        (AdjustmentStep.points_mall, 8_020, 600)]
    assert result.total_minor == 1_980


lines_st = st.lists(st.tuples(st.integers(0, 50_000), st.integers(1, 7)), min_size=1, max_size=6)


@settings(max_examples=300, deadline=None)
@given(lines=lines_st, level_bp=st.integers(0, 5000), off=st.integers(0, 100_000),
       percent=st.integers(0, 10_000), use_percent=st.booleans(), covered=st.lists(st.booleans(), min_size=6),
       share_bp=st.integers(0, 10_000), wanted=st.integers(0, 400_000))
def test_every_step_sums_exactly_and_no_line_goes_below_zero(lines, level_bp, off, percent, use_percent,
                                                            covered, share_bp, wanted):
    skus = [uuid.uuid4() for _ in lines]
    items = [Item(sku, price, qty) for sku, (price, qty) in zip(skus, lines, strict=True)]
    chosen = frozenset(sku for sku, keep in zip(skus, covered, strict=False) if keep) or frozenset(skus[:1])
    coupon = CouponTerms(coupon_id=uuid.uuid4(), kind=CouponKind.percent_off if use_percent else
                         CouponKind.no_threshold, amount_off_minor=off, percent_off_bp=percent,
                         applies_to=CouponScope.skus, sku_ids=chosen)
    goods = sum(item.goods_minor for item in items)
    cap = goods * share_bp // 10_000
    try:
        result = run(items, level_discount_bp=level_bp, coupon=coupon,
                     points=points(min(wanted, cap), share_bp))
    except PointsOverLimit:  # the level and the coupon left less than the cap
        return
    for step in result.steps:
        assert sum(step.per_line) == step.amount_minor
        if step.points:
            assert sum(step.points_per_line) == step.points
    for item, discount in zip(items, result.line_discounts, strict=True):
        assert 0 <= discount <= item.goods_minor
    assert result.total_minor == goods - result.discount_minor + result.shipping_minor


@settings(max_examples=300, deadline=None)
@given(share=st.integers(0, 100_000), qty=st.integers(1, 12), data=st.data())
def test_refunds_in_any_split_and_order_give_back_exactly_the_lines_share(share, qty, data):
    splits = data.draw(st.lists(st.integers(1, qty), min_size=1, max_size=qty))
    parts, left = [], qty
    for wanted in splits:
        if left == 0:
            break
        parts.append(min(wanted, left))
        left -= parts[-1]
    if left:
        parts.append(left)
    order = data.draw(st.permutations(range(len(parts))))
    before, returned = 0, []
    for index in order:  # handled in any order: each refund's share depends on those executed before it
        returned.append(give_back(share, qty, before, parts[index]))
        before += parts[index]
    assert sum(returned) == share
    assert all(part >= 0 for part in returned)
    assert give_back(share, qty, 0, qty) == refundable_value(share, qty, 0, qty)


@settings(max_examples=200, deadline=None)
@given(lines=lines_st, wanted=st.integers(1, 200_000), data=st.data())
def test_refunding_every_unit_in_any_split_and_order_returns_exactly_the_points_and_money_taken(
        lines, wanted, data):
    items = [Item(uuid.uuid4(), max(price, 1), qty) for price, qty in lines]
    goods = sum(item.goods_minor for item in items)
    result = run(items, level_discount_bp=500, points=points(min(wanted, goods // 2)))
    steps = [step for step in result.steps if step.points]
    # each refund takes some units of one line; refunds execute in a random order
    refunds = [(index, part) for index, item in enumerate(items)
               for part in _split(data, item.qty)]
    refunds = data.draw(st.permutations(refunds))
    done = [0] * len(items)
    points_back = money_back = 0
    for index, qty in refunds:
        for step in steps:
            points_back += give_back(step.points_per_line[index], items[index].qty, done[index], qty)
        line_total = items[index].goods_minor - result.line_discounts[index]
        money_back += refundable_value(line_total, items[index].qty, done[index], qty)
        done[index] += qty
    assert points_back == result.points
    assert money_back == goods - result.discount_minor


def _split(data, qty: int) -> list[int]:
    parts = []
    while qty:
        parts.append(data.draw(st.integers(1, qty)))
        qty -= parts[-1]
    return parts
