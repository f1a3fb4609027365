"""Money: minor units and largest-remainder allocation (property-tested)."""

from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.money import allocate, format_minor, minor_digits, to_minor

weights_lists = st.lists(st.integers(min_value=0, max_value=10**9), min_size=1, max_size=30)
totals = st.integers(min_value=0, max_value=10**12)


@given(totals, weights_lists)
def test_allocated_parts_sum_exactly_to_the_total(total, weights):
    assert sum(allocate(total, weights)) == total


@given(totals, weights_lists)
def test_allocated_parts_are_never_negative(total, weights):
    assert all(part >= 0 for part in allocate(total, weights))


@given(totals, weights_lists)
def test_each_part_is_within_one_unit_of_its_exact_share(total, weights):
    weight_sum = sum(weights) or len(weights)
    effective = weights if sum(weights) else [1] * len(weights)
    for part, weight in zip(allocate(total, weights), effective, strict=True):
        assert abs(part - Fraction(total * weight, weight_sum)) < 1


@given(totals, weights_lists)
def test_a_zero_weight_gets_nothing_unless_all_weights_are_zero(total, weights):
    if any(weights):
        parts = allocate(total, weights)
        assert all(part == 0 for part, weight in zip(parts, weights, strict=True) if weight == 0)


def test_a_cent_that_does_not_divide_goes_to_the_largest_remainder():
    assert allocate(100, [1, 1, 1]) == [34, 33, 33]
    assert allocate(10, [3, 3, 4]) == [3, 3, 4]
    assert allocate(1, [1, 2]) == [0, 1]


def test_all_zero_weights_split_evenly():
    assert allocate(5, [0, 0]) == [3, 2]


def test_negative_inputs_are_refused():
    with pytest.raises(ValueError):
        allocate(-1, [1])
    with pytest.raises(ValueError):
        allocate(1, [-1, 2])
    with pytest.raises(ValueError):
        allocate(1, [])


def test_decimal_strings_become_minor_units_without_floats():
    assert to_minor("12.345", "CNY") == 1235
    assert to_minor("0.1", "USD") == 10
    assert to_minor("500", "JPY") == 500
    assert format_minor(1234, "cny") == "12.34 CNY"


def test_minor_units_come_from_iso_4217_data():
    assert [minor_digits(code) for code in ("CNY", "usd", "JPY", "KRW", "KWD", "BHD", "CLF")] == [
        2, 2, 0, 0, 3, 3, 4]
    assert to_minor("1.2345", "KWD") == 1235 and format_minor(1235, "KWD") == "1.235 KWD"


def test_an_unknown_currency_or_one_without_a_minor_unit_is_refused_not_guessed():
    with pytest.raises(ValueError, match="not an ISO 4217"):
        minor_digits("XYZ")
    with pytest.raises(ValueError, match="no minor unit"):
        minor_digits("XAU")
