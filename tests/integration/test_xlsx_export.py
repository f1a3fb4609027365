"""XLSX exports on PostgreSQL, read back with openpyxl: the same rows as the CSV, sheets split, masks kept."""

import threading
import zipfile
from datetime import UTC, datetime, timedelta
from xml.etree import ElementTree

import openpyxl
import pytest
from sqlalchemy import BigInteger, String, column, literal, select, values

from app.db import UtcDateTime, utcnow
from app.finance.exports import jobs, writers, xlsx
from app.finance.exports.datasets import Column, ExportDataset
from app.finance.models import ExportFormat
from app.orders.models import Order
from app.tenancy.enums import Role
from app.tenancy.scope import system_scope
from tests.factories import scope_of
from tests.integration.test_finance_exports import export, read_csv, run_task
from tests.support.scope import use_scope

pytestmark = pytest.mark.postgres


def sheets(export_dir, job) -> dict[str, list[list]]:
    path = export_dir / job.file_name
    with zipfile.ZipFile(path) as archive:
        for name in archive.namelist():
            ElementTree.fromstring(archive.read(name))
    book = openpyxl.load_workbook(path)
    return {sheet.title: [list(row) for row in sheet.iter_rows(values_only=True)]
            for sheet in book.worksheets}


def as_csv_text(value) -> str:
    if value is None:
        return ""
    return f"{value:.2f}" if isinstance(value, float) else str(value)


def test_an_xlsx_export_holds_the_rows_of_the_csv_export_with_numbers_as_numbers(session, books, export_dir):
    """The XLSX goes through our writer, the CSV through COPY: same header, same ids, amounts, codes."""
    xlsx_job, _ = export(session, books, "brand", "journal_lines", fmt=ExportFormat.xlsx)
    csv_job, _ = export(session, books, "brand", "journal_lines")
    (title, rows), = sheets(export_dir, xlsx_job).items()
    expected = read_csv(export_dir, csv_job)
    assert title == "journal_lines_1" and rows[0] == list(expected[0]) and len(rows) - 1 == xlsx_job.rows_done
    at = {name: i for i, name in enumerate(rows[0])}
    for row, csv_row in zip(sorted(rows[1:], key=lambda r: r[at["line_id"]]),
                            sorted(expected, key=lambda r: r["line_id"]), strict=True):
        assert isinstance(row[at["amount_minor"]], int) and isinstance(row[at["amount"]], float)
        for name in ("line_id", "entry_id", "entry_kind", "account_code", "currency", "amount_minor",
                     "amount", "debit", "credit", "counterparty_org_id"):
            assert as_csv_text(row[at[name]]) == csv_row[name], name
        parsed = datetime.fromisoformat(row[at["created_at"]])
        assert parsed.utcoffset() == timedelta(0) and row[at["created_at"]][10] == "T"


def test_postgresql_writes_uuids_timestamps_and_enums_as_python_prints_them(session, books):
    use_scope(session, system_scope(books.tenant.id))
    orders = select(Order.id, Order.created_at, Order.flow, Order.currency).where(
        Order.tenant_id == books.tenant.id)
    python = session.execute(orders.order_by(Order.id)).all()
    texts = session.execute(writers.texts_from_postgresql(orders).order_by(Order.id)).all()
    assert len(python) == 4 and [tuple(row) for row in texts] == [
        (str(row.id), row.created_at.isoformat(), str(row.flow), row.currency) for row in python]
    for stamp in (datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC), datetime(2026, 1, 2, 3, 4, 5, 600, tzinfo=UTC),
                  datetime(2026, 7, 1, 23, 59, 59, 999_999, tzinfo=UTC), None):
        statement = select(literal(stamp, UtcDateTime()).label("at"))
        expected = session.scalar(statement)
        assert session.scalar(writers.texts_from_postgresql(statement)) == (
            expected.isoformat() if expected else None)


@pytest.mark.parametrize(("minor", "currency"), [
    (12345, "CNY"), (-5, "CNY"), (7, "USD"), (1234, "JPY"), (1234, "KWD"), (1, "CLF"),
    (9_007_199_254_740_993, "USD"), (None, "CNY")])
def test_the_databases_spreadsheet_amount_is_the_pythons_float(session, minor, currency):
    """The XLSX path without personal columns takes its amounts from PostgreSQL as doubles."""
    money = ExportDataset("t", "", (Column("amount_minor", "", money=True), Column("currency", "")), None)
    source = values(column("amount_minor", BigInteger()), column("currency", String(3)),
                    name="source").data([(minor, currency)])
    statement = select(source.c.amount_minor, source.c.currency)
    row = session.execute(writers.with_decimal_columns(money, statement, as_float=True)).one()
    assert row == (minor, writers.float_amount(minor, currency), currency)


def test_more_rows_than_a_sheet_holds_continue_on_numbered_sheets_each_with_the_header(
        session, books, export_dir, monkeypatch):
    monkeypatch.setattr(writers, "XLSX_MAX_ROWS", 3)
    job, _ = export(session, books, "brand", "journal_lines", fmt=ExportFormat.xlsx)
    found = sheets(export_dir, job)
    assert job.rows_done > 6
    assert list(found) == [f"journal_lines_{n}" for n in range(1, -(-job.rows_done // 3) + 1)]
    header = next(iter(found.values()))[0]
    assert all(rows[0] == header and 1 < len(rows) <= 4 for rows in found.values())
    ids = [row[0] for rows in found.values() for row in rows[1:]]
    assert len(ids) == len(set(ids)) == job.rows_done


def test_an_empty_period_gives_one_sheet_with_the_header_only(session, books, export_dir):
    long_ago = utcnow() - timedelta(days=400)
    job, _ = export(session, books, "brand", "payments", fmt=ExportFormat.xlsx, start=long_ago,
                    end=long_ago + timedelta(days=1))
    found = sheets(export_dir, job)
    assert job.rows_done == 0 and list(found) == ["payments_1"]
    assert found["payments_1"] == [found["payments_1"][0]] and found["payments_1"][0][0] == "payment_id"


def test_personal_columns_are_masked_in_xlsx_as_in_csv(session, books, export_dir):
    job, _ = export(session, books, "east", "orders", fmt=ExportFormat.xlsx)
    (rows,) = sheets(export_dir, job).values()
    at = {name: i for i, name in enumerate(rows[0])}
    assert {row[at["ship_to_phone"]] for row in rows[1:]} == {"138****8000"}
    assert {row[at["note"]] for row in rows[1:]} == {"***"} and len(rows) - 1 == job.rows_done == 3


def test_a_failure_mid_file_fails_the_job_and_leaves_no_file_nor_fetching_thread(
        session, books, export_dir, monkeypatch):
    calls = []
    append = xlsx.Sheet.append

    def failing(sheet, values, styles=None):
        calls.append(values)
        if len(calls) > 3:
            raise OSError("disk full")
        append(sheet, values, styles)

    monkeypatch.setattr(xlsx.Sheet, "append", failing)
    scope = scope_of(session, books, "brand", Role.owner)
    job = jobs.request_export(session, scope, dataset="journal_lines", format=ExportFormat.xlsx,
                              start=utcnow() - timedelta(days=1), end=utcnow() + timedelta(days=1))
    assert run_task(session, books, job) == "failed"
    assert not any(export_dir.rglob("*.xlsx")) and not any(export_dir.rglob(".partial-*"))
    assert not any(thread.name == "export-fetch" for thread in threading.enumerate())


def test_the_trial_balance_in_xlsx_has_its_minor_units_as_numbers_a_clerk_can_add_up(
        session, books, export_dir):
    """PostgreSQL sums bigint as numeric: cast back, they are integers, not text cells."""
    job, _ = export(session, books, "brand", "trial_balance", fmt=ExportFormat.xlsx)
    (rows,) = sheets(export_dir, job).values()
    at = {name: i for i, name in enumerate(rows[0])}
    minor = [row[at[name]] for row in rows[1:] for name in
             ("opening_minor", "debit_minor", "credit_minor", "closing_minor", "balance_minor")]
    assert job.rows_done > 0 and all(isinstance(value, int) for value in minor)
    assert sum(row[at["closing_minor"]] for row in rows[1:]) == 0  # the books balance
