"""The journal on PostgreSQL: balanced postings, idempotency, append-only, the deferred balance check."""

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import text, update
from sqlalchemy.exc import DBAPIError

from app.db import uuid7
from app.finance.accounts import account_balances, ensure_account
from app.finance.journal import UnbalancedEntry, post_entry, reverse_entry, trial_balance
from app.finance.models import AccountCode, JournalEntry, JournalLine
from app.tenancy.scope import system_scope
from tests.factories import make_tenant, scope_of
from tests.support.scope import use_scope

A = AccountCode


def _accounts(session, net, *keys_codes):
    use_scope(session, system_scope(net.tenant.id))
    return [ensure_account(session, tenant_id=net.tenant.id, org=net.org(key), code=code, currency="CNY")
            for key, code in keys_codes]


def _post(session, net, lines, key=None, owner="brand"):
    return post_entry(session, tenant_id=net.tenant.id, owner_path=net.org(owner).path, kind="test",
                      source_key=key or f"test:{uuid7()}", currency="CNY", lines=lines)


def test_a_balanced_entry_moves_both_accounts_and_the_trial_balance_stays_zero(session):
    net = make_tenant(session)
    cash, revenue = _accounts(session, net, ("jingan", A.cash), ("jingan", A.sales_revenue))
    _post(session, net, [(cash, 10_000), (revenue, -10_000)], owner="jingan")
    balances = {b.account.code: b.balance for b in account_balances(session, system_scope(net.tenant.id))}
    assert balances == {A.cash: 10_000, A.sales_revenue: 10_000}
    assert trial_balance(session, net.tenant.id) == 0


def test_posting_twice_with_the_same_source_key_posts_once(session):
    net = make_tenant(session)
    cash, revenue = _accounts(session, net, ("jingan", A.cash), ("jingan", A.sales_revenue))
    first = _post(session, net, [(cash, 500), (revenue, -500)], key="order.paid:x")
    again = _post(session, net, [(cash, 500), (revenue, -500)], key="order.paid:x")
    assert first.id == again.id
    assert session.scalar(text("SELECT count(*) FROM journal_lines WHERE entry_id = :e"),
                          {"e": first.id}) == 2


def test_the_application_refuses_an_unbalanced_entry(session):
    net = make_tenant(session)
    cash, revenue = _accounts(session, net, ("jingan", A.cash), ("jingan", A.sales_revenue))
    with pytest.raises(UnbalancedEntry):
        _post(session, net, [(cash, 500), (revenue, -499)])


def test_the_database_refuses_to_commit_an_unbalanced_entry_written_around_the_application(session):
    net = make_tenant(session)
    cash, revenue = _accounts(session, net, ("jingan", A.cash), ("jingan", A.sales_revenue))
    entry = JournalEntry(tenant_id=net.tenant.id, id=uuid7(), owner_path=cash.owner_path, kind="bad",
                         source_key="bad", currency="CNY", details={})
    session.add(entry)
    session.flush()
    session.add_all([JournalLine(tenant_id=net.tenant.id, entry_id=entry.id, account_id=cash.id,
                                 amount_minor=500, owner_path=cash.owner_path),
                     JournalLine(tenant_id=net.tenant.id, entry_id=entry.id, account_id=revenue.id,
                                 amount_minor=-400, owner_path=revenue.owner_path)])
    session.flush()
    with pytest.raises(DBAPIError, match="does not balance"), session.begin_nested():
        session.execute(text("SET CONSTRAINTS ALL IMMEDIATE"))  # what COMMIT would run


def test_an_entry_without_lines_cannot_commit_either(session):
    net = make_tenant(session)
    use_scope(session, system_scope(net.tenant.id))
    session.add(JournalEntry(tenant_id=net.tenant.id, id=uuid7(), owner_path=net.org("brand").path,
                             kind="empty", source_key="empty", currency="CNY", details={}))
    session.flush()
    with pytest.raises(DBAPIError, match="0 lines"), session.begin_nested():
        session.execute(text("SET CONSTRAINTS ALL IMMEDIATE"))


def test_a_balanced_entry_passes_the_commit_time_check(session):
    net = make_tenant(session)
    cash, revenue = _accounts(session, net, ("jingan", A.cash), ("brand", A.sales_revenue))
    _post(session, net, [(cash, 700), (revenue, -700)])
    scope_of(session, net, "chengdu")  # a scope that sees neither line must not fool the check
    session.execute(text("SET CONSTRAINTS ALL IMMEDIATE"))
    session.execute(text("SET CONSTRAINTS ALL DEFERRED"))


def test_journal_rows_cannot_be_updated_or_deleted(session):
    net = make_tenant(session)
    cash, revenue = _accounts(session, net, ("jingan", A.cash), ("jingan", A.sales_revenue))
    entry = _post(session, net, [(cash, 500), (revenue, -500)])
    for statement in (update(JournalLine).where(JournalLine.entry_id == entry.id).values(amount_minor=1),
                      text("DELETE FROM journal_entries WHERE id = :e").bindparams(e=entry.id)):
        with pytest.raises(DBAPIError, match="append-only"), session.begin_nested():
            session.execute(statement)


def test_a_correction_is_a_reversing_entry_that_brings_balances_back(session):
    net = make_tenant(session)
    cash, revenue = _accounts(session, net, ("jingan", A.cash), ("jingan", A.sales_revenue))
    entry = _post(session, net, [(cash, 500), (revenue, -500)])
    correction = reverse_entry(session, tenant_id=net.tenant.id, entry_id=entry.id)
    assert correction.reverses_entry_id == entry.id
    assert reverse_entry(session, tenant_id=net.tenant.id, entry_id=entry.id).id == correction.id
    balances = {b.account.code: b.balance for b in account_balances(session, system_scope(net.tenant.id))}
    assert balances == {A.cash: 0, A.sales_revenue: 0}


def test_a_store_sees_its_own_accounts_and_not_a_siblings(session):
    net = make_tenant(session)
    mine, theirs = _accounts(session, net, ("jingan", A.cash), ("chengdu", A.cash))
    revenue, = _accounts(session, net, ("brand", A.sales_revenue))
    _post(session, net, [(mine, 100), (theirs, 200), (revenue, -300)])
    seen = {b.account.id for b in account_balances(session, scope_of(session, net, "jingan"))}
    assert seen == {mine.id}
    brand_seen = {b.account.id for b in account_balances(session, scope_of(session, net, "brand"))}
    assert brand_seen == {mine.id, theirs.id, revenue.id}


posting = st.lists(st.tuples(st.integers(0, 5), st.integers(-10**9, 10**9).filter(bool)),
                   min_size=1, max_size=5)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(posting, min_size=1, max_size=6))
def test_random_postings_keep_every_entry_balanced_and_the_trial_balance_zero(session, postings):
    if "journal_net" not in session.info:  # one network for all examples: building it is slow
        session.info["journal_net"] = make_tenant(session)
    net = session.info["journal_net"]
    with session.begin_nested() as example:
        codes = [("jingan", A.cash), ("jingan", A.sales_revenue), ("hangzhou", A.cash),
                 ("brand", A.gateway_clearing), ("brand", A.gateway_fees), ("west", A.receivable)]
        accounts = _accounts(session, net, *codes)
        expected = {account.id: 0 for account in accounts}
        for parts in postings:
            lines = [(accounts[i], amount) for i, amount in parts]
            closing = -sum(amount for _, amount in lines)
            lines.append((accounts[0], closing))
            entry = _post(session, net, lines)
            if entry is None:
                continue
            for account, amount in lines:
                expected[account.id] += amount
        session.execute(text("SET CONSTRAINTS ALL IMMEDIATE"))  # the database agrees at "commit"
        session.execute(text("SET CONSTRAINTS ALL DEFERRED"))
        balances = account_balances(session, system_scope(net.tenant.id))
        assert {b.account.id: b.debit_minus_credit for b in balances} == expected
        assert trial_balance(session, net.tenant.id) == 0
        per_entry = session.execute(text(
            "SELECT entry_id, sum(amount_minor) FROM journal_lines WHERE tenant_id = :t GROUP BY entry_id"),
            {"t": net.tenant.id}).all()
        assert all(total == 0 for _, total in per_entry)
        example.rollback()
