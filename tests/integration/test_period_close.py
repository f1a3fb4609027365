"""Period close: a closed month refuses postings, in the application and — as the app role — in the
database; corrections post to the open period as reversing entries."""

import threading
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session
from sqlalchemy.pool import NullPool

from app.db import utcnow, uuid7
from app.finance import journal, periods
from app.finance.accounts import ensure_account
from app.finance.errors import BrandFinanceOnly, InvalidPeriod, PeriodClosed, PeriodNotOver
from app.finance.models import AccountCode
from app.tenancy.enums import Role
from app.tenancy.permissions import PermissionDenied
from app.tenancy.rls import apply_settings
from app.tenancy.scope import set_current_scope, system_scope
from tests import database
from tests.factories import add_user, make_tenant, scope_of
from tests.support.committed import app_role_engine, delete_tenant
from tests.support.scope import use_scope

CLOSED = "2026-10"
IN_CLOSED = datetime(2026, 10, 15, 12, tzinfo=UTC)
INSUFFICIENT_PRIVILEGE = "42501"

INSERT_ENTRY = (
    "INSERT INTO journal_entries (tenant_id, id, owner_path, created_at, kind, source_key, currency, details)"
    " VALUES (:t, :e, :path, :at, 'attack', :key, 'CNY', '{}')")
INSERT_LINE = (
    "INSERT INTO journal_lines (tenant_id, id, entry_id, account_id, amount_minor, owner_path)"
    " VALUES (:t, gen_random_uuid(), :e, :a, :amount, :path)")


def _books(session, net):
    store = net.org("jingan")
    return [ensure_account(session, tenant_id=net.tenant.id, org=store, code=code, currency="CNY")
            for code in (AccountCode.cash, AccountCode.sales_revenue)]


def _post(session, net, cash, revenue, amount=1_000):
    return journal.post_entry(session, tenant_id=net.tenant.id, owner_path=net.org("jingan").path,
                              kind="test", source_key=f"t:{uuid7()}", currency="CNY",
                              lines=[(cash, amount), (revenue, -amount)])


# --- pure rules ------------------------------------------------------------------------------

def test_a_period_is_a_utc_calendar_month():
    assert periods.period_bounds("2026-12") == (datetime(2026, 12, 1, tzinfo=UTC),
                                                datetime(2027, 1, 1, tzinfo=UTC))
    assert periods.period_of(datetime(2026, 11, 30, 23, 59, tzinfo=UTC)) == "2026-11"
    for bad in ("2026-13", "2026-1", "26-01", "", "2026-00"):
        with pytest.raises(InvalidPeriod):
            periods.period_bounds(bad)


# --- the application wall --------------------------------------------------------------------

def test_only_the_brands_finance_closes_a_month_that_has_ended(session):
    net = make_tenant(session)
    with pytest.raises(PeriodNotOver):
        periods.close_period(session, scope_of(session, net, "brand"), period=periods.period_of(utcnow()))
    with pytest.raises(BrandFinanceOnly):
        periods.close_period(session, scope_of(session, net, "east"), period=CLOSED)
    add_user(session, net, "brand", Role.buyer)
    with pytest.raises(PermissionDenied):
        periods.close_period(session, scope_of(session, net, "brand", Role.buyer), period=CLOSED)
    first = periods.close_period(session, scope_of(session, net, "brand"), period=CLOSED)
    again = periods.close_period(session, scope_of(session, net, "brand"), period=CLOSED)
    assert (first.id, first.starts_at, first.ends_at) == (again.id, IN_CLOSED.replace(day=1, hour=0),
                                                          datetime(2026, 11, 1, tzinfo=UTC))


def test_a_posting_dated_in_a_closed_period_is_refused_and_the_correction_posts_now(session, monkeypatch):
    net = make_tenant(session)
    use_scope(session, system_scope(net.tenant.id))
    cash, revenue = _books(session, net)
    monkeypatch.setattr(journal, "utcnow", lambda: IN_CLOSED)
    october = _post(session, net, cash, revenue)
    periods.close_period(session, scope_of(session, net, "brand"), period=CLOSED)
    use_scope(session, system_scope(net.tenant.id))
    with pytest.raises(PeriodClosed):
        _post(session, net, cash, revenue)
    monkeypatch.setattr(journal, "utcnow", utcnow)
    correction = periods.correct_entry(session, scope_of(session, net, "brand"), entry_id=october.id)
    assert correction.reverses_entry_id == october.id
    assert periods.period_of(correction.created_at) == periods.period_of(utcnow())
    assert journal.trial_balance(session, net.tenant.id) == 0


# --- the database wall, as the app role ------------------------------------------------------

@pytest.fixture
def closed_books(app):
    """A committed tenant with two accounts and October 2026 closed."""
    admin, _, _ = database.test_urls()
    engine = create_engine(admin, poolclass=NullPool)
    with Session(engine) as session:
        net = make_tenant(session)
        use_scope(session, system_scope(net.tenant.id))
        cash, revenue = _books(session, net)
        periods.close_period(session, scope_of(session, net, "brand"), period=CLOSED)
        books = {"tenant": net.tenant.id, "path": net.org("jingan").path, "cash": cash.id,
                 "revenue": revenue.id}
        session.commit()
    engine.dispose()
    set_current_scope(None)
    yield books
    delete_tenant(books["tenant"])


def _insert_entry(connection, b, at):
    entry = uuid7()
    connection.execute(text(INSERT_ENTRY), {"t": b["tenant"], "e": entry, "path": b["path"], "at": at,
                                            "key": f"p:{entry}"})
    for account, amount in ((b["cash"], 700), (b["revenue"], -700)):
        connection.execute(text(INSERT_LINE), {"t": b["tenant"], "e": entry, "a": account, "amount": amount,
                                               "path": b["path"]})
    return entry


def test_a_closed_period_refuses_a_posting_as_the_app_role(closed_books):
    with app_role_engine().connect() as connection:
        apply_settings(connection, system_scope(closed_books["tenant"]))
        with pytest.raises(DBAPIError) as error:
            _insert_entry(connection, closed_books, IN_CLOSED)
    assert error.value.orig.sqlstate == INSUFFICIENT_PRIVILEGE
    assert "closed" in str(error.value.orig)


def test_the_app_role_cannot_move_an_entry_into_a_closed_period_or_reopen_it(closed_books):
    b = closed_books
    with app_role_engine().connect() as connection:
        apply_settings(connection, system_scope(b["tenant"]))
        entry = _insert_entry(connection, b, utcnow())
        for sql in ("UPDATE journal_entries SET created_at = :at WHERE id = :e",
                    "DELETE FROM accounting_periods WHERE tenant_id = :t"):
            with pytest.raises(DBAPIError) as error, connection.begin_nested():
                connection.execute(text(sql), {"at": IN_CLOSED, "e": entry, "t": b["tenant"]})
            assert error.value.orig.sqlstate == INSUFFICIENT_PRIVILEGE, sql


def test_the_open_period_still_posts_as_the_app_role(closed_books):
    with app_role_engine().connect() as connection:
        apply_settings(connection, system_scope(closed_books["tenant"]))
        _insert_entry(connection, closed_books, utcnow() - timedelta(seconds=1))
        _insert_entry(connection, closed_books, datetime(2026, 9, 30, 23, 59, tzinfo=UTC))  # still open
        connection.rollback()


# --- closing while a posting into that month is in flight ------------------------------------

def test_a_close_waits_for_a_posting_in_flight_and_the_next_posting_is_refused(app):
    """Real parallel connections: the close takes the month's lock exclusively, postings share it."""
    admin, _, _ = database.test_urls()
    engine = create_engine(admin, poolclass=NullPool)
    with Session(engine) as session:
        net = make_tenant(session)
        use_scope(session, system_scope(net.tenant.id))
        cash, revenue = _books(session, net)
        brand = scope_of(session, net, "brand")
        books = {"tenant": net.tenant.id, "path": net.org("jingan").path, "cash": cash.id,
                 "revenue": revenue.id}
        session.commit()
    engine.dispose()
    set_current_scope(None)
    march = datetime(2025, 3, 10, tzinfo=UTC)
    closed = threading.Event()
    try:
        with app_role_engine().connect() as posting:
            apply_settings(posting, system_scope(books["tenant"]))
            _insert_entry(posting, books, march)  # in flight: holds the month's shared lock

            def close():
                with app.app_context(), Session(app_role_engine()) as session:
                    use_scope(session, brand)
                    periods.close_period(session, brand, period="2025-03")
                    session.commit()
                closed.set()

            closer = threading.Thread(target=close)
            closer.start()
            assert not closed.wait(1.0)  # the close waits for the posting
            posting.commit()
            closer.join(10)
            assert closed.is_set()
        with app_role_engine().connect() as late:
            apply_settings(late, system_scope(books["tenant"]))
            with pytest.raises(DBAPIError) as error:
                _insert_entry(late, books, march)
            assert error.value.orig.sqlstate == INSUFFICIENT_PRIVILEGE
    finally:
        set_current_scope(None)
        delete_tenant(books["tenant"])
