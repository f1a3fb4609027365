"""Retail payments through the Stripe adapter and the stand-in: paid only by a verified success."""

import pytest
from sqlalchemy import select

from app.finance.accounts import account_balances
from app.finance.journal import trial_balance
from app.finance.models import AccountCode, JournalEntry
from app.orders.models import OrderStatus
from app.payments import intents, webhooks
from app.payments.errors import NotPayable
from app.payments.gateway import use_gateway
from app.payments.models import PaymentRefund, PaymentStatus
from app.platform.outbox import relay_pending
from app.tenancy.scope import system_scope
from tests.factories import add_consumer, consumer_scope_of, make_tenant
from tests.support.payments import make_order, stripe_event
from tests.support.scope import use_scope


@pytest.fixture
def shop(session):
    net = make_tenant(session)
    consumer = add_consumer(session, net, "jingan")
    order = make_order(session, net, consumer=consumer, total=12_800)
    return net, consumer, order


def _start(session, consumer, order, gateway):
    return intents.start_payment(session, scope=consumer_scope_of(session, consumer), order_id=order.id,
                                gateway=gateway)


def _deliver(session, gateway, event_type, obj):
    event = stripe_event(event_type, obj)
    webhooks.store(session, event)
    outcome = webhooks.process(session, event_id=event["id"], gateway=gateway)
    use_scope(session, system_scope(__import__("uuid").UUID(obj["metadata"]["tenant_id"])))
    return outcome


def _succeed(session, gateway, standin, payment, **kwargs):
    return _deliver(session, gateway, "payment_intent.succeeded", standin.state.succeed(payment.gateway_ref,
                                                                                      **kwargs))


def test_starting_a_payment_creates_an_intent_and_a_pending_payment_with_its_client_secret(
        session, shop, gateway, standin):
    net, consumer, order = shop
    payment = _start(session, consumer, order, gateway)
    assert payment.status is PaymentStatus.pending and payment.client_secret.endswith("_secret_standin")
    pi = standin.state.payment_intents[payment.gateway_ref]
    assert pi["amount"] == 12_800 and pi["metadata"]["tenant_id"] == str(net.tenant.id)
    assert _start(session, consumer, order, gateway).id == payment.id  # asking again reuses it


def test_another_consumer_cannot_pay_my_order(session, shop, gateway):
    net, _, order = shop
    stranger = add_consumer(session, net, "jingan", name="李四")
    with pytest.raises(Exception) as refused:
        _start(session, stranger, order, gateway)
    assert refused.value.status == 404


def test_the_order_becomes_paid_only_from_the_verified_success_and_the_journal_balances(
        session, shop, gateway, standin):
    net, consumer, order = shop
    payment = _start(session, consumer, order, gateway)
    session.refresh(order)
    assert order.status is OrderStatus.pending_payment
    assert _succeed(session, gateway, standin, payment) == "paid"
    session.refresh(order)
    session.refresh(payment)
    assert order.status is OrderStatus.paid and payment.status is PaymentStatus.succeeded
    assert payment.charge_ref.startswith("ch_")
    relay_pending(session, tenant_id=net.tenant.id)
    use_scope(session, system_scope(net.tenant.id))
    balances = {b.account.code: b.balance for b in account_balances(session, system_scope(net.tenant.id))}
    fee = round(12_800 * 0.029) + 30
    assert balances[AccountCode.sales_revenue] == 12_800
    assert balances[AccountCode.gateway_clearing] == 12_800 - fee
    assert balances[AccountCode.gateway_fees] == fee
    assert trial_balance(session, net.tenant.id) == 0


def test_a_success_delivered_twice_pays_once(session, shop, gateway, standin):
    net, consumer, order = shop
    payment = _start(session, consumer, order, gateway)
    pi = standin.state.succeed(payment.gateway_ref)
    assert _deliver(session, gateway, "payment_intent.succeeded", pi) == "paid"
    assert _deliver(session, gateway, "payment_intent.succeeded", pi) == "already_processed"


def test_a_wrong_amount_flags_the_payment_and_leaves_the_order_unpaid(session, shop, gateway, standin):
    net, consumer, order = shop
    payment = _start(session, consumer, order, gateway)
    assert _succeed(session, gateway, standin, payment, amount=100) == "amount_mismatch"
    session.refresh(order)
    session.refresh(payment)
    assert payment.status is PaymentStatus.amount_mismatch and order.status is OrderStatus.pending_payment


def test_a_failed_attempt_is_recorded_and_a_later_success_still_pays(session, shop, gateway, standin):
    net, consumer, order = shop
    payment = _start(session, consumer, order, gateway)
    failed = standin.state.fail(payment.gateway_ref)
    assert _deliver(session, gateway, "payment_intent.payment_failed", failed) == "failed"
    session.refresh(payment)
    assert payment.status is PaymentStatus.failed and "declined" in payment.failure_message
    assert _succeed(session, gateway, standin, payment) == "paid"


def test_a_late_payment_for_a_cancelled_order_is_refunded_automatically(session, shop, gateway, standin):
    net, consumer, order = shop
    payment = _start(session, consumer, order, gateway)
    use_scope(session, system_scope(net.tenant.id))
    order.status = OrderStatus.cancelled
    session.flush()
    assert _succeed(session, gateway, standin, payment) == "order_cancelled"
    assert standin.state.calls("POST", "/v1/refunds") == []  # claimed; asked once the claim commits
    with use_gateway(gateway):
        session.commit()
    use_scope(session, system_scope(net.tenant.id))
    session.refresh(payment)
    assert payment.status is PaymentStatus.refunded and payment.refunded_minor == 12_800
    (call,) = standin.state.calls("POST", "/v1/refunds")
    assert call.form["amount"] == "12800" and call.idempotency_key.endswith(f"auto:{payment.id}")
    assert trial_balance(session, net.tenant.id) == 0


def test_paying_an_order_twice_refunds_the_second_payment(session, shop, gateway, standin):
    net, consumer, order = shop
    first = _start(session, consumer, order, gateway)
    assert _succeed(session, gateway, standin, first) == "paid"
    # A second intent made before the first was paid (another tab, an older app version):
    second_pi = gateway.create_payment(amount_minor=12_800, currency="CNY", order_id=str(order.id),
                                       tenant_id=str(net.tenant.id), idempotency_key="second-tab")
    from app.payments.models import Payment

    use_scope(session, system_scope(net.tenant.id))
    second = Payment(tenant_id=net.tenant.id, order_id=order.id, gateway="stripe", gateway_ref=second_pi.id,
                     status=PaymentStatus.pending, amount_minor=12_800, currency="CNY",
                     owner_path=order.owner_path, seller_path=order.seller_path,
                     buyer_consumer_id=consumer.id)
    session.add(second)
    session.flush()
    assert _succeed(session, gateway, standin, second) == "duplicate_payment"
    refunds = session.scalars(select(PaymentRefund).where(PaymentRefund.payment_id == second.id)).all()
    assert [r.amount_minor for r in refunds] == [12_800]
    session.refresh(order)
    assert order.status is OrderStatus.paid


def test_a_paid_order_cannot_start_another_payment(session, shop, gateway, standin):
    net, consumer, order = shop
    _succeed(session, gateway, standin, _start(session, consumer, order, gateway))
    with pytest.raises(NotPayable):
        _start(session, consumer, order, gateway)


def test_journal_entries_of_a_payment_are_posted_once_however_often_events_are_relayed(
        session, shop, gateway, standin):
    net, consumer, order = shop
    _succeed(session, gateway, standin, _start(session, consumer, order, gateway))
    relay_pending(session, tenant_id=net.tenant.id)
    relay_pending(session, tenant_id=net.tenant.id)
    use_scope(session, system_scope(net.tenant.id))
    kinds = session.scalars(select(JournalEntry.kind).where(JournalEntry.tenant_id == net.tenant.id)).all()
    # a store's sale paid into the brand's account also books what the brand owes the store (分账)
    assert sorted(kinds) == ["gateway_fee", "order_payment", "store_takings"]
