"""Posting in two statements and accounts resolved once per process keep the journal's rules.

journal.post_entry folds the source-key lookup and the closed-period check into the entry's INSERT;
finance.accounts.account_refs resolves several accounts in one SELECT and caches what it saw
committed. The answers must stay those of the four-statement posting and of ensure_account.
"""

from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.finance import journal, periods
from app.finance.accounts import account_refs, ensure_account
from app.finance.errors import PeriodClosed, UnbalancedEntry
from app.finance.models import AccountCode, JournalEntry, JournalLine
from app.tenancy.scope import system_scope
from bench.statements import statements_sent
from tests.factories import make_tenant, scope_of
from tests.support.scope import use_scope

A = AccountCode
IN_CLOSED = datetime(2026, 10, 15, 12, tzinfo=UTC)


def _books(session, net):
    use_scope(session, system_scope(net.tenant.id))
    return [ensure_account(session, tenant_id=net.tenant.id, org=net.org("jingan"), code=code, currency="CNY")
            for code in (A.cash, A.sales_revenue)]


def _post(session, net, lines, key):
    return journal.post_entry(session, tenant_id=net.tenant.id, owner_path=net.org("jingan").path,
                              kind="test", source_key=key, currency="CNY", lines=lines)


def _entries(session, net) -> int:
    use_scope(session, system_scope(net.tenant.id))
    return session.scalar(select(func.count()).select_from(JournalEntry)
                          .where(JournalEntry.tenant_id == net.tenant.id))


def test_posting_sends_two_statements_and_the_entry_comes_back_as_loaded(session):
    net = make_tenant(session)
    cash, revenue = _books(session, net)
    with statements_sent(db.engine) as sent:
        entry = journal.post_entry(session, tenant_id=net.tenant.id, owner_path=net.org("jingan").path,
                                   kind="test", source_key="k:1", currency="CNY", memo="why",
                                   lines=[(cash, 700), (revenue, -700)], details={"order_id": "o-1"})
    assert len(sent) == 2, sent  # the entry (with its idempotency and period check), the lines
    stored = session.execute(select(JournalEntry.kind, JournalEntry.memo, JournalEntry.details,
                                    JournalEntry.owner_path, JournalEntry.created_at).where(
        JournalEntry.tenant_id == net.tenant.id, JournalEntry.id == entry.id)).one()
    assert tuple(stored) == ("test", "why", {"order_id": "o-1"}, net.org("jingan").path, entry.created_at)
    lines = journal.lines_of(session, entry)
    assert sorted((line.account_id, line.amount_minor, line.owner_path) for line in lines) == sorted(
        [(cash.id, 700, cash.owner_path), (revenue.id, -700, revenue.owner_path)])


def test_a_repeat_answers_the_first_entry_whatever_lines_it_brings_now(session):
    net = make_tenant(session)
    cash, revenue = _books(session, net)
    first = _post(session, net, [(cash, 500), (revenue, -500)], key="order.paid:x")
    assert _post(session, net, [(cash, 500), (revenue, -499)], key="order.paid:x").id == first.id
    assert _post(session, net, [], key="order.paid:x").id == first.id
    assert _post(session, net, [(cash, 900), (revenue, -900)], key="order.paid:x").id == first.id
    assert session.scalar(select(func.count()).select_from(JournalLine).where(
        JournalLine.tenant_id == net.tenant.id, JournalLine.entry_id == first.id)) == 2
    with pytest.raises(UnbalancedEntry):  # a new key is still checked
        _post(session, net, [(cash, 500), (revenue, -499)], key="order.paid:y")
    assert _post(session, net, [], key="order.paid:z") is None


def test_a_closed_month_refuses_a_new_posting_at_once_and_a_repeat_still_answers_the_first(session,
                                                                                          monkeypatch):
    net = make_tenant(session)
    cash, revenue = _books(session, net)
    monkeypatch.setattr(journal, "utcnow", lambda: IN_CLOSED)
    october = _post(session, net, [(cash, 300), (revenue, -300)], key="october")
    periods.close_period(session, scope_of(session, net, "brand"), period="2026-10")
    use_scope(session, system_scope(net.tenant.id))
    before = _entries(session, net)
    with pytest.raises(PeriodClosed):
        _post(session, net, [(cash, 300), (revenue, -300)], key="late")
    assert _post(session, net, [(cash, 300), (revenue, -300)], key="october").id == october.id
    assert _entries(session, net) == before


def test_account_refs_answer_the_accounts_of_ensure_account_and_create_the_missing_ones(session):
    net = make_tenant(session)
    cash, revenue = _books(session, net)
    store, brand = net.org("jingan"), net.org("brand")
    orgs = {store.id: store, brand.id: brand}
    wanted = [(store.id, A.cash, None), (brand.id, A.takings_payable, store.id),
              (store.id, A.sales_revenue, None)]
    refs = account_refs(session, tenant_id=net.tenant.id, currency="CNY", wanted=wanted, org=orgs.get)
    created = ensure_account(session, tenant_id=net.tenant.id, org=brand, code=A.takings_payable,
                             currency="CNY", counterparty_org_id=store.id)
    assert [(ref.id, ref.currency, ref.owner_path) for ref in refs] == [
        (account.id, "CNY", account.owner_path) for account in (cash, created, revenue)]
    assert created.owner_path == brand.path


def test_only_accounts_seen_committed_are_cached_never_one_a_rolled_back_savepoint_created(session):
    net = make_tenant(session)
    session.commit()
    use_scope(session, system_scope(net.tenant.id))
    brand = net.org("brand")
    wanted = [(brand.id, A.commission_expense, None)]

    def refs():
        return account_refs(session, tenant_id=net.tenant.id, currency="CNY", wanted=wanted,
                            org=lambda _: brand)

    savepoint = session.begin_nested()
    [lost] = refs()
    assert refs() == [lost]  # found again inside the savepoint, which then rolls back
    savepoint.rollback()
    session.commit()
    use_scope(session, system_scope(net.tenant.id))
    [created] = refs()
    assert created.id != lost.id  # created again: the lost one was not cached
    session.commit()  # created in that transaction: still not cached (a savepoint could have lost it)
    use_scope(session, system_scope(net.tenant.id))
    assert refs() == [created]
    session.commit()  # seen committed: cached
    with statements_sent(db.engine) as sent:
        assert refs() == [created]
    assert sent == []
    payable = ensure_account(session, tenant_id=net.tenant.id, org=brand, code=A.commission_payable,
                             currency="CNY")
    entry = journal.post_entry(session, tenant_id=net.tenant.id, owner_path=brand.path, kind="test",
                               source_key="cached", currency="CNY", lines=[(created, 100), (payable, -100)])
    session.commit()  # the deferred balance check and the line guard accept the cached account
    assert entry.source_key == "cached"
