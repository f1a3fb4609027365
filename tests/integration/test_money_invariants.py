"""Money invariants under a mixed workload with parallel clients (issue 8).

Sections drive the workload one after another, each with parallel clients on their own app-role
connections against the Stripe stand-in; then every check runs over what was committed. To add a
part (credit, webhooks, returns...), append a section to SECTIONS and its checks to CHECKS: a
section gets the World and the shared Ledger, a check gets the World and a system session.

What holds at the end, per payment, per order and for the books:
- gateway refunds = our succeeded refund rows = payments.refunded_minor ≤ received;
- reserved = the rows that are not failed; order and line totals = sums of their refund rows;
- claims = what open refunds hold; an order refunded in full before shipping is closed;
- the journal balances, its payments and refunds equal the business tables, and gateway
  clearing = captured − refunded − fees.
"""

import random
import threading
from collections import Counter
from dataclasses import dataclass, field
from datetime import timedelta

from sqlalchemy import func, select

from app.db import utcnow
from app.finance.accounts import account_balances
from app.finance.journal import trial_balance
from app.finance.models import AccountCode, JournalEntry, JournalLine
from app.orders import aftersales, timeouts
from app.orders.models import Order, OrderLine, OrderStatus, Refund, RefundKind, RefundStatus
from app.orders.queries import lines_of
from app.payments import tasks
from app.payments.gateway import GatewayError, use_gateway
from app.payments.models import Payment, PaymentRefund, RefundExecutionStatus
from app.tenancy.models import Tenant
from app.tenancy.scope import system_scope
from tests.integration.test_orders_fixtures import retail_order
from tests.support.money import World, money_world, paid_order, parallel

CLIENTS = 6
ORDERS_PER_CLIENT = 4
SCENARIOS = ("one_unit", "everything", "duplicates", "custom_amount", "untouched")


@dataclass
class Ledger:
    """What the sections did, for the checks and the printed counts."""

    orders: list = field(default_factory=list)  # (consumer scope, order)
    unpaid: list = field(default_factory=list)
    refunds: list = field(default_factory=list)
    counts: Counter = field(default_factory=Counter)


class DropsAnswers:
    """The stand-in behind a flaky network: every `every`-th refund call acts but loses its answer."""

    def __init__(self, inner, every: int):
        self.inner, self.name, self.every, self.calls = inner, inner.name, every, 0
        self.lock = threading.Lock()
        self.dropped = 0

    def refund(self, **kwargs):
        answer = self.inner.refund(**kwargs)
        with self.lock:
            self.calls += 1
            if self.calls % self.every == 0:
                self.dropped += 1
                raise GatewayError("read timeout")
        return answer

    def __getattr__(self, name):
        return getattr(self.inner, name)


# --- sections -------------------------------------------------------------------------------------

def pay_orders(world: World, ledger: Ledger) -> None:
    """Each client places and pays its orders (1–3 lines, 1–3 units each) in parallel."""

    def client(i: int) -> str:
        rng = random.Random(i)
        consumer = world.consumers[i]
        for _ in range(ORDERS_PER_CLIENT):
            qtys = [rng.randint(1, 3) for _ in range(rng.randint(1, 3))]
            ledger.orders.append((consumer, paid_order(world, consumer, *qtys)))
        return "paid"

    assert parallel(CLIENTS, client) == {"paid": CLIENTS}
    ledger.counts["paid orders"] = len(ledger.orders)


def leave_some_unpaid_and_time_them_out(world: World, ledger: Ledger) -> None:
    for consumer in world.consumers[:2]:
        with world.session(consumer) as session:
            ledger.unpaid.append(retail_order(session, consumer, world.catalog, 1).order)
            session.commit()
    with world.system() as session:
        tenant = session.get(Tenant, world.tenant_id)
        cancelled = timeouts.cancel_unpaid(session, tenant=tenant, now=utcnow() + timedelta(minutes=31))
        session.commit()
    assert set(cancelled) >= {order.id for order in ledger.unpaid}
    ledger.counts["timed out"] = len(cancelled)


def request_refunds(world: World, ledger: Ledger) -> None:
    """Partial, full, custom-amount and duplicate requests, all clients at once."""
    jobs = []
    for number, (consumer, order) in enumerate(ledger.orders):
        scenario = SCENARIOS[number % len(SCENARIOS)]
        with world.system() as session:
            order_lines = lines_of(session, session.get(Order, (world.tenant_id, order.id)))
        if scenario == "everything":
            jobs.append((consumer, order, [(line.id, line.qty) for line in order_lines], None))
        elif scenario == "custom_amount":
            jobs.append((consumer, order, [(order_lines[0].id, 1)], 100))
        elif scenario in ("one_unit", "duplicates"):
            for _ in range(3 if scenario == "duplicates" else 1):
                jobs.append((consumer, order, [(order_lines[0].id, 1)], None))
        ledger.counts[f"scenario {scenario}"] += 1

    def ask(i: int) -> str:
        consumer, order, wanted, amount = jobs[i]
        with world.session(consumer) as session:
            refund = aftersales.request_refund(
                session, consumer, order_id=order.id, kind=RefundKind.refund_only, amount_minor=amount,
                lines=[{"line_id": line_id, "qty": qty} for line_id, qty in wanted])
            session.commit()
            ledger.refunds.append(refund.id)
            return "accepted"

    outcomes = parallel(len(jobs), ask)
    ledger.counts["refund requests"] = len(jobs)
    ledger.counts["refund requests refused"] = outcomes["refund_too_large"]
    assert outcomes["accepted"] == len(ledger.refunds)


def approve_twice_in_parallel(world: World, ledger: Ledger) -> None:
    def approve(i: int) -> str:
        with world.session(world.store) as session:
            aftersales.approve_refund(session, world.store, refund_id=ledger.refunds[i // 2])
            session.commit()
            return "approved"

    outcomes = parallel(2 * len(ledger.refunds), approve)
    assert outcomes["approved"] == len(ledger.refunds)
    ledger.counts["approvals (2 per refund, in parallel)"] = 2 * len(ledger.refunds)


def execute_through_a_flaky_gateway_then_recover(world: World, ledger: Ledger) -> None:
    """Two relays at once claim the approved refunds; sends lose some answers; the sweep recovers."""
    flaky = DropsAnswers(world.gateway, every=4)
    with use_gateway(flaky):
        assert set(parallel(2, lambda i: world.relay() or "relayed")) == {"relayed"}
    with world.system() as session:
        recovered = tasks.send_pending_refunds(session, tenant_id=world.tenant_id, gateway=world.gateway)
    ledger.counts["answers lost"] = flaky.dropped
    ledger.counts["refunds recovered by look-up"] = recovered.get("settled", 0)
    world.relay()  # the journal follows the executed refunds


SECTIONS = [pay_orders, leave_some_unpaid_and_time_them_out, request_refunds, approve_twice_in_parallel,
            execute_through_a_flaky_gateway_then_recover]


# --- checks ---------------------------------------------------------------------------------------

def check_payments(world: World, ledger: Ledger, session) -> None:
    payments = session.scalars(select(Payment).where(Payment.tenant_id == world.tenant_id)).all()
    for payment in payments:
        at_gateway = sum(r["amount"] for r in world.standin.state.refunds.values()
                         if r["payment_intent"] == payment.gateway_ref and r["status"] != "failed")
        rows = session.scalars(select(PaymentRefund).where(PaymentRefund.payment_id == payment.id)).all()
        succeeded = sum(r.amount_minor for r in rows if r.status is RefundExecutionStatus.succeeded)
        held = sum(r.amount_minor for r in rows if r.status is not RefundExecutionStatus.failed)
        assert at_gateway == succeeded == payment.refunded_minor <= payment.received_minor, payment.id
        assert payment.refund_reserved_minor == held
    ledger.counts["payments checked"] = len(payments)
    ledger.counts["gateway refunds"] = len(world.standin.state.refunds)


def check_orders(world: World, ledger: Ledger, session) -> None:
    orders = session.scalars(select(Order).where(Order.tenant_id == world.tenant_id)).all()
    for order in orders:
        refunds = session.scalars(select(Refund).where(Refund.order_id == order.id)).all()
        lines = session.scalars(select(OrderLine).where(OrderLine.order_id == order.id)).all()
        done = [r for r in refunds if r.status is RefundStatus.refunded]
        holding = [r for r in refunds if r.status is not RefundStatus.refund_rejected]
        assert order.refunded_minor == sum(r.amount_minor for r in done)
        assert order.refunded_minor == sum(line.refunded_minor for line in lines) + sum(
            r.shipping_minor for r in done)
        assert order.refund_claimed_minor == sum(r.amount_minor for r in holding)
        assert all(line.refunded_qty <= line.claimed_qty <= line.qty for line in lines)
        everything_back = (all(line.refunded_qty == line.qty for line in lines)
                           and order.refunded_minor == order.total_minor)
        if order.status is not OrderStatus.cancelled:
            assert (order.status is OrderStatus.closed) == everything_back, order.id
    statuses = Counter(status.value for status in session.scalars(
        select(Refund.status).where(Refund.tenant_id == world.tenant_id)))
    assert statuses == {"refunded": len(ledger.refunds)}
    ledger.counts["orders checked"] = len(orders)
    ledger.counts["orders closed by full refunds"] = sum(o.status is OrderStatus.closed for o in orders)


def check_journal(world: World, ledger: Ledger, session) -> None:
    assert trial_balance(session, world.tenant_id) == 0

    def debits(kind: str) -> int:
        return int(session.scalar(select(func.coalesce(func.sum(JournalLine.amount_minor), 0))
                                  .join(JournalEntry, (JournalEntry.tenant_id == JournalLine.tenant_id)
                                        & (JournalEntry.id == JournalLine.entry_id))
                                  .where(JournalEntry.tenant_id == world.tenant_id, JournalEntry.kind == kind,
                                         JournalLine.amount_minor > 0)))

    paid = session.scalar(select(func.sum(Order.total_minor)).where(
        Order.tenant_id == world.tenant_id, Order.paid_at.is_not(None)))
    refunded = session.scalar(select(func.sum(Order.refunded_minor)).where(
        Order.tenant_id == world.tenant_id))
    assert debits("order_payment") == paid
    assert debits("order_refund") == refunded
    (clearing,) = account_balances(session, system_scope(world.tenant_id), code=AccountCode.gateway_clearing)
    fees = sum(bt["fee"] for bt in world.standin.state.balance_transactions)
    assert clearing.balance == paid - refunded - fees
    ledger.counts["journal entries"] = session.scalar(select(func.count()).select_from(JournalEntry).where(
        JournalEntry.tenant_id == world.tenant_id))


CHECKS = [check_payments, check_orders, check_journal]


def test_money_holds_under_a_mixed_parallel_workload(app):
    with money_world(consumers=CLIENTS, settings={"orders": {"shipping_flat_minor": 800}}) as world:
        ledger = Ledger()
        for section in SECTIONS:
            section(world, ledger)
        with world.system() as session:
            for check in CHECKS:
                check(world, ledger, session)
        print("\nmoney invariants, counts exercised:")
        for name, count in ledger.counts.items():
            print(f"  {name:45} {count}")
