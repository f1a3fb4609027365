"""Money moved outside the app comes back through webhooks: order, payment and journal follow.

Charges arrive as API 2022-11-15+ sends them (no `refunds` list): refunds are listed by
PaymentIntent from the stand-in, whatever the event and its order of arrival.
"""

import pytest
from sqlalchemy import select

from app.finance.accounts import account_balances
from app.finance.journal import trial_balance
from app.finance.models import AccountCode
from app.orders.models import OrderStatus, Refund, RefundStatus
from app.payments import intents, refunds, webhooks
from app.payments.gateway import use_gateway
from app.payments.models import (
    DisputeStatus,
    Payment,
    PaymentDispute,
    PaymentRefund,
    PaymentStatus,
    RefundExecutionStatus,
)
from app.platform.outbox import relay_pending
from app.tenancy.models import Consumer
from app.tenancy.scope import system_scope
from tests.factories import add_consumer, consumer_scope_of, make_tenant
from tests.integration.test_orders_fixtures import retail_order, stocked_catalog
from tests.support.payments import approve_refund, stripe_event
from tests.support.scope import use_scope

A = AccountCode


@pytest.fixture
def shop(session, gateway, standin):
    """A placed retail order with lines, its intent created (not yet paid)."""
    net = make_tenant(session)
    catalog = stocked_catalog(session, net)
    consumer = add_consumer(session, net, "jingan")
    scope = consumer_scope_of(session, consumer)
    order = retail_order(session, scope, catalog, 2, 1).order
    payment = intents.start_payment(session, scope=scope, order_id=order.id, gateway=gateway)
    return net, order, payment


def deliver(session, gateway, event_type, obj):
    event = stripe_event(event_type, obj)
    webhooks.store(session, event)
    outcome = webhooks.process(session, event_id=event["id"], gateway=gateway)
    return outcome


def _paid(session, gateway, standin, payment):
    pi = standin.state.succeed(payment.gateway_ref)
    assert deliver(session, gateway, "payment_intent.succeeded", pi) == "paid"
    return pi


def _state(session, net, order, payment):
    use_scope(session, system_scope(net.tenant.id))
    order = session.get(type(order), (net.tenant.id, order.id), populate_existing=True)
    payment = session.get(Payment, (net.tenant.id, payment.id), populate_existing=True)
    return order, payment


def _books(session, net):
    use_scope(session, system_scope(net.tenant.id))
    relay_pending(session, tenant_id=net.tenant.id)
    totals: dict = {}
    for b in account_balances(session, system_scope(net.tenant.id)):
        totals[b.account.code] = totals.get(b.account.code, 0) + b.balance
    assert trial_balance(session, net.tenant.id) == 0
    return totals


def test_a_dashboard_refund_reported_by_charge_refunded_is_listed_from_the_gateway_and_booked(
        session, shop, gateway, standin):
    net, order, payment = shop
    pi = _paid(session, gateway, standin, payment)
    standin.state.refund_from_dashboard(pi["id"], 3_000)
    charge = standin.state.charge(pi["id"])
    assert "refunds" not in charge
    assert deliver(session, gateway, "charge.refunded", charge) == "settled"
    assert standin.state.calls("GET", "/v1/refunds")
    order, payment = _state(session, net, order, payment)
    assert (order.status, order.refunded_minor, payment.refunded_minor) == (OrderStatus.paid, 3_000, 3_000)
    (refund,) = session.scalars(select(Refund).where(Refund.order_id == order.id)).all()
    assert refund.status is RefundStatus.refunded and refund.amount_minor == 3_000
    books = _books(session, net)
    assert books[A.sales_returns] == -3_000


def test_refund_events_delivered_twice_and_in_any_order_book_the_refund_once(session, shop, gateway, standin):
    net, order, payment = shop
    pi = _paid(session, gateway, standin, payment)
    refund = standin.state.refund_from_dashboard(pi["id"], 1_000)
    for event_type, obj in (("refund.updated", refund), ("charge.refunded", standin.state.charge(pi["id"])),
                            ("refund.created", refund), ("refund.updated", refund)):
        deliver(session, gateway, event_type, obj)
    order, payment = _state(session, net, order, payment)
    rows = session.scalars(select(PaymentRefund).where(PaymentRefund.payment_id == payment.id)).all()
    assert len(rows) == 1
    assert order.refunded_minor == payment.refunded_minor == 1_000


def test_a_full_refund_reported_before_payment_succeeded_does_not_leave_the_order_paid(
        session, shop, gateway, standin):
    net, order, payment = shop
    pi = standin.state.succeed(payment.gateway_ref)  # paid at Stripe; our success event is late
    standin.state.refund_from_dashboard(pi["id"], pi["amount_received"])
    assert deliver(session, gateway, "charge.refunded", standin.state.charge(pi["id"])) == "settled"
    assert deliver(session, gateway, "payment_intent.succeeded", pi) == "already_processed"
    order, payment = _state(session, net, order, payment)
    assert order.status is OrderStatus.closed
    assert order.refunded_minor == order.total_minor == payment.refunded_minor
    books = _books(session, net)
    assert books[A.sales_revenue] + books[A.sales_returns] == 0


def test_a_refund_that_fails_after_succeeding_returns_to_finance_and_the_books_take_it_back(
        session, shop, gateway, standin):
    net, order, payment = shop
    _paid(session, gateway, standin, payment)
    use_scope(session, system_scope(net.tenant.id))
    refund = approve_refund(session, order, 2_000)
    with use_gateway(gateway):
        refunds.execute_refund(session, tenant_id=net.tenant.id, refund_id=refund.id, gateway=gateway)
        session.commit()
    use_scope(session, system_scope(net.tenant.id))
    row = session.scalars(select(PaymentRefund).where(PaymentRefund.refund_id == refund.id)).one()
    assert row.status is RefundExecutionStatus.succeeded
    assert _books(session, net)[A.sales_returns] == -2_000
    failed = standin.state.settle_refund(row.gateway_ref, "failed")
    assert deliver(session, gateway, "refund.updated", failed) == "settled"
    order, payment = _state(session, net, order, payment)
    session.refresh(row)
    assert row.status is RefundExecutionStatus.failed
    refund = session.get(Refund, (net.tenant.id, refund.id), populate_existing=True)
    assert refund.status is RefundStatus.refund_failed
    assert order.refunded_minor == payment.refunded_minor == 0
    assert _books(session, net)[A.sales_returns] == 0


def test_a_dispute_holds_the_funds_and_a_won_dispute_gives_them_back(session, shop, gateway, standin):
    net, order, payment = shop
    pi = _paid(session, gateway, standin, payment)
    clearing_before = _books(session, net)[A.gateway_clearing]
    dispute = standin.state.dispute(pi["id"])
    assert deliver(session, gateway, "charge.dispute.created", dispute) == "dispute_opened"
    books = _books(session, net)
    fee = standin.state.dispute_fee  # taken with the funds, booked as a gateway fee, not given back
    assert (books[A.disputed_funds], books[A.gateway_clearing]) == (
        pi["amount_received"], clearing_before - pi["amount_received"] - fee)
    won = standin.state.close_dispute(dispute["id"], "won")
    assert deliver(session, gateway, "charge.dispute.closed", won) == "dispute_won"
    assert deliver(session, gateway, "charge.dispute.closed", won) == "unchanged"
    books = _books(session, net)
    assert (books[A.disputed_funds], books[A.gateway_clearing]) == (0, clearing_before - fee)
    order, _ = _state(session, net, order, payment)
    assert order.status is OrderStatus.paid and order.refunded_minor == 0


def test_a_lost_dispute_is_money_out_and_the_order_counts_it_refunded(session, shop, gateway, standin):
    net, order, payment = shop
    pi = _paid(session, gateway, standin, payment)
    clearing_before = _books(session, net)[A.gateway_clearing]
    lost = standin.state.close_dispute(standin.state.dispute(pi["id"])["id"], "lost")
    # The created event was lost: the closing one opens and closes it.
    assert deliver(session, gateway, "charge.dispute.closed", lost) == "dispute_lost"
    order, payment = _state(session, net, order, payment)
    assert session.scalars(select(PaymentDispute.status)).one() is DisputeStatus.lost
    assert order.status is OrderStatus.closed and payment.refunded_minor == pi["amount_received"]
    books = _books(session, net)
    assert books[A.disputed_funds] == 0
    assert books[A.gateway_clearing] == clearing_before - pi["amount_received"] - standin.state.dispute_fee
    assert books[A.sales_returns] == -pi["amount_received"]


def test_a_canceled_intent_closes_its_payment_and_paying_again_makes_a_new_intent(
        session, shop, gateway, standin):
    net, order, payment = shop
    canceled = standin.state.cancel(payment.gateway_ref)
    assert deliver(session, gateway, "payment_intent.canceled", canceled) == "canceled"
    _, payment = _state(session, net, order, payment)
    assert payment.status is PaymentStatus.canceled
    consumer = session.get(Consumer, (net.tenant.id, order.buyer_consumer_id))
    again = intents.start_payment(session, scope=consumer_scope_of(session, consumer), order_id=order.id,
                                 gateway=gateway)
    assert again.gateway_ref != payment.gateway_ref
