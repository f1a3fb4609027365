"""A mixed money workload on parallel connections, then every book checked against every other.

Committed data, app-role connections (RLS on), 4 parallel webhook workers receiving Stripe events
shuffled, duplicated and early (refunds and disputes before the payment's own success), dashboard
refunds the app never asked for, disputes won and lost; then credit on account with repayments
(the same bank transfer posted several times), credit notes beyond the debt (deposits) and the
next orders paying from deposits, all in parallel. Checked per payment, order, account and ledger:
gateway refunds = our refund rows, totals = sums of rows, journal = business tables.
"""

import random
import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import create_engine, func, select
from sqlalchemy.orm import Session
from sqlalchemy.pool import NullPool

from app.finance.accounts import account_balances
from app.finance.journal import trial_balance
from app.finance.models import AccountCode
from app.orders.models import Order, OrderStatus, Refund, RefundStatus
from app.payments import credit, intents, refunds, webhooks
from app.payments.models import (
    CreditAccount,
    CreditEntry,
    CreditEntryKind,
    DisputeStatus,
    Payment,
    PaymentDispute,
    PaymentRefund,
    RefundExecutionStatus,
)
from app.platform.outbox import relay_pending
from app.tenancy.scope import set_current_scope, system_scope
from tests import database
from tests.factories import add_consumer, consumer_scope_of, make_tenant, scope_of
from tests.integration.test_orders_fixtures import retail_order, stocked_catalog
from tests.support.committed import app_role_engine, delete_tenant
from tests.support.payments import approve_refund, make_order, stripe_event
from tests.support.scope import use_scope

pytestmark = pytest.mark.many_connections  # threads on their own connections: one at a time under xdist

A = AccountCode
RETAIL_ORDERS, WORKERS, CREDIT_ORDERS = 16, 4, 6


def _admin():
    admin, _, _ = database.test_urls()
    return create_engine(admin, poolclass=NullPool)


@pytest.fixture
def world(gateway, standin):
    """Retail orders paid at Stripe (no event delivered yet) and B2B orders on credit, committed."""
    engine = _admin()
    with Session(engine, expire_on_commit=False) as session:
        net = make_tenant(session)
        catalog = stocked_catalog(session, net)
        consumer = add_consumer(session, net, "jingan")
        scope = consumer_scope_of(session, consumer)
        retail_orders = []
        for number in range(RETAIL_ORDERS):
            order = retail_order(session, scope, catalog, *((1 + number % 3,) + (1,) * (number % 2))).order
            payment = intents.start_payment(session, scope=scope, order_id=order.id, gateway=gateway)
            standin.state.succeed(payment.gateway_ref)
            retail_orders.append((order.id, payment.gateway_ref))
        account = credit.set_credit_limit(session, scope=scope_of(session, net, "shanghai"),
                                          buyer_org_id=net.org("jingan").id, limit_minor=10**7)
        credit_orders = []
        for number in range(CREDIT_ORDERS):
            order = make_order(session, net, seller="shanghai", buyer="jingan", total=5_000 + 1_000 * number)
            credit.pay_on_credit(session, scope=scope_of(session, net, "jingan"), order_id=order.id)
            credit_orders.append(order)
        seller, buyer = scope_of(session, net, "shanghai"), scope_of(session, net, "jingan")
        session.commit()
    engine.dispose()
    set_current_scope(None)  # the fixture's scopes must not leak into later tests
    yield {"net": net, "retail": retail_orders, "account_id": account.id, "credit": credit_orders,
           "seller": seller, "buyer": buyer}
    delete_tenant(net.tenant.id)


def _events(standin, retail_orders, rng) -> tuple[list[dict], Counter]:
    """Each payment's success; dashboard refunds, disputes; shuffled, some twice."""
    counts, events = Counter(), []
    for number, (_, pi_id) in enumerate(retail_orders):
        pi = standin.state.payment_intents[pi_id]
        events.append(stripe_event("payment_intent.succeeded", pi))
        counts["payments"] += 1
        kind = number % 4
        if kind == 1:  # a partial dashboard refund
            refund = standin.state.refund_from_dashboard(pi_id, pi["amount_received"] // 3)
            events += [stripe_event("refund.created", refund), stripe_event("charge.refunded",
                                                                             standin.state.charge(pi_id))]
            counts["dashboard refunds"] += 1
        elif kind == 2:  # a full dashboard refund
            refund = standin.state.refund_from_dashboard(pi_id, pi["amount_received"])
            events += [stripe_event("charge.refunded", standin.state.charge(pi_id)),
                       stripe_event("refund.updated", refund)]
            counts["dashboard refunds"] += 1
        elif kind == 3:  # a dispute, won or lost
            dispute = standin.state.dispute(pi_id)
            events.append(stripe_event("charge.dispute.created", dict(dispute)))
            closed = standin.state.close_dispute(dispute["id"], "won" if number % 8 == 3 else "lost")
            events.append(stripe_event("charge.dispute.closed", dict(closed)))
            counts["disputes"] += 1
    events += rng.sample(events, len(events) // 3)  # delivered again
    counts["deliveries"] = len(events)
    rng.shuffle(events)
    return events, counts


def _run_parallel(app, jobs, work):
    """`work(session, job)` for every job on WORKERS app-role connections; returns the errors."""
    engine, errors, lock = app_role_engine(), [], threading.Lock()
    queue = list(jobs)

    def worker():
        with app.app_context():
            while True:
                with lock:
                    if not queue:
                        return
                    job = queue.pop()
                with Session(engine, expire_on_commit=False) as session:
                    try:
                        work(session, job)
                        session.commit()
                    except Exception as error:  # noqa: BLE001  (collected and asserted empty)
                        session.rollback()
                        errors.append(repr(error))

    with ThreadPoolExecutor(WORKERS) as pool:
        for future in [pool.submit(worker) for _ in range(WORKERS)]:
            future.result()
    engine.dispose()
    return errors


def _deliver(gateway):
    def work(session, event):
        if webhooks.store(session, event):
            session.commit()
        webhooks.process(session, event_id=event["id"], gateway=gateway)
    return work


def test_a_mixed_workload_keeps_gateway_orders_payments_credit_and_journal_in_agreement(
        app, world, gateway, standin):
    rng = random.Random(8)
    net, tenant_id = world["net"], world["net"].tenant.id
    events, counts = _events(standin, world["retail"], rng)
    assert _run_parallel(app, events, _deliver(gateway)) == []  # no lock race ends in an error

    # Credit: repayments (one transfer posted three times), then refunds beyond the debt (deposits)
    # racing a new order on account, all in parallel.
    seller, account_id = world["seller"], world["account_id"]
    engine = _admin()
    with Session(engine, expire_on_commit=False) as session:
        refund_ids = [approve_refund(session, order, order.total_minor // 2).id for order in world["credit"]]
        late_order = make_order(session, net, seller="shanghai", buyer="jingan", total=3_000)
        session.commit()
    buyer = world["buyer"]
    repayments = [("repay", f"ICBC-{n}", 10_000) for n in range(4)] + [("repay", "ICBC-0", 10_000)] * 2
    notes = [("note", refund_id, None) for refund_id in refund_ids] + [("order", late_order.id, None)]
    rng.shuffle(repayments)
    rng.shuffle(notes)

    def credit_work(session, job):
        kind, ref, amount = job
        if kind == "repay":
            use_scope(session, seller)
            try:
                credit.record_repayment(session, scope=seller, account_id=account_id, amount_minor=amount,
                                        reference=ref)
            except credit.DuplicateRepayment:
                counts["duplicate transfers refused"] += 1
        elif kind == "order":
            use_scope(session, buyer)
            credit.pay_on_credit(session, scope=buyer, order_id=ref)
        else:
            use_scope(session, system_scope(tenant_id))
            refunds.execute_refund(session, tenant_id=tenant_id, refund_id=ref)
    assert _run_parallel(app, repayments, credit_work) == []
    assert _run_parallel(app, notes, credit_work) == []
    counts["credit notes"] += len(refund_ids)
    counts["repayments posted"] += len(repayments)
    charged = sum(order.total_minor for order in world["credit"]) + late_order.total_minor
    noted = sum(order.total_minor // 2 for order in world["credit"])
    counts["credit net owed"] = charged - 4 * 10_000 - noted

    with Session(engine, expire_on_commit=False) as session, app.app_context():
        use_scope(session, system_scope(tenant_id))
        while relay_pending(session, tenant_id=tenant_id):
            pass
        session.commit()
        use_scope(session, system_scope(tenant_id))
        _check_payments(session, tenant_id, standin, counts)
        _check_orders(session, tenant_id, counts)
        _check_credit(session, tenant_id, account_id, counts)
        _check_journal(session, net, counts)
    engine.dispose()
    print("\nmoney invariants exercised:", dict(counts))


def _check_payments(session, tenant_id, standin, counts):
    for payment in session.scalars(select(Payment).where(Payment.tenant_id == tenant_id,
                                                         Payment.gateway == "stripe")):
        at_gateway = [r for r in standin.state.refunds.values() if r["payment_intent"] == payment.gateway_ref
                      and r["status"] in ("pending", "succeeded")]
        rows = session.scalars(select(PaymentRefund).where(
            PaymentRefund.tenant_id == tenant_id, PaymentRefund.payment_id == payment.id,
            PaymentRefund.reason != "dispute_lost",
            PaymentRefund.status != RefundExecutionStatus.failed)).all()
        assert sorted(r["amount"] for r in at_gateway) == sorted(r.amount_minor for r in rows), payment.id
        lost = session.scalars(select(PaymentRefund).where(
            PaymentRefund.tenant_id == tenant_id, PaymentRefund.payment_id == payment.id,
            PaymentRefund.reason == "dispute_lost")).all()
        succeeded = sum(r.amount_minor for r in rows if r.status is RefundExecutionStatus.succeeded)
        assert payment.refunded_minor == succeeded + sum(r.amount_minor for r in lost)
        assert payment.refunded_minor <= payment.received_minor
        counts["payments checked"] += 1


def _check_orders(session, tenant_id, counts):
    for order in session.scalars(select(Order).where(Order.tenant_id == tenant_id)):
        refunded = session.scalar(select(func.coalesce(func.sum(Refund.amount_minor), 0)).where(
            Refund.tenant_id == tenant_id, Refund.order_id == order.id,
            Refund.status == RefundStatus.refunded))
        assert order.refunded_minor == refunded, order.id
        if order.refunded_minor == order.total_minor and order.flow.value == "retail":
            assert order.status is OrderStatus.closed  # a full refund of an unshipped order ends it
        counts["orders checked"] += 1


def _check_credit(session, tenant_id, account_id, counts):
    account = session.get(CreditAccount, (tenant_id, account_id))
    owed = session.scalar(select(func.sum(CreditEntry.outstanding_minor)).where(
        CreditEntry.tenant_id == tenant_id, CreditEntry.account_id == account_id,
        CreditEntry.kind == CreditEntryKind.charge))
    repaid = session.scalar(select(func.count()).select_from(CreditEntry).where(
        CreditEntry.tenant_id == tenant_id, CreditEntry.account_id == account_id,
        CreditEntry.kind == CreditEntryKind.repayment))
    assert repaid == 4 and account.used_minor == owed
    assert account.used_minor - account.deposit_minor == counts["credit net owed"]
    counts["credit used"], counts["credit deposit"] = account.used_minor, account.deposit_minor


def _check_journal(session, net, counts):
    tenant_id = net.tenant.id
    assert trial_balance(session, tenant_id) == 0
    books: Counter = Counter()
    for b in account_balances(session, system_scope(tenant_id)):
        books[b.account.code] += b.balance
    assert books[A.receivable] == counts["credit used"]
    assert books[A.customer_deposits] == counts["credit deposit"]
    refunded = session.scalar(select(func.sum(Order.refunded_minor)).where(Order.tenant_id == tenant_id))
    assert -books[A.sales_returns] == refunded
    open_disputes = session.scalar(select(func.coalesce(func.sum(PaymentDispute.amount_minor), 0)).where(
        PaymentDispute.tenant_id == tenant_id, PaymentDispute.status == DisputeStatus.open))
    assert books[A.disputed_funds] == open_disputes == 0
    received = session.scalar(select(func.sum(Payment.received_minor)).where(
        Payment.tenant_id == tenant_id, Payment.gateway == "stripe"))
    out = session.scalar(select(func.sum(Payment.refunded_minor)).where(
        Payment.tenant_id == tenant_id, Payment.gateway == "stripe"))
    assert books[A.gateway_clearing] + books[A.gateway_fees] == received - out
    counts["journal accounts"] = len(books)
