"""Refunds under real concurrency: parallel requests, approvals and executions on committed rows.

Each thread has its own app-role connection (RLS on) and commits for real; the Stripe stand-in
counts what actually left. The invariant: per payment, gateway refunds = our refund rows ≤ captured.
"""

import pytest
from sqlalchemy import func, select

from app.orders import aftersales, fulfilment
from app.orders.models import Order, OrderLine, Refund, RefundKind, RefundStatus
from app.orders.queries import lines_of
from app.payments import refunds
from app.payments.models import Payment, PaymentRefund, RefundExecutionStatus
from tests.support.money import money_world, paid_order, parallel
from tests.support.payments import approve_refund

pytestmark = pytest.mark.many_connections  # threads on their own connections: one at a time under xdist

N = 10


@pytest.fixture
def world(app):
    with money_world() as built:
        yield built


def _lines(world, order):
    with world.system() as session:
        return lines_of(session, session.get(Order, (world.tenant_id, order.id)))


def _request(world, consumer, order, line_qtys, kind=RefundKind.refund_only):
    with world.session(consumer) as session:
        wanted = [{"line_id": line.id, "qty": qty} for line, qty in line_qtys]
        refund = aftersales.request_refund(session, scope=consumer, order_id=order.id, kind=kind,
                                           lines=wanted)
        session.commit()
        return refund


def _approve(world, refund_id) -> str:
    with world.session(world.store) as session:
        aftersales.approve_refund(session, scope=world.store, refund_id=refund_id)
        session.commit()
        return "approved"


def _gateway_refunds(world, payment_ref: str) -> list[dict]:
    return [r for r in world.standin.state.refunds.values()
            if r["payment_intent"] == payment_ref and r["status"] != "failed"]


def _payment(world, order) -> Payment:
    with world.system() as session:
        return session.scalars(select(Payment).where(Payment.tenant_id == world.tenant_id,
                                                     Payment.order_id == order.id)).one()


def _our_rows(world, payment) -> list[PaymentRefund]:
    with world.system() as session:
        return list(session.scalars(select(PaymentRefund).where(
            PaymentRefund.tenant_id == world.tenant_id, PaymentRefund.payment_id == payment.id,
            PaymentRefund.status == RefundExecutionStatus.succeeded)))


def test_ten_parallel_requests_for_one_unit_accept_exactly_one_and_the_gateway_refunds_it_once(world):
    consumer = world.consumers[0]
    order = paid_order(world, consumer, 1, 5)
    one_unit, _ = _lines(world, order)

    outcomes = parallel(N, lambda i: _request(world, consumer, order, [(one_unit, 1)]) and "accepted")
    assert outcomes == {"accepted": 1, "refund_too_large": N - 1}

    with world.system() as session:
        requested = session.scalars(select(Refund.id).where(Refund.tenant_id == world.tenant_id,
                                                            Refund.order_id == order.id)).all()
    approvals = parallel(N, lambda i: _approve(world, requested[i % len(requested)]))
    assert approvals["approved"] == 1
    world.relay()

    payment = _payment(world, order)
    at_gateway = _gateway_refunds(world, payment.gateway_ref)
    ours = _our_rows(world, payment)
    assert [r["amount"] for r in at_gateway] == [999] == [row.amount_minor for row in ours]
    (line, _) = _lines(world, order)
    assert (line.refunded_qty, line.refunded_minor, line.claimed_qty) == (1, 999, 1)


def test_ten_parallel_executions_of_one_approved_refund_claim_once_and_call_the_gateway_once(world):
    order = paid_order(world, world.consumers[1], 2)
    with world.system() as session:
        refund = approve_refund(session, session.get(Order, (world.tenant_id, order.id)), 1_500)
        session.commit()

    def execute(i: int) -> str:
        with world.system() as session:
            row = refunds.execute_refund(session, tenant_id=world.tenant_id, refund_id=refund.id,
                                     gateway=world.gateway)
            session.commit()  # the send is enqueued by this commit, never before it
            return row.idempotency_key

    assert parallel(N, execute) == {f"refund:{refund.id}": N}
    payment = _payment(world, order)
    assert len(world.standin.state.calls("POST", "/v1/refunds")) == 1
    assert [r["amount"] for r in _gateway_refunds(world, payment.gateway_ref)] == [1_500]
    assert payment.refunded_minor == payment.refund_reserved_minor == 1_500


def test_approved_refunds_beyond_what_was_captured_never_reach_the_gateway(world):
    order = paid_order(world, world.consumers[2], 3)  # 2,997 captured
    with world.system() as session:
        loaded = session.get(Order, (world.tenant_id, order.id))
        approved = [approve_refund(session, loaded, 1_000) for _ in range(N)]  # rows as older code left them
        session.commit()

    def execute(i: int) -> str:
        with world.system() as session:
            try:
                refunds.execute_refund(session, tenant_id=world.tenant_id, refund_id=approved[i].id,
                                     gateway=world.gateway)
            except refunds.RefundNotPossible:
                return "refused_by_the_database"
            session.commit()
            return "claimed"

    assert parallel(N, execute) == {"claimed": 2, "refused_by_the_database": N - 2}
    payment = _payment(world, order)
    at_gateway = _gateway_refunds(world, payment.gateway_ref)
    assert len(world.standin.state.calls("POST", "/v1/refunds")) == 2  # no call was refused by Stripe
    ours = _our_rows(world, payment)
    assert sum(r["amount"] for r in at_gateway) == 2_000 == sum(row.amount_minor for row in ours)


def test_two_refunds_executing_at_once_on_one_order_both_count(world):
    consumer = world.consumers[3]
    order = paid_order(world, consumer, 2, 3, 4)
    lines = _lines(world, order)
    requested = [_request(world, consumer, order, [(line, 1)]) for line in lines]
    for refund in requested:
        _approve(world, refund.id)

    def execute(i: int) -> str:
        with world.system() as session:
            refunds.execute_refund(session, tenant_id=world.tenant_id, refund_id=requested[i].id,
                                     gateway=world.gateway)
            session.commit()
            return "done"

    assert parallel(len(requested), execute) == {"done": 3}
    with world.system() as session:
        order_now = session.get(Order, (world.tenant_id, order.id))
        payment = session.scalars(select(Payment).where(Payment.order_id == order.id)).one()
        statuses = session.scalars(select(Refund.status).where(Refund.order_id == order.id)).all()
        line_sum = session.scalar(select(func.sum(OrderLine.refunded_minor)).where(
            OrderLine.tenant_id == world.tenant_id, OrderLine.order_id == order.id))
    assert set(statuses) == {RefundStatus.refunded}
    assert order_now.refunded_minor == payment.refunded_minor == 3 * 999 == line_sum


def test_shipping_and_refund_approvals_racing_on_one_order_never_answer_with_a_database_error(world):
    consumer = world.consumers[0]
    failures = []
    for _ in range(4):
        order = paid_order(world, consumer, 3, 3)
        first, second = _lines(world, order)
        refund = _request(world, consumer, order, [(first, 1), (second, 1)])

        def act(i: int, order=order, refund=refund) -> str:
            with world.session(world.store) as session:
                if i == 0:
                    fulfilment.ship(session, scope=world.store, order_id=order.id, carrier="SF")
                else:
                    aftersales.approve_refund(session, scope=world.store, refund_id=refund.id)
                session.commit()
                return "ok"

        try:
            outcomes = parallel(2, act)
        except Exception as error:  # a deadlock that escaped would land here (a 500 in the API)
            failures.append(repr(error))
            continue
        assert set(outcomes) <= {"ok", "invalid_shipment", "illegal_transition"}
    assert failures == []
