"""Export rules without a database: decimal amounts by ISO 4217 exponent, headers, signed links, prefetch."""

import threading
import uuid
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.errors import NotFound
from app.finance.errors import ExportLinkExpired
from app.finance.exports.datasets import DATASETS, header
from app.finance.exports.links import check_link, sign_link
from app.finance.exports.writers import decimal_amount, float_amount, minor_unit_factors, prefetched
from app.money import to_minor


@pytest.mark.parametrize(("minor", "currency", "text"), [
    (12345, "CNY", "123.45"), (500, "CNY", "5.00"), (-5, "CNY", "-0.05"), (0, "USD", "0.00"),
    (1234, "JPY", "1234"), (1234, "KWD", "1.234"), (1, "CLF", "0.0001")])
def test_the_decimal_amount_follows_the_currencys_exponent(minor, currency, text):
    assert str(decimal_amount(minor, currency)) == text


@given(st.integers(-10**15, 10**15), st.sampled_from(["CNY", "JPY", "KWD", "USD", "CLF"]))
def test_the_decimal_amount_reads_back_as_the_same_minor_units(minor, currency):
    assert to_minor(decimal_amount(minor, currency), currency) == minor


def test_the_sql_factors_cover_every_currency_whose_unit_is_not_a_hundredth():
    factors = {code: factor for code, factor in minor_unit_factors()._data[0]}
    assert factors["JPY"] == Decimal(1) and factors["KWD"] == Decimal("0.001") and "CNY" not in factors


def test_every_money_column_is_followed_by_its_decimal_and_every_dataset_has_a_currency():
    for dataset in DATASETS.values():
        names = header(dataset)
        assert "currency" in names, dataset.name
        for column in dataset.columns:
            if column.money:
                assert column.name.endswith("_minor")
                assert names[names.index(column.name) + 1] == column.name.removesuffix("_minor")
        assert dataset.personal == (dataset.paths > 0), dataset.name


def test_a_link_is_for_one_job_and_one_asker_and_expires():
    job, asker = uuid.uuid4(), uuid.uuid4()
    token = sign_link("k" * 40, job_id=job, actor_id=asker)
    check_link("k" * 40, token, job_id=job, actor_id=asker, max_age=60)
    for other_job, other_actor, key in ((uuid.uuid4(), asker, "k" * 40), (job, uuid.uuid4(), "k" * 40),
                                        (job, asker, "x" * 40)):
        with pytest.raises(NotFound):
            check_link(key, token, job_id=other_job, actor_id=other_actor, max_age=60)
    with pytest.raises(ExportLinkExpired):
        check_link("k" * 40, token, job_id=job, actor_id=asker, max_age=-1)


def test_every_dataset_and_column_is_documented():
    import pathlib

    doc = (pathlib.Path(__file__).resolve().parents[2] / "docs" / "finance-exports.md").read_text()
    for dataset in DATASETS.values():
        section = doc.split(f"### `{dataset.name}`", 1)
        assert len(section) == 2, dataset.name
        table = section[1].split("###", 1)[0]
        documented = [line.split("`")[1] for line in table.splitlines() if line.startswith("| `")]
        assert documented == header(dataset), dataset.name


@pytest.mark.parametrize(("minor", "currency", "value"), [
    (12345, "CNY", 123.45), (1234, "JPY", 1234.0), (1234, "KWD", 1.234), (None, "CNY", None)])
def test_the_spreadsheet_amount_is_the_float_nearest_the_decimal(minor, currency, value):
    assert float_amount(minor, currency) == value


def test_prefetched_parts_come_in_order_and_the_thread_ends_with_them():
    assert list(prefetched(iter(range(10)))) == list(range(10))
    assert not any(thread.name == "export-fetch" for thread in threading.enumerate())


def test_a_fetch_error_is_raised_in_the_callers_thread():
    def parts():
        yield 1
        raise ValueError("connection lost")

    received = []
    with pytest.raises(ValueError, match="connection lost"):
        for part in prefetched(parts()):
            received.append(part)
    assert received == [1]


def test_a_caller_that_stops_early_stops_the_fetching_thread():
    fetched = []

    def parts():
        for n in range(1000):
            fetched.append(n)
            yield n

    stream = prefetched(parts(), depth=2)
    assert next(stream) == 0
    stream.close()  # as when the writer fails: the thread is joined before the caller goes on
    assert not any(thread.name == "export-fetch" for thread in threading.enumerate())
    assert len(fetched) <= 5
