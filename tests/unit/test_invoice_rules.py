"""Invoice rules: VAT inside tax-inclusive amounts, red-letter shares, tax ids, what an invoice needs."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.finance.errors import InvalidInvoiceRequest
from app.finance.invoices import default_rate, invoice_fields, share_of_tax, tax_included, valid_tax_id

totals = st.integers(min_value=0, max_value=10**12)
rates = st.integers(min_value=0, max_value=10_000)


def test_the_vat_inside_a_tax_inclusive_price_is_rounded_half_up():
    assert tax_included(11_300, 1_300) == 1_300  # 100.00 + 13% = 113.00
    assert tax_included(10_600, 600) == 600
    assert tax_included(100, 1_300) == 12  # 11.504... → 12
    assert tax_included(999, 0) == 0 and tax_included(0, 1_300) == 0


@given(totals, rates)
def test_the_tax_is_never_more_than_the_total_and_within_half_a_unit_of_exact(total, rate):
    tax = tax_included(total, rate)
    assert 0 <= tax <= total
    exact_twice = 2 * total * rate  # compare 2·tax·(1+r) with 2·total·r, all in integers
    assert abs(2 * tax * (10_000 + rate) - exact_twice) <= 10_000 + rate


@given(st.integers(min_value=1, max_value=10**9), st.integers(min_value=0, max_value=10**8))
def test_refunding_the_whole_line_takes_back_all_its_tax_and_a_part_never_more(total, tax_seed):
    tax = tax_seed % (total + 1)
    assert share_of_tax(tax, total, total) == tax
    assert 0 <= share_of_tax(tax, total, total // 3) <= tax


@pytest.mark.parametrize(("tax_id", "valid"), [
    ("91350100M000100Y43", True), ("911100007109288314", True), ("91110000600037341L", True),
    ("91350100M000100Y44", False),  # wrong check character
    ("91350100I000100Y43", False),  # I is not in the alphabet
    ("110108000000016", True),  # an older 15-character tax number
    ("ABC", False),
])
def test_a_tax_id_is_a_unified_social_credit_code_with_its_check_character_or_an_older_form(tax_id, valid):
    assert valid_tax_id(tax_id) is valid


def test_a_b2b_invoice_needs_title_and_tax_id_and_a_consumer_may_ask_with_a_title_alone():
    assert invoice_fields(None, b2b=True) == {"invoice_title": None, "invoice_tax_id": None}
    person = invoice_fields({"title": " 王小明 "}, b2b=False)
    assert person == {"invoice_title": "王小明", "invoice_tax_id": None}
    company = invoice_fields({"title": "上海某某贸易有限公司", "tax_id": "91350100m000100y43"}, b2b=True)
    assert company["invoice_tax_id"] == "91350100M000100Y43"
    for wrong, b2b in (({"title": "X"}, True), ({"title": "", "tax_id": "91350100M000100Y43"}, False),
                       ({"title": "X", "tax_id": "91350100M000100Y44"}, False)):
        with pytest.raises(InvalidInvoiceRequest):
            invoice_fields(wrong, b2b=b2b)


def test_the_default_rate_comes_from_the_tenant_settings_and_a_bad_setting_is_ignored():
    assert default_rate({}) == 1_300
    assert default_rate({"finance": {"default_tax_rate_bp": 600}}) == 600
    assert default_rate({"finance": {"default_tax_rate_bp": 6.5}}) == 1_300
    assert default_rate({"finance": {"default_tax_rate_bp": 20_000}}) == 1_300
