"""POST /webhooks/stripe: Stripe's signature scheme, storage by event id, duplicates, parallel deliveries."""

import threading
import time
import uuid

import pytest
from sqlalchemy import select, text

from app.extensions import db
from app.orders.models import Order, OrderStatus
from app.payments.gateway import use_gateway
from app.payments.models import GatewayPayout, Payment, PaymentStatus, WebhookEvent
from app.payments.stripe_gateway import StripeGateway
from app.platform.models import OutboxEvent
from app.tenancy.scope import PLATFORM_SCOPE, system_scope
from tests.factories import add_consumer, make_tenant
from tests.support.committed import delete_tenant
from tests.support.payments import WEBHOOK_SECRET, make_order, signed, stripe_event
from tests.support.scope import use_scope
from tests.support.stripe_standin import RunningStandIn


@pytest.fixture
def stripe_env(app):
    """The stand-in as the gateway and our webhook secret, for one test."""
    previous = app.config.get("STRIPE_WEBHOOK_SECRET")
    app.config["STRIPE_WEBHOOK_SECRET"] = WEBHOOK_SECRET
    with RunningStandIn() as standin, use_gateway(
            StripeGateway("sk_test_standin", api_base=standin.url, max_network_retries=0)) as gateway:
        yield standin, gateway
    app.config["STRIPE_WEBHOOK_SECRET"] = previous


def _pending_payment(session, net, gateway, total=5_000):
    consumer = add_consumer(session, net, "jingan")
    order = make_order(session, net, consumer=consumer, total=total)
    at_gateway = gateway.create_payment(amount_minor=total, currency="CNY", order_id=str(order.id),
                                        tenant_id=str(net.tenant.id), idempotency_key=f"k-{order.id}")
    payment = Payment(tenant_id=net.tenant.id, order_id=order.id, gateway="stripe", gateway_ref=at_gateway.id,
                      status=PaymentStatus.pending, amount_minor=total, currency="CNY",
                      owner_path=order.owner_path, seller_path=order.seller_path,
                      buyer_consumer_id=consumer.id)
    session.add(payment)
    session.flush()
    return order, payment


def _stored(session, event_id):
    use_scope(session, PLATFORM_SCOPE)
    return session.get(WebhookEvent, event_id)


def test_a_signed_success_is_stored_processed_and_pays_the_order(client, session, stripe_env):
    standin, gateway = stripe_env
    net = make_tenant(session)
    order, payment = _pending_payment(session, net, gateway)
    event = stripe_event("payment_intent.succeeded", standin.state.succeed(payment.gateway_ref))
    body, headers = signed(event)
    response = client.post("/webhooks/stripe", data=body, headers=headers)
    assert response.status_code == 200, response.get_json()
    assert response.get_json() == {"received": True, "duplicate": False}
    stored = _stored(session, event["id"])
    assert stored.outcome == "paid" and stored.tenant_id == net.tenant.id and stored.processed_at
    use_scope(session, system_scope(net.tenant.id))
    session.refresh(order)
    assert order.status is OrderStatus.paid


def test_a_duplicate_delivery_answers_200_and_changes_nothing(client, session, stripe_env):
    standin, gateway = stripe_env
    net = make_tenant(session)
    _, payment = _pending_payment(session, net, gateway)
    pi = standin.state.succeed(payment.gateway_ref)
    body, headers = signed(stripe_event("payment_intent.succeeded", pi))
    client.post("/webhooks/stripe", data=body, headers=headers)
    again = client.post("/webhooks/stripe", data=body, headers=headers)
    assert again.status_code == 200 and again.get_json()["duplicate"] is True
    use_scope(session, system_scope(net.tenant.id))
    paid_events = session.scalars(select(OutboxEvent).where(
        OutboxEvent.tenant_id == net.tenant.id, OutboxEvent.type == "order.paid")).all()
    assert len(paid_events) == 1


@pytest.mark.parametrize("tamper", ["wrong_secret", "changed_body", "stale", "missing"])
def test_a_delivery_that_stripe_did_not_sign_just_now_is_refused_400(client, session, stripe_env, tamper):
    event = stripe_event("payment_intent.succeeded", {"id": "pi_x", "metadata": {}})
    now = int(time.time())
    body, headers = signed(event, secret="whsec_other" if tamper == "wrong_secret" else WEBHOOK_SECRET,
                           timestamp=now - 301 if tamper == "stale" else now)
    if tamper == "changed_body":
        body = body.replace(b"pi_x", b"pi_y")
    if tamper == "missing":
        headers.pop("Stripe-Signature")
    response = client.post("/webhooks/stripe", data=body, headers=headers)
    assert response.status_code == 400
    assert response.get_json()["code"] == "invalid_signature"
    assert _stored(session, event["id"]) is None


def test_an_unknown_event_type_is_stored_and_ignored(client, session, stripe_env):
    event = stripe_event("customer.created", {"id": "cus_1", "object": "customer"})
    body, headers = signed(event)
    assert client.post("/webhooks/stripe", data=body, headers=headers).status_code == 200
    assert _stored(session, event["id"]).outcome == "ignored"


def test_a_payout_that_fails_after_being_paid_ends_failed_whatever_the_delivery_order(
        client, session, stripe_env):
    payout = {"id": f"po_{uuid.uuid4().hex[:10]}", "object": "payout", "amount": 90_000, "currency": "cny"}
    failed = stripe_event("payout.failed", {**payout, "status": "failed", "failure_code": "account_closed"})
    paid = stripe_event("payout.paid", {**payout, "status": "paid"})
    for event in (failed, paid):  # the failure arrives first, the older 'paid' after it
        body, headers = signed(event)
        assert client.post("/webhooks/stripe", data=body, headers=headers).status_code == 200
    use_scope(session, PLATFORM_SCOPE)
    stored = session.get(GatewayPayout, payout["id"])
    assert stored.status == "failed" and stored.failure_code == "account_closed"


def test_transfer_events_are_forwarded_to_their_tenant_through_the_outbox(client, session, stripe_env):
    net = make_tenant(session)
    event = stripe_event("transfer.reversed", {
        "id": "tr_1", "object": "transfer", "amount": 500, "amount_reversed": 500, "destination": "acct_9",
        "metadata": {"tenant_id": str(net.tenant.id), "statement_id": "s-1"}})
    body, headers = signed(event)
    assert client.post("/webhooks/stripe", data=body, headers=headers).status_code == 200
    use_scope(session, system_scope(net.tenant.id))
    forwarded = session.scalars(select(OutboxEvent).where(
        OutboxEvent.tenant_id == net.tenant.id, OutboxEvent.type == "payment.transfer_reversed")).one()
    assert forwarded.payload["metadata"]["statement_id"] == "s-1"


def test_without_a_configured_secret_webhooks_answer_503(client, session, app):
    previous = app.config.get("STRIPE_WEBHOOK_SECRET")
    app.config["STRIPE_WEBHOOK_SECRET"] = None
    try:
        response = client.post("/webhooks/stripe", data=b"{}")
    finally:
        app.config["STRIPE_WEBHOOK_SECRET"] = previous
    assert response.status_code == 503 and response.get_json()["code"] == "webhooks_not_configured"


# --- ten parallel deliveries, real connections, committed -------------------------------------




@pytest.mark.postgres
def test_ten_parallel_deliveries_of_one_event_change_state_once(app, stripe_env):
    standin, gateway = stripe_env
    with app.app_context():
        net = make_tenant(db.session)
        order, payment = _pending_payment(db.session, net, gateway)
        db.session.commit()
        tenant_id, order_id = net.tenant.id, order.id
        db.session.remove()
    event = stripe_event("payment_intent.succeeded", standin.state.succeed(payment.gateway_ref))
    body, headers = signed(event)
    statuses, barrier = [], threading.Barrier(10)

    def deliver():
        client = app.test_client()
        barrier.wait()
        statuses.append(client.post("/webhooks/stripe", data=body, headers=headers).status_code)

    threads = [threading.Thread(target=deliver) for _ in range(10)]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
        assert statuses == [200] * 10
        with app.app_context():
            use_scope(db.session, system_scope(tenant_id))
            assert db.session.get(Order, (tenant_id, order_id)).status is OrderStatus.paid
            paid = db.session.scalars(select(OutboxEvent).where(
                OutboxEvent.tenant_id == tenant_id, OutboxEvent.type == "order.paid")).all()
            kinds = db.session.scalars(text("SELECT kind FROM journal_entries WHERE tenant_id = :t"
                                            " ORDER BY kind"), {"t": tenant_id}).all()
            db.session.remove()
        assert len(paid) == 1
        # the eager relay ran the journal handlers once (a store sold it: its takings too, 分账)
        assert kinds == ["gateway_fee", "order_payment", "store_takings"]
        assert len(standin.state.calls("GET", "/v1/balance_transactions")) == 1
    finally:
        delete_tenant(tenant_id, webhook_event_ids=(event["id"],))
