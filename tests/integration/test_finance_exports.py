"""Finance exports on PostgreSQL as the app role: totals match the journal, scope and fidelity hold."""

import csv
import io
import re
import zipfile
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from app.db import utcnow
from app.finance import tasks  # not the task proxies: pytest's collection would evaluate them
from app.finance.accounts import account_balances
from app.finance.exports import jobs
from app.finance.models import ExportFormat, ExportJob, ExportStatus, JournalLine
from app.finance.postings import post_order_paid
from app.tenancy.elevation import kept_scope
from app.tenancy.enums import Role
from app.tenancy.scope import system_scope
from tests.factories import add_consumer, scope_of
from tests.support.payments import make_order
from tests.support.scope import use_scope

pytestmark = pytest.mark.postgres


def paid(session, net, *, seller, total, consumer=None, buyer=None, phone="13800138000"):
    customer = consumer or (None if buyer else add_consumer(session, net, seller, phone=phone))
    order = make_order(session, net, seller=seller, consumer=customer, buyer=buyer, total=total)
    use_scope(session, system_scope(net.tenant.id))
    order.ship_to = {"name": "王小明", "phone": phone, "address": "上海市静安区"}
    order.note = "call me on " + phone
    session.flush()
    post_order_paid(session, order=order, amount_minor=total, method="stripe")
    return order


def run_task(session, net, job) -> str:
    """What the request's commit enqueues, run here (the test session stands for the worker's)."""
    session.info.pop("after_commit", None)
    with kept_scope():
        return tasks.run_export.run(str(net.tenant.id), str(job.id))


def export(session, net, org_key, dataset, *, fmt=ExportFormat.csv, start=None, end=None, org_id=None):
    scope = scope_of(session, net, org_key, Role.owner)
    now = utcnow()
    job = jobs.request_export(session, scope, dataset=dataset, format=fmt,
                              start=start or now - timedelta(days=1), end=end or now + timedelta(days=1),
                              org_id=org_id)
    assert run_task(session, net, job) == "done"
    use_scope(session, system_scope(net.tenant.id))
    session.expire_all()
    return session.get(ExportJob, (net.tenant.id, job.id)), scope


def read_csv(export_dir: Path, job: ExportJob) -> list[dict]:
    text = (export_dir / job.file_name).read_bytes().decode("utf-8-sig")
    return list(csv.DictReader(io.StringIO(text)))


def test_a_journal_lines_export_totals_equal_the_journal_for_the_same_period_and_scope(
        session, books, export_dir):
    job, scope = export(session, books, "brand", "journal_lines")
    rows = read_csv(export_dir, job)
    assert job.status is ExportStatus.done and job.rows_done == job.rows_total == len(rows) == 8
    per_account: dict[str, int] = {}
    for row in rows:
        per_account[row["account_id"]] = per_account.get(row["account_id"], 0) + int(row["amount_minor"])
        assert int(row["debit_minor"]) - int(row["credit_minor"]) == int(row["amount_minor"])
    use_scope(session, scope)
    journal = {str(b.account.id): b.debit_minus_credit for b in account_balances(session, scope)}
    assert per_account == journal
    assert sum(per_account.values()) == 0


def test_the_file_records_its_size_and_sha256_and_the_decimal_amount_column(session, books, export_dir):
    import hashlib

    job, _ = export(session, books, "brand", "orders")
    data = (export_dir / job.file_name).read_bytes()
    assert job.size_bytes == len(data) and job.sha256 == hashlib.sha256(data).hexdigest()
    rows = read_csv(export_dir, job)
    amounts = {row["total_minor"]: row["total"] for row in rows}
    assert amounts["12345"] == "123.45" and amounts["100"] == "1.00"


def test_the_copy_path_writes_the_decimal_amount_in_sql_like_the_row_path(session, books, export_dir):
    job, _ = export(session, books, "brand", "payments")  # no personal columns: COPY
    job_lines, _ = export(session, books, "brand", "journal_lines")
    amounts = {(row["amount_minor"], row["amount"]) for row in read_csv(export_dir, job_lines)}
    assert ("12345", "123.45") in amounts and ("-100", "-1.00") in amounts


def test_a_period_without_entries_exports_only_the_header(session, books, export_dir):
    long_ago = utcnow() - timedelta(days=400)
    job, _ = export(session, books, "brand", "journal_lines", start=long_ago,
                    end=long_ago + timedelta(days=1))
    assert read_csv(export_dir, job) == [] and job.rows_done == 0
    assert (export_dir / job.file_name).read_bytes().decode("utf-8-sig").startswith("line_id,entry_id,")


def test_a_scope_never_exports_a_row_it_cannot_read(session, books, export_dir):
    for dataset in ("journal_lines", "orders", "trial_balance"):
        job, scope = export(session, books, "east", dataset)
        rows = read_csv(export_dir, job)
        use_scope(session, system_scope(books.tenant.id))
        orgs = {str(books.org(k).id) for k in ("east", "shanghai", "jingan", "hangzhou")}
        key = "seller_org_id" if dataset == "orders" else "org_id"
        assert rows and {row[key] for row in rows} <= orgs, dataset
    # the same rows the app role reads with nothing but the database wall (RLS) in between
    use_scope(session, scope)
    lines = read_csv(export_dir, export(session, books, "east", "journal_lines")[0])
    use_scope(session, scope)
    rls_only = session.scalar(select(func.count()).select_from(JournalLine))
    assert len(lines) == rls_only == 3  # the sales revenue of jingan (2) and hangzhou (1)


def test_org_filter_narrows_to_that_subtree_and_an_org_out_of_scope_is_404(session, books, export_dir):
    from app.errors import NotFound

    job, scope = export(session, books, "east", "orders", org_id=books.org("hangzhou").id)
    rows = read_csv(export_dir, job)
    assert [row["total_minor"] for row in rows] == ["7000"]
    with pytest.raises(NotFound):
        export(session, books, "east", "orders", org_id=books.org("chengdu").id)


def test_personal_data_is_exported_at_the_askers_fidelity(session, books, export_dir):
    own, _ = export(session, books, "jingan", "orders")
    assert {row["ship_to_phone"] for row in read_csv(export_dir, own)} == {"13800138000"}
    upstream, _ = export(session, books, "east", "orders")  # orders below east: masked by default
    rows = read_csv(export_dir, upstream)
    assert {row["ship_to_phone"] for row in rows} == {"138****8000"}
    assert {row["ship_to_name"] for row in rows} == {"王**"} and {row["note"] for row in rows} == {"***"}


def test_an_xlsx_export_has_a_header_and_one_row_per_account(session, books, export_dir):
    job, scope = export(session, books, "brand", "trial_balance", fmt=ExportFormat.xlsx)
    use_scope(session, scope)
    accounts = len(account_balances(session, scope))
    with zipfile.ZipFile(export_dir / job.file_name) as book:
        sheet = book.read("xl/worksheets/sheet1.xml").decode()
    assert len(re.findall(r"<row ", sheet)) == accounts + 1 == job.rows_done + 1
    assert "balance_minor" in sheet or "sharedStrings" not in sheet


def test_a_failed_export_is_marked_failed_and_leaves_no_partial_file(session, books, export_dir, monkeypatch):
    from app.finance.exports import writers

    def broken(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(writers, "write_csv_rows", broken)
    scope = scope_of(session, books, "brand")
    job = jobs.request_export(session, scope, dataset="orders", format=ExportFormat.csv,
                              start=utcnow() - timedelta(days=1), end=utcnow())
    assert run_task(session, books, job) == "failed"
    use_scope(session, system_scope(books.tenant.id))
    session.expire_all()
    failed = session.get(ExportJob, (books.tenant.id, job.id))
    assert failed.status is ExportStatus.failed and failed.error == "RuntimeError"
    assert list(export_dir.rglob("*.csv")) == [] and not any(export_dir.rglob(".partial-*"))


def test_a_claimed_job_is_not_run_twice(session, books, export_dir):
    job, _ = export(session, books, "brand", "payments")
    assert run_task(session, books, job) == "taken"


def test_orders_seen_from_the_seller_side_export_too(session, books, export_dir):
    paid(session, books, seller="west", buyer="jingan", total=5_000)  # owned by the buyer, jingan
    job, _ = export(session, books, "west", "orders")
    assert {row["total_minor"] for row in read_csv(export_dir, job)} == {"5000", "99999"}


def test_without_the_application_filter_the_database_still_exports_only_my_rows(
        session, books, export_dir, monkeypatch):
    """COPY runs on the asker's transaction: RLS is the second wall if a builder forgot the filter."""
    from sqlalchemy import true

    from app.finance.exports import datasets

    monkeypatch.setattr(datasets, "visible", lambda model, scope, **kwargs: true())
    job, _ = export(session, books, "east", "journal_lines")
    assert job.rows_done == 3
    job, _ = export(session, books, "east", "orders")  # the row-by-row path too
    assert sorted(int(row["total_minor"]) for row in read_csv(export_dir, job)) == [100, 7_000, 12_345]


def test_copy_writes_the_decimal_at_each_currencys_exponent(session, books, export_dir):
    from app.db import uuid7
    from app.finance.accounts import ensure_account
    from app.finance.journal import post_entry
    from app.finance.models import AccountCode

    use_scope(session, system_scope(books.tenant.id))
    tenant_id, store = books.tenant.id, books.org("jingan")
    for currency, amount in (("JPY", 1234), ("KWD", 1234)):
        cash, revenue = (ensure_account(session, tenant_id=tenant_id, org=store, code=code, currency=currency)
                         for code in (AccountCode.cash, AccountCode.sales_revenue))
        post_entry(session, tenant_id=tenant_id, owner_path=store.path, kind="test", currency=currency,
                   source_key=f"test:{uuid7()}", lines=[(cash, amount), (revenue, -amount)])
    job, _ = export(session, books, "brand", "journal_lines")
    amounts = {(row["currency"], row["amount_minor"]): row["amount"] for row in read_csv(export_dir, job)}
    assert amounts[("JPY", "1234")] == "1234" and amounts[("KWD", "-1234")] == "-1.234"
    assert amounts[("CNY", "12345")] == "123.45"


def test_an_export_transaction_may_run_longer_than_a_request(session):
    from sqlalchemy import text

    jobs.allow_long_statements(session, 1_234)
    assert session.scalar(text("SHOW statement_timeout")) == "1234ms"


def test_the_sweep_runs_a_lost_job_fails_a_stalled_one_and_deletes_expired_files(session, books, export_dir):
    from sqlalchemy import update

    done, scope = export(session, books, "brand", "payments")
    lost = jobs.request_export(session, scope_of(session, books, "brand"), dataset="payments",
                               format=ExportFormat.csv, start=utcnow() - timedelta(days=1), end=utcnow())
    stalled = jobs.request_export(session, scope_of(session, books, "brand"), dataset="payments",
                                  format=ExportFormat.csv, start=utcnow() - timedelta(days=1), end=utcnow())
    session.info.pop("after_commit", None)
    use_scope(session, system_scope(books.tenant.id))
    long_ago = utcnow() - timedelta(days=1)
    for job_id, values in ((done.id, {"expires_at": long_ago}), (lost.id, {"created_at": long_ago}),
                           (stalled.id, {"status": ExportStatus.running, "updated_at": long_ago})):
        session.execute(update(ExportJob).values(**values)
                        .where(ExportJob.tenant_id == books.tenant.id, ExportJob.id == job_id))
    file = export_dir / done.file_name
    with kept_scope():
        assert tasks.sweep_exports.run() >= 2
    use_scope(session, system_scope(books.tenant.id))
    session.expire_all()
    states = {job_id: session.get(ExportJob, (books.tenant.id, job_id))
              for job_id in (done.id, lost.id, stalled.id)}
    assert not file.exists() and states[done.id].file_name is None
    assert states[lost.id].status is ExportStatus.done
    assert (states[stalled.id].status, states[stalled.id].error) == (ExportStatus.failed, "Stalled")


@pytest.mark.parametrize("dataset", ["journal_lines", "orders"])  # the COPY path and the row path
def test_progress_is_reported_while_the_file_is_written(session, books, export_dir, monkeypatch, dataset):
    from itertools import count

    from app.finance.exports import writers

    for seller in ("jingan", "chengdu") * 3:
        paid(session, books, seller=seller, total=1_000)
    clock = count(0, 5)  # every look at the clock is 5 s later: each flush reports
    monkeypatch.setattr(writers.time, "monotonic", lambda: next(clock))
    monkeypatch.setattr(writers, "FLUSH_BYTES", 1)
    scope = scope_of(session, books, "brand")
    job = jobs.request_export(session, scope, dataset=dataset, format=ExportFormat.csv,
                              start=utcnow() - timedelta(days=1), end=utcnow() + timedelta(days=1))
    session.info.pop("after_commit", None)
    seen: list[int] = []
    window = jobs.window_of(session, job)
    _, rows, _, _ = jobs.write_file(session, job, scope, window, export_dir=str(export_dir),
                                    progress=seen.append)
    assert seen and seen == sorted(seen) and seen[-1] <= rows and len(seen) >= 3
