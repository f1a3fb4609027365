"""Credit on account (授信): refunds beyond the debt become deposits, repayments book once, totals add up.

The parallel tests commit on separate app-role connections (RLS on) and clean their tenant up.
"""

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import create_engine, func, select
from sqlalchemy.orm import Session
from sqlalchemy.pool import NullPool

from app.finance.accounts import account_balances
from app.finance.journal import trial_balance
from app.finance.models import AccountCode
from app.orders.models import OrderStatus
from app.payments import credit, deposits, refunds
from app.payments.errors import DuplicateRepayment, IdempotencyKeyReused, InsufficientDeposit
from app.payments.models import CreditAccount, CreditEntry, CreditEntryKind
from app.platform.outbox import relay_pending
from app.tenancy.scope import set_current_scope, system_scope
from tests import database
from tests.factories import make_tenant, scope_of
from tests.support.committed import app_role_engine, delete_tenant
from tests.support.payments import approve_refund, make_order
from tests.support.scope import use_scope

A = AccountCode


def _credit(session, net, limit):
    return credit.set_credit_limit(session, scope=scope_of(session, net, "shanghai"),
                                   buyer_org_id=net.org("jingan").id, limit_minor=limit)


def _on_credit(session, net, total):
    order = make_order(session, net, seller="shanghai", buyer="jingan", total=total)
    credit.pay_on_credit(session, scope=scope_of(session, net, "jingan"), order_id=order.id)
    return order


def _balances(session, net):
    relay_pending(session, tenant_id=net.tenant.id)
    buyer = net.org("jingan").id
    return {b.account.code: b.balance for b in account_balances(session, system_scope(net.tenant.id))
            if b.account.counterparty_org_id in (None, buyer) and b.account.org_id == net.org("shanghai").id}


def _account(session, net, account_id):
    use_scope(session, system_scope(net.tenant.id))
    return session.scalars(select(CreditAccount).where(CreditAccount.id == account_id)
                           .execution_options(populate_existing=True)).one()


def test_refunding_a_repaid_credit_order_keeps_the_buyers_money_as_a_journaled_deposit(session):
    net = make_tenant(session)
    account = _credit(session, net, 50_000)
    order = _on_credit(session, net, 15_360)
    credit.record_repayment(session, scope=scope_of(session, net, "shanghai"), account_id=account.id,
                            amount_minor=15_360, reference="ICBC-0001")
    refund = approve_refund(session, order, 15_360)
    refunds.execute_refund(session, tenant_id=net.tenant.id, refund_id=refund.id, gateway=None)
    account = _account(session, net, account.id)
    assert (account.used_minor, account.deposit_minor) == (0, 15_360)
    balances = _balances(session, net)
    assert balances[A.receivable] == 0  # not -15,360: the money is not nowhere
    assert balances[A.customer_deposits] == 15_360
    assert balances[A.cash] == 15_360
    assert trial_balance(session, net.tenant.id) == 0


def test_a_partial_refund_lowers_the_debt_first_and_only_the_rest_becomes_a_deposit(session):
    net = make_tenant(session)
    account = _credit(session, net, 50_000)
    order = _on_credit(session, net, 10_000)
    credit.record_repayment(session, scope=scope_of(session, net, "shanghai"), account_id=account.id,
                            amount_minor=7_000, reference="ICBC-0002")
    refund = approve_refund(session, order, 5_000)
    refunds.execute_refund(session, tenant_id=net.tenant.id, refund_id=refund.id, gateway=None)
    account = _account(session, net, account.id)
    assert (account.used_minor, account.deposit_minor) == (0, 2_000)
    balances = _balances(session, net)
    assert (balances[A.receivable], balances[A.customer_deposits]) == (0, 2_000)


def test_the_next_order_on_account_is_paid_from_the_deposit_first(session):
    net = make_tenant(session)
    account = _credit(session, net, 50_000)
    first = _on_credit(session, net, 6_000)
    credit.record_repayment(session, scope=scope_of(session, net, "shanghai"), account_id=account.id,
                            amount_minor=6_000, reference="ICBC-0003")
    refunds.execute_refund(session, tenant_id=net.tenant.id, gateway=None,
                           refund_id=approve_refund(session, first, 6_000).id)
    second = _on_credit(session, net, 8_000)
    account = _account(session, net, account.id)
    assert (account.used_minor, account.deposit_minor) == (2_000, 0)
    session.refresh(second)
    assert second.status is OrderStatus.paid
    charge = session.scalars(select(CreditEntry).where(CreditEntry.order_id == second.id,
                                                       CreditEntry.kind == CreditEntryKind.charge)).one()
    assert (charge.amount_minor, charge.outstanding_minor) == (8_000, 2_000)
    balances = _balances(session, net)
    assert (balances[A.receivable], balances[A.customer_deposits]) == (2_000, 0)
    assert trial_balance(session, net.tenant.id) == 0


def test_finance_pays_a_deposit_back_once_per_bank_reference_and_never_more_than_held(session):
    net = make_tenant(session)
    account = _credit(session, net, 50_000)
    order = _on_credit(session, net, 3_000)
    seller = scope_of(session, net, "shanghai")
    credit.record_repayment(session, scope=seller, account_id=account.id, amount_minor=3_000,
                            reference="ICBC-0004")
    refunds.execute_refund(session, tenant_id=net.tenant.id, gateway=None,
                           refund_id=approve_refund(session, order, 3_000).id)
    seller = scope_of(session, net, "shanghai")
    with pytest.raises(InsufficientDeposit):
        deposits.refund_deposit(session, scope=seller, account_id=account.id, amount_minor=3_001,
                                reference="OUT-1")
    deposits.refund_deposit(session, scope=seller, account_id=account.id, amount_minor=3_000,
                            reference="OUT-2")
    with pytest.raises(DuplicateRepayment):
        deposits.refund_deposit(session, scope=seller, account_id=account.id, amount_minor=1,
                                reference="OUT-2")
    assert _account(session, net, account.id).deposit_minor == 0
    balances = _balances(session, net)
    assert (balances[A.customer_deposits], balances[A.cash]) == (0, 0)
    assert trial_balance(session, net.tenant.id) == 0


def test_a_repayment_posted_again_books_once_by_reference_and_replays_by_idempotency_key(session):
    net = make_tenant(session)
    account = _credit(session, net, 50_000)
    _on_credit(session, net, 20_000)
    seller = scope_of(session, net, "shanghai")
    first = credit.record_repayment(session, scope=seller, account_id=account.id, amount_minor=2_000,
                                    reference="ICBC-7", idempotency_key="k-1")
    again = credit.record_repayment(session, scope=seller, account_id=account.id, amount_minor=2_000,
                                    reference="ICBC-7", idempotency_key="k-1")
    assert again.id == first.id
    for _ in range(6):
        with pytest.raises(DuplicateRepayment):
            credit.record_repayment(session, scope=seller, account_id=account.id, amount_minor=2_000,
                                    reference="ICBC-7")
    with pytest.raises(IdempotencyKeyReused):
        credit.record_repayment(session, scope=seller, account_id=account.id, amount_minor=2_500,
                                reference="ICBC-8", idempotency_key="k-1")
    assert _account(session, net, account.id).used_minor == 18_000


# --- real parallel connections --------------------------------------------------------------------

@pytest.fixture
def committed_credit(app):
    """A committed tenant: jingan owes shanghai on two orders paid on credit (10,000 + 5,000)."""
    admin, _, _ = database.test_urls()
    engine = create_engine(admin, poolclass=NullPool)
    with Session(engine, expire_on_commit=False) as session:
        net = make_tenant(session)
        account = _credit(session, net, 100_000)
        first, _ = _on_credit(session, net, 10_000), _on_credit(session, net, 5_000)
        data = {"net": net, "account_id": account.id, "order": first,
                "seller": scope_of(session, net, "shanghai")}
        session.commit()
    engine.dispose()
    set_current_scope(None)  # the fixture's scopes must not leak into later tests
    yield data
    delete_tenant(data["net"].tenant.id)


def _in_parallel(calls):
    """Run each call on its own app-role connection, all released at once; exceptions are returned."""
    engine = app_role_engine()
    barrier = threading.Barrier(len(calls))

    def run(call):
        with Session(engine, expire_on_commit=False) as session:
            barrier.wait()
            try:
                result = call(session)
                session.commit()
                return result
            except Exception as error:  # noqa: BLE001  (the test counts outcomes)
                session.rollback()
                return error

    with ThreadPoolExecutor(len(calls)) as pool:
        results = list(pool.map(run, calls))
    engine.dispose()
    return results


def test_credit_notes_and_repayments_at_once_both_count(committed_credit):
    net, account_id = committed_credit["net"], committed_credit["account_id"]
    order = committed_credit["order"]
    admin, _, _ = database.test_urls()
    engine = create_engine(admin, poolclass=NullPool)
    for round_no in range(6):
        with Session(engine) as session:
            refund_id = approve_refund(session, order, 500).id
            session.commit()

        def note(session, refund_id=refund_id):
            use_scope(session, system_scope(net.tenant.id))
            return refunds.execute_refund(session, tenant_id=net.tenant.id, refund_id=refund_id, gateway=None)

        def repay(session, round_no=round_no):
            use_scope(session, committed_credit["seller"])
            return credit.record_repayment(session, scope=committed_credit["seller"], account_id=account_id,
                                           amount_minor=700, reference=f"PAR-{round_no}")

        results = _in_parallel([note, repay])
        assert not [r for r in results if isinstance(r, Exception)], results
    with Session(engine) as session:
        used = session.scalar(select(CreditAccount.used_minor).where(CreditAccount.id == account_id))
        owed = session.scalar(select(func.sum(CreditEntry.outstanding_minor)).where(
            CreditEntry.account_id == account_id, CreditEntry.kind == CreditEntryKind.charge))
        use_scope(session, system_scope(net.tenant.id))
        receivable = _balances(session, net)[A.receivable]
        session.commit()
    engine.dispose()
    assert used == owed == receivable == 15_000 - 6 * (500 + 700)


def test_the_same_transfer_posted_seven_times_at_once_cuts_the_debt_once(committed_credit):
    account_id, seller = committed_credit["account_id"], committed_credit["seller"]

    def repay(session):
        use_scope(session, seller)
        return credit.record_repayment(session, scope=seller, account_id=account_id, amount_minor=1_000,
                                       reference="ICBC-SAME")

    results = _in_parallel([repay] * 7)
    booked = [r for r in results if isinstance(r, CreditEntry)]
    assert len(booked) == 1
    assert all(isinstance(r, DuplicateRepayment) for r in results if r not in booked), results
    admin, _, _ = database.test_urls()
    engine = create_engine(admin, poolclass=NullPool)
    with Session(engine) as session:
        used = session.scalar(select(CreditAccount.used_minor).where(CreditAccount.id == account_id))
        assert used == 14_000
        assert session.scalar(select(func.count()).select_from(CreditEntry).where(
            CreditEntry.account_id == account_id, CreditEntry.kind == CreditEntryKind.repayment)) == 1
    engine.dispose()
