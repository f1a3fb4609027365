"""Pure journal rules: what balances, merging lines, reversals, natural balances."""

import uuid
from types import SimpleNamespace

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.finance.accounts import natural_balance
from app.finance.journal import UnbalancedEntry, check_balanced, merge_lines, reversal
from app.finance.models import CHART, AccountCode, AccountKind

amounts = st.integers(min_value=-10**12, max_value=10**12).filter(bool)


def balanced(parts: list[int]) -> list[int]:
    return [*parts, -sum(parts)] if sum(parts) else parts


def test_an_entry_of_one_line_is_refused():
    with pytest.raises(UnbalancedEntry):
        check_balanced([100])


def test_lines_that_do_not_sum_to_zero_are_refused():
    with pytest.raises(UnbalancedEntry, match="sum to 1"):
        check_balanced([100, -99])


def test_zero_and_fractional_lines_are_refused():
    with pytest.raises(UnbalancedEntry):
        check_balanced([100, -100, 0])
    with pytest.raises(UnbalancedEntry):
        check_balanced([100.0, -100.0])


@given(st.lists(amounts, min_size=1, max_size=8))
def test_any_lines_closed_by_their_negated_sum_balance(parts):
    lines = balanced(parts)
    if len(lines) >= 2:
        check_balanced(lines)


@given(st.lists(amounts, min_size=2, max_size=8))
def test_a_reversal_balances_whenever_the_original_does_and_cancels_it(parts):
    lines = balanced(parts)
    if len(lines) < 2:
        return
    check_balanced(reversal(lines))
    assert [a + b for a, b in zip(lines, reversal(lines), strict=True)] == [0] * len(lines)


@given(st.lists(st.tuples(st.integers(0, 3), amounts), min_size=1, max_size=12))
def test_merging_keeps_each_accounts_total_and_drops_zeros(pairs):
    accounts = [SimpleNamespace(id=uuid.uuid4()) for _ in range(4)]
    merged = merge_lines((accounts[i], amount) for i, amount in pairs)
    expected = {}
    for i, amount in pairs:
        expected[accounts[i].id] = expected.get(accounts[i].id, 0) + amount
    assert {account.id: amount for account, amount in merged} == {
        k: v for k, v in expected.items() if v}
    assert all(amount != 0 for _, amount in merged)


def test_assets_and_expenses_grow_with_debits_the_others_with_credits():
    assert natural_balance(AccountKind.asset, 500) == 500
    assert natural_balance(AccountKind.expense, 500) == 500
    assert natural_balance(AccountKind.revenue, -500) == 500
    assert natural_balance(AccountKind.liability, -500) == 500


def test_every_account_code_has_a_kind():
    assert set(CHART) == set(AccountCode)
