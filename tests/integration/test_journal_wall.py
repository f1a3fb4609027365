"""The journal's database wall, tried as the app role in raw SQL: SQLSTATEs, not application checks.

The app role may insert journal rows (the application posts through it), so the wall is what
the database refuses: unbalanced entries (even with a TEMP table shadowing journal_lines),
lines on an entry posted in an earlier transaction, lines in another currency than the entry.
"""

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session
from sqlalchemy.pool import NullPool

from app.db import uuid7
from app.finance.accounts import ensure_account
from app.finance.journal import post_entry
from app.finance.models import AccountCode
from app.tenancy.rls import apply_settings
from app.tenancy.scope import set_current_scope, system_scope
from tests import database
from tests.factories import make_tenant
from tests.support.committed import app_role_engine, delete_tenant
from tests.support.scope import use_scope

INSUFFICIENT_PRIVILEGE = "42501"
CHECK_VIOLATION = "23514"

INSERT_ENTRY = (
    "INSERT INTO journal_entries (tenant_id, id, owner_path, created_at, kind, source_key, currency, details)"
    " VALUES (:t, :e, :path, now(), 'attack', :key, :currency, '{}')")
INSERT_LINE = (
    "INSERT INTO journal_lines (tenant_id, id, entry_id, account_id, amount_minor, owner_path)"
    " VALUES (:t, gen_random_uuid(), :e, :a, :amount, :path)")


def _refused(connection_or_session, sql: str, **params) -> str:
    with pytest.raises(DBAPIError) as error:
        connection_or_session.execute(text(sql), params)
    return error.value.orig.sqlstate


@pytest.fixture
def committed_books(app):
    """A committed tenant with a cash and a revenue account in CNY, one USD account, one posted entry."""
    admin, _, _ = database.test_urls()
    engine = create_engine(admin, poolclass=NullPool)
    with Session(engine) as session:
        net = make_tenant(session)
        use_scope(session, system_scope(net.tenant.id))
        store = net.org("jingan")
        cash, revenue, usd = (ensure_account(session, tenant_id=net.tenant.id, org=store, code=code,
                                             currency=currency)
                              for code, currency in ((AccountCode.cash, "CNY"),
                                                     (AccountCode.sales_revenue, "CNY"),
                                                     (AccountCode.cash, "USD")))
        entry = post_entry(session, tenant_id=net.tenant.id, owner_path=store.path, kind="test",
                           source_key=f"wall:{uuid7()}", currency="CNY",
                           lines=[(cash, 1_000), (revenue, -1_000)])
        books = {"tenant": net.tenant.id, "path": store.path, "cash": cash.id, "revenue": revenue.id,
                 "usd": usd.id, "entry": entry.id}
        session.commit()
    engine.dispose()
    set_current_scope(None)  # the fixture's scopes must not leak into later tests
    yield books
    delete_tenant(books["tenant"])


def test_the_app_role_cannot_create_a_temp_table(committed_books):
    with app_role_engine().connect() as connection:
        state = _refused(connection, "CREATE TEMP TABLE journal_lines (LIKE public.journal_lines)")
    assert state == INSUFFICIENT_PRIVILEGE


def test_a_temp_table_named_journal_lines_does_not_fool_the_balance_check(committed_books):
    """Run as a role that can create temp tables: the check reads public.journal_lines whatever the path."""
    admin, _, _ = database.test_urls()
    b = committed_books
    engine = create_engine(admin, poolclass=NullPool)
    with engine.connect() as connection:
        connection.execute(text("CREATE TEMP TABLE journal_lines (LIKE public.journal_lines)"))
        connection.commit()
        entry = uuid7()
        connection.execute(text(INSERT_ENTRY), {"t": b["tenant"], "e": entry, "path": b["path"],
                                                "key": f"shadow:{entry}", "currency": "CNY"})
        public_line = INSERT_LINE.replace("INTO journal_lines", "INTO public.journal_lines")
        connection.execute(text(public_line), {"t": b["tenant"], "e": entry, "a": b["cash"],
                                               "amount": 1_000_000, "path": b["path"]})
        for account, amount in ((b["cash"], 5), (b["revenue"], -5)):  # a balanced decoy, in pg_temp
            connection.execute(text(INSERT_LINE), {"t": b["tenant"], "e": entry, "a": account,
                                                   "amount": amount, "path": b["path"]})
        with pytest.raises(DBAPIError) as error:
            connection.commit()
    engine.dispose()
    assert error.value.orig.sqlstate == CHECK_VIOLATION


def test_lines_cannot_be_added_to_an_entry_posted_in_an_earlier_transaction(committed_books):
    b = committed_books
    with app_role_engine().connect() as connection:
        apply_settings(connection, system_scope(b["tenant"]))
        params = {"t": b["tenant"], "e": b["entry"], "path": b["path"]}
        state = _refused(connection, INSERT_LINE, a=b["cash"], amount=500, **params)
    assert state == INSUFFICIENT_PRIVILEGE


def test_posted_lines_cannot_be_changed_or_deleted_as_the_app_role(committed_books):
    b = committed_books
    with app_role_engine().connect() as connection:
        apply_settings(connection, system_scope(b["tenant"]))
        for sql in ("UPDATE journal_lines SET amount_minor = amount_minor * 2 WHERE entry_id = :e",
                    "DELETE FROM journal_lines WHERE entry_id = :e",
                    "UPDATE journal_entries SET currency = 'USD' WHERE id = :e"):
            with pytest.raises(DBAPIError) as error, connection.begin_nested():
                connection.execute(text(sql), {"e": b["entry"]})
            state = error.value.orig.sqlstate
            assert state == INSUFFICIENT_PRIVILEGE, sql


def test_a_line_in_another_currency_than_its_entry_is_refused(committed_books):
    b = committed_books
    with app_role_engine().connect() as connection:
        apply_settings(connection, system_scope(b["tenant"]))
        entry = uuid7()
        connection.execute(text(INSERT_ENTRY), {"t": b["tenant"], "e": entry, "path": b["path"],
                                                "key": f"fx:{entry}", "currency": "CNY"})
        state = _refused(connection, INSERT_LINE, t=b["tenant"], e=entry, a=b["usd"], amount=100,
                         path=b["path"])
    assert state == CHECK_VIOLATION


def test_a_new_entry_and_its_lines_in_one_transaction_still_post(committed_books):
    b = committed_books
    with app_role_engine().connect() as connection:
        apply_settings(connection, system_scope(b["tenant"]))
        entry = uuid7()
        connection.execute(text(INSERT_ENTRY), {"t": b["tenant"], "e": entry, "path": b["path"],
                                                "key": f"ok:{entry}", "currency": "CNY"})
        with connection.begin_nested():  # a savepoint is still the entry's transaction
            for account, amount in ((b["cash"], 300), (b["revenue"], -300)):
                connection.execute(text(INSERT_LINE), {"t": b["tenant"], "e": entry, "a": account,
                                                       "amount": amount, "path": b["path"]})
        connection.commit()


# Inlined into every policy; pinning them cost 18x on row filters. Their bodies name only
# pg_catalog and public objects, so search_path has nothing to resolve.
INLINED = {
    "tm_setting(text)": "SELECT NULLIF(pg_catalog.current_setting(name, true), '')",
    "tm_tenant()": "SELECT CAST(public.tm_setting('app.tenant_id') AS pg_catalog.uuid)",
    "tm_is_system()": "SELECT public.tm_setting('app.org_path') OPERATOR(pg_catalog.=) '/'",
    "tm_brand_or_system()": "SELECT public.tm_setting('app.org_path') OPERATOR(pg_catalog.~) '^/([^/]+/)?$'",
}


def test_the_inlined_policy_functions_are_fully_schema_qualified(session):
    bodies = dict(session.execute(text(
        "SELECT p.oid::regprocedure::text, btrim(p.prosrc) FROM pg_proc p"
        " WHERE p.pronamespace = 'public'::regnamespace AND p.proname = ANY(:names)"),
        {"names": [name.split("(")[0] for name in INLINED]}).all())
    assert bodies == INLINED


def test_every_other_function_that_policies_or_triggers_call_has_a_pinned_search_path(session):
    unpinned = session.scalars(text("""
        SELECT p.oid::regprocedure::text FROM pg_proc p
        WHERE p.pronamespace = 'public'::regnamespace
          AND (p.proname LIKE 'tm\\_%' OR p.oid IN (SELECT tgfoid FROM pg_trigger WHERE NOT tgisinternal))
          AND NOT EXISTS (SELECT 1 FROM unnest(coalesce(p.proconfig, '{}')) c WHERE c LIKE 'search_path=%')
    """)).all()
    assert sorted(unpinned) == sorted(INLINED)
