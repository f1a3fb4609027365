"""Every org's books: the buyer's side of B2B orders, per-org trial balance, statements, filters."""

from datetime import timedelta

from app.db import utcnow
from app.finance import books
from app.finance.accounts import account_balances
from app.finance.journal import list_entries, trial_balance
from app.finance.models import AccountCode
from app.payments import credit, refunds
from app.platform.outbox import relay_pending
from app.tenancy.scope import system_scope
from tests.factories import make_tenant, scope_of
from tests.support.payments import approve_refund, make_order
from tests.support.scope import use_scope

A = AccountCode


def _relay(session, net):
    use_scope(session, system_scope(net.tenant.id))
    relay_pending(session, tenant_id=net.tenant.id)


def _balances(session, net, org_key):
    scope = system_scope(net.tenant.id)
    use_scope(session, scope)
    return {(b.account.code, b.account.counterparty_org_id): b.balance
            for b in account_balances(session, scope, org_id=net.org(org_key).id)}


def _statement(session, net, reader, start):
    """jingan's statement of account over a day from `start`, as `reader` sees it."""
    return books.statement_of_account(session, scope_of(session, net, reader), org_id=net.org("jingan").id,
                                      start=start, end=start + timedelta(days=1))


def _credit_world(session):
    net = make_tenant(session)
    account = credit.set_credit_limit(session, scope=scope_of(session, net, "shanghai"),
                                      buyer_org_id=net.org("jingan").id, limit_minor=100_000)
    return net, account


def test_a_purchase_on_credit_books_inventory_and_a_payable_in_the_buyers_books(session):
    net, account = _credit_world(session)
    order = make_order(session, net, seller="shanghai", buyer="jingan", total=10_000)
    credit.pay_on_credit(session, scope=scope_of(session, net, "jingan"), order_id=order.id)
    _relay(session, net)
    shanghai = net.org("shanghai").id
    assert _balances(session, net, "jingan") == {(A.inventory, None): 10_000, (A.payable, shanghai): 10_000,
                                                 (A.cash, None): 0}
    assert _balances(session, net, "shanghai")[(A.receivable, net.org("jingan").id)] == 10_000
    _relay(session, net)  # a replayed relay books nothing twice
    assert _balances(session, net, "jingan")[(A.payable, shanghai)] == 10_000
    assert trial_balance(session, net.tenant.id) == 0


def test_repaying_and_refunding_lower_what_the_buyer_owes_in_both_books(session):
    net, account = _credit_world(session)
    order = make_order(session, net, seller="shanghai", buyer="jingan", total=9_000)
    credit.pay_on_credit(session, scope=scope_of(session, net, "jingan"), order_id=order.id)
    credit.record_repayment(session, scope=scope_of(session, net, "shanghai"), account_id=account.id,
                            amount_minor=2_000, reference="ICBC-7")
    refund = approve_refund(session, order, 3_000)
    refunds.execute_refund(session, tenant_id=net.tenant.id, refund_id=refund.id, gateway=None)
    _relay(session, net)
    jingan = _balances(session, net, "jingan")
    shanghai = net.org("shanghai").id
    assert jingan[(A.payable, shanghai)] == 4_000 == _balances(session, net, "shanghai")[
        (A.receivable, net.org("jingan").id)]
    assert jingan[(A.inventory, None)] == 6_000 and jingan[(A.cash, None)] == -2_000
    statement = _statement(session, net, "jingan", utcnow() - timedelta(hours=12))
    (supplier,) = statement["suppliers"]
    assert supplier["supplier_org_id"] == shanghai and supplier["opening_minor"] == 0
    assert (supplier["purchases_minor"], supplier["returns_minor"], supplier["repayments_minor"],
            supplier["closing_minor"]) == (9_000, 3_000, 2_000, 4_000)
    assert supplier["paid_at_order_minor"] == 0 and supplier["commissions_minor"] is None
    seen_by_seller = _statement(session, net, "shanghai", utcnow() - timedelta(hours=12))
    (row,) = seen_by_seller["suppliers"]
    assert row["closing_minor"] == 4_000 and row["credit_used_minor"] == 4_000
    assert row["credit_limit_minor"] == 100_000


def test_a_purchase_paid_by_transfer_leaves_nothing_owed_and_the_opening_carries_the_past(session):
    net = make_tenant(session)
    order = make_order(session, net, seller="shanghai", buyer="jingan", total=7_000)
    credit.confirm_bank_transfer(session, scope=scope_of(session, net, "shanghai"), order_id=order.id,
                                 reference="ICBC-1")
    _relay(session, net)
    jingan = _balances(session, net, "jingan")
    assert jingan[(A.inventory, None)] == 7_000 and jingan[(A.payable, net.org("shanghai").id)] == 0
    later = utcnow() + timedelta(hours=1)
    statement = _statement(session, net, "jingan", later)
    (supplier,) = statement["suppliers"]
    assert supplier["opening_minor"] == 0 == supplier["closing_minor"] and supplier["purchases_minor"] == 0


def test_the_trial_balance_per_org_and_as_of_a_moment(session):
    net, account = _credit_world(session)
    order = make_order(session, net, seller="shanghai", buyer="jingan", total=5_000)
    credit.pay_on_credit(session, scope=scope_of(session, net, "jingan"), order_id=order.id)
    _relay(session, net)
    brand = scope_of(session, net, "brand")
    whole = books.org_trial_balance(session, brand)
    assert [total["difference_minor"] for total in whole["totals"]] == [0]
    jingan = books.org_trial_balance(session, brand, org_id=net.org("jingan").id)
    assert {a["account_code"] for a in jingan["accounts"]} == {"inventory", "payable"}
    assert jingan["totals"][0]["debit_minor"] == jingan["totals"][0]["credit_minor"] == 5_000
    before = books.org_trial_balance(session, brand, as_of=utcnow() - timedelta(hours=12))
    assert before["accounts"] == []
    use_scope(session, brand)
    assert account_balances(session, brand, as_of=utcnow() - timedelta(days=1))[0].balance == 0


def test_entries_filter_by_period_org_order_and_account(session):
    net, account = _credit_world(session)
    first = make_order(session, net, seller="shanghai", buyer="jingan", total=1_000)
    second = make_order(session, net, seller="shanghai", buyer="jingan", total=2_000)
    for order in (first, second):
        credit.pay_on_credit(session, scope=scope_of(session, net, "jingan"), order_id=order.id)
    _relay(session, net)
    brand = scope_of(session, net, "brand")
    kinds = sorted(row["entry"].kind for row in list_entries(session, brand, order_id=first.id).items)
    assert kinds == ["order_payment", "purchase"]  # the seller's and the buyer's side
    on_jingan = list_entries(session, brand, org_id=net.org("jingan").id).items
    assert {row["entry"].kind for row in on_jingan} == {"purchase"} and len(on_jingan) == 2
    inventory = next(b.account for b in account_balances(session, brand, code=A.inventory))
    assert len(list_entries(session, brand, account_id=inventory.id).items) == 2
    assert list_entries(session, brand, start=utcnow() + timedelta(minutes=5)).items == []
    assert len(list_entries(session, brand, end=utcnow() + timedelta(minutes=5)).items) == 4
