"""Settlement rules without a database: withholding, periods, fees."""

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.distribution.settlement_rules import (
    MONTHLY,
    WEEKLY,
    SettlementSettings,
    gateway_fee_share,
    last_closed_period,
    period_containing,
    withdrawal_fee,
)
from app.distribution.withholding import DEFAULT_BRACKETS, Bracket, Deduction, taxable, withholding

amounts = st.integers(min_value=-10**9, max_value=10**11)


def test_the_default_table_is_the_personal_services_schedule():
    assert withholding(80_000, DEFAULT_BRACKETS) == 0  # 800 yuan: all deducted
    assert withholding(300_000, DEFAULT_BRACKETS) == 44_000  # (3000 − 800) × 20%
    assert withholding(1_000_000, DEFAULT_BRACKETS) == 160_000  # 8000 × 20%
    assert withholding(3_000_000, DEFAULT_BRACKETS) == 520_000  # 24000 × 30% − 2000
    assert withholding(10_000_000, DEFAULT_BRACKETS) == 2_500_000  # 80000 × 40% − 7000


@given(amounts)
def test_withholding_is_never_negative_nor_more_than_the_payout(gross):
    tax = withholding(gross, DEFAULT_BRACKETS)
    assert 0 <= tax <= max(gross, 0)


@given(amounts, amounts)
def test_more_income_never_leaves_less_after_tax(a, b):
    low, high = sorted((a, b))
    assert high - withholding(high, DEFAULT_BRACKETS) >= low - withholding(low, DEFAULT_BRACKETS)


@given(st.integers(min_value=1, max_value=10**11))
def test_the_largest_bracket_formula_equals_the_marginal_calculation(gross):
    """max(taxable × rate − quick) is the progressive tax: the marginal sum, bracket by bracket."""
    income = taxable(gross, Deduction())
    edges = [b.above_minor for b in DEFAULT_BRACKETS] + [None]
    marginal = 0
    for bracket, upper in zip(DEFAULT_BRACKETS, edges[1:], strict=True):
        part = max(0, min(income, upper or income) - bracket.above_minor)
        marginal += part * bracket.rate_bps
    assert abs(withholding(gross, DEFAULT_BRACKETS) - marginal / 10_000) <= 1


def test_no_brackets_withhold_nothing():
    assert withholding(10**9, []) == 0
    assert withholding(10**9, [Bracket(10**10, 1000, 0)]) == 0


@given(st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1),
                    timezones=st.just(UTC)), st.sampled_from([WEEKLY, MONTHLY]))
def test_a_moment_lies_in_exactly_one_period_and_the_last_closed_one_ends_before_it(moment, period):
    start, end = period_containing(moment, period)
    assert start <= moment < end
    closed_start, closed_end = last_closed_period(moment, period)
    assert closed_end == start and closed_start < closed_end
    assert period_containing(end, period)[0] == end  # periods tile time
    if period == WEEKLY:
        assert start.weekday() == 0 and end - start == timedelta(days=7)
    else:
        assert start.day == 1 and end.day == 1


@given(st.integers(min_value=0, max_value=10**11))
def test_a_withdrawal_fee_has_its_floor_and_never_exceeds_the_amount(amount):
    settings = SettlementSettings()
    fee = withdrawal_fee(amount, settings)
    assert 0 <= fee <= amount
    if amount >= settings.withdrawal_fee_min_minor:
        assert fee >= settings.withdrawal_fee_min_minor


def test_settings_come_from_the_tenant_and_refuse_an_unknown_period():
    settings = SettlementSettings.from_tenant({"distribution": {
        "period": "monthly", "min_payout_minor": 5_000, "freeze_days": 7,
        "withholding_deduction": {"fixed_minor": 50_000}}})
    assert (settings.period, settings.min_payout_minor) == ("monthly", 5_000)
    assert settings.deduction.fixed_minor == 50_000
    assert gateway_fee_share(10_000, settings) == 60
    with pytest.raises(ValueError):
        SettlementSettings.from_tenant({"distribution": {"period": "daily"}})
