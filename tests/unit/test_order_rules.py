"""Pure order arithmetic: totals tie out, discounts and refunds split to the cent."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.orders.errors import IllegalTransition
from app.orders.models import OrderStatus
from app.orders.rules import price_lines, refundable_value, shipping_fee, split_refund, totals
from app.orders.transitions import ORDER_TRANSITIONS, REFUND_TRANSITIONS, order_target

price_qty = st.tuples(st.integers(0, 10**7), st.integers(1, 1000))


@given(st.lists(price_qty, min_size=1, max_size=10), st.integers(0, 10**9))
def test_a_discount_spread_over_lines_sums_to_the_discount_and_never_exceeds_a_line(prices, discount):
    lines = price_lines(prices, discount)
    goods = sum(price * qty for price, qty in prices)
    assert sum(line.discount_minor for line in lines) == min(discount, goods)
    assert all(0 <= line.discount_minor <= line.goods_minor for line in lines)


@given(st.lists(price_qty, min_size=1, max_size=10), st.integers(0, 10**6), st.integers(0, 5000))
def test_the_order_total_is_goods_minus_discount_plus_shipping(prices, discount, shipping):
    lines = price_lines(prices, discount)
    result = totals(lines, shipping)
    assert result.total_minor == sum(line.total_minor for line in lines) + shipping


@given(st.integers(0, 10**8), st.integers(1, 50), st.data())
def test_claiming_a_line_in_any_steps_refunds_exactly_its_total(line_total, qty, data):
    claimed, refunded = 0, 0
    while claimed < qty:
        step = data.draw(st.integers(1, qty - claimed))
        refunded += refundable_value(line_total, qty, claimed, step)
        claimed += step
    assert refunded == line_total


@given(st.lists(st.integers(0, 10**6), min_size=1, max_size=8), st.data())
def test_a_partial_refund_splits_over_lines_without_exceeding_any(values, data):
    amount = data.draw(st.integers(0, sum(values)))
    parts = split_refund(amount, values)
    assert sum(parts) == amount
    assert all(0 <= part <= value for part, value in zip(parts, values, strict=True))


def test_a_refund_larger_than_the_lines_is_refused():
    with pytest.raises(ValueError):
        split_refund(101, [50, 50])


def test_shipping_is_free_for_pickup_and_above_the_threshold():
    settings = {"shipping_flat_minor": 800, "free_shipping_from_minor": 9900}
    assert shipping_fee(5000, delivery="ship", settings=settings) == 800
    assert shipping_fee(9900, delivery="ship", settings=settings) == 0
    assert shipping_fee(100, delivery="pickup", settings=settings) == 0
    assert shipping_fee(100, delivery="ship", settings={}) == 0


def test_only_a_pending_order_can_be_paid_or_cancelled():
    assert order_target(OrderStatus.pending_payment, "pay") is OrderStatus.paid
    for status in OrderStatus:
        if status is not OrderStatus.pending_payment:
            with pytest.raises(IllegalTransition):
                order_target(status, "cancel")


def test_every_status_is_reachable_from_pending_payment():
    reachable, frontier = {OrderStatus.pending_payment}, [OrderStatus.pending_payment]
    while frontier:
        status = frontier.pop()
        for sources, target in ORDER_TRANSITIONS.values():
            if status in sources and target not in reachable:
                reachable.add(target)
                frontier.append(target)
    assert reachable == set(OrderStatus)


def test_terminal_refund_statuses_have_no_way_out_but_a_gateway_bounce():
    sources = set().union(*(s for s, _ in REFUND_TRANSITIONS.values()))
    assert "refund_rejected" not in sources
    # refunded is final for people; only the gateway failing the refund afterwards reopens it.
    assert [a for a, (s, _) in REFUND_TRANSITIONS.items() if "refunded" in s] == ["bounce"]
