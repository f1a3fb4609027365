"""What happens to a refund after its claim: retries that succeed, failures and offline payouts
that wait for finance, orders that end, and B2B payment terms."""

from datetime import timedelta

import pytest
from sqlalchemy import select

from app.db import utcnow
from app.finance.journal import trial_balance
from app.finance.models import JournalEntry
from app.orders import aftersales, timeouts
from app.orders.models import Order, OrderStatus, Refund, RefundKind, RefundStatus
from app.orders.payment_hooks import mark_refund_executed
from app.orders.queries import lines_of
from app.payments import credit, intents, refund_desk, refunds, tasks
from app.payments.errors import NotSellerFinance, RefundNotActionable
from app.payments.gateway import GatewayError, use_gateway
from app.payments.models import Payment, PaymentRefund, RefundChannel, RefundExecutionStatus
from app.payments.stripe_gateway import StripeGateway
from app.platform.outbox import relay_pending
from app.tenancy.enums import Role
from app.tenancy.permissions import PermissionDenied
from app.tenancy.scope import system_scope
from tests.factories import add_consumer, consumer_scope_of, make_tenant, scope_of
from tests.integration.test_orders_fixtures import pay, retail_order, stocked_catalog, supply_order
from tests.support.payments import approve_refund, make_order
from tests.support.scope import use_scope
from tests.support.stripe_standin import RunningStandIn


class FlakyGateway:
    """The stand-in behind a network that drops a call before it leaves, or drops the answer."""

    def __init__(self, inner: StripeGateway, *, drop_requests: int = 0, drop_answers: int = 0):
        self.inner, self.name = inner, inner.name
        self.drop_requests, self.drop_answers = drop_requests, drop_answers

    def refund(self, **kwargs):
        if self.drop_requests:
            self.drop_requests -= 1
            raise GatewayError("connection reset before the request was sent")
        answer = self.inner.refund(**kwargs)
        if self.drop_answers:
            self.drop_answers -= 1
            raise GatewayError("read timeout: the gateway acted, we never heard")
        return answer

    def __getattr__(self, name):
        return getattr(self.inner, name)


@pytest.fixture
def standin():
    with RunningStandIn() as running:
        yield running


@pytest.fixture
def stripe(standin):
    return StripeGateway("sk_test_standin", api_base=standin.url, max_network_retries=0)


def _paid(session, net, stripe, standin, total=10_000):
    consumer = add_consumer(session, net, "jingan")
    order = make_order(session, net, consumer=consumer, total=total)
    payment = intents.start_payment(session, scope=consumer_scope_of(session, consumer), order_id=order.id,
                                   gateway=stripe)
    intents.payment_succeeded(session, tenant_id=net.tenant.id, gateway=stripe,
                             at_gateway=stripe.get_payment(standin.state.succeed(payment.gateway_ref)["id"]))
    use_scope(session, system_scope(net.tenant.id))
    return order, payment


def _claim_and_commit(session, net, refund, gateway, **kwargs):
    with use_gateway(gateway):
        row = refunds.execute_refund(session, tenant_id=net.tenant.id, refund_id=refund.id, **kwargs)
        session.commit()  # the send this commit enqueues runs eagerly here
    use_scope(session, system_scope(net.tenant.id))
    session.refresh(row)
    return row


def _failed_refund(session, net, stripe, standin):
    """A paid order whose approved 4,000 refund the gateway failed: (payment, refund, failed attempt)."""
    order, payment = _paid(session, net, stripe, standin)
    refund = approve_refund(session, order, 4_000)
    standin.state.refund_status = "failed"
    return payment, refund, _claim_and_commit(session, net, refund, stripe)


def _refund_status(session, refund) -> RefundStatus:
    return session.get(Refund, (refund.tenant_id, refund.id), populate_existing=True).status


# --- retries ------------------------------------------------------------------------------------

def test_a_lost_answer_is_found_at_the_gateway_by_its_key_and_never_refunded_twice(
        session, stripe, standin):
    net = make_tenant(session)
    order, payment = _paid(session, net, stripe, standin)
    refund = approve_refund(session, order, 2_500)
    row = _claim_and_commit(session, net, refund, FlakyGateway(stripe, drop_answers=1))
    assert row.status is RefundExecutionStatus.pending and row.attempts == 1 and row.gateway_ref is None
    assert len(standin.state.refunds) == 1  # the money moved; we did not hear

    assert tasks.send_pending_refunds(session, tenant_id=net.tenant.id, gateway=stripe) == {"settled": 1}
    use_scope(session, system_scope(net.tenant.id))
    session.refresh(row)
    assert row.status is RefundExecutionStatus.succeeded and row.gateway_ref in standin.state.refunds
    assert len(standin.state.refunds) == 1 and len(standin.state.calls("POST", "/v1/refunds")) == 1
    assert _refund_status(session, refund) is RefundStatus.refunded


def test_a_retry_sends_the_identical_request_under_the_same_key_and_stripe_replays_it(
        session, stripe, standin):
    net = make_tenant(session)
    order, _ = _paid(session, net, stripe, standin)
    refund = approve_refund(session, order, 1_200)
    row = _claim_and_commit(session, net, refund, FlakyGateway(stripe, drop_answers=1))
    # A retry without the look-up (the key is still live at Stripe): same body, same key, a replay.
    assert tasks.run_refund_attempt(session, tenant_id=net.tenant.id, payment_refund_id=row.id,
                                    gateway=stripe) == "settled"
    first, second = standin.state.calls("POST", "/v1/refunds")
    assert (first.form, first.idempotency_key) == (second.form, second.idempotency_key)
    assert first.form["metadata[idempotency_key]"] == f"refund:{refund.id}"
    assert not any("payment_refund_id" in key for key in first.form)
    assert len(standin.state.refunds) == 1


def test_a_request_that_never_left_is_sent_by_the_sweep_and_succeeds(session, stripe, standin):
    net = make_tenant(session)
    order, _ = _paid(session, net, stripe, standin)
    refund = approve_refund(session, order, 3_000)
    row = _claim_and_commit(session, net, refund, FlakyGateway(stripe, drop_requests=1))
    assert row.attempts == 1 and standin.state.refunds == {}
    assert tasks.send_pending_refunds(session, tenant_id=net.tenant.id, gateway=stripe) == {"settled": 1}
    assert [r["amount"] for r in standin.state.refunds.values()] == [3_000]
    assert _refund_status(session, refund) is RefundStatus.refunded


# --- failed refunds: back to a person -----------------------------------------------------------

def test_a_refund_the_gateway_fails_waits_for_finance_who_retries_it_and_it_succeeds(
        session, stripe, standin):
    net = make_tenant(session)
    payment, refund, row = _failed_refund(session, net, stripe, standin)
    assert row.status is RefundExecutionStatus.failed
    assert _refund_status(session, refund) is RefundStatus.refund_failed
    session.refresh(payment)
    assert payment.refund_reserved_minor == 0 and payment.refunded_minor == 0  # the claim is given back

    finance = scope_of(session, net, "jingan")
    assert [r.id for r in refund_desk.list_attempts(session, scope=finance).items] == [row.id]
    standin.state.refund_status = "succeeded"
    with use_gateway(stripe):
        again = refund_desk.retry(session, scope=finance, payment_refund_id=row.id,
                                  channel=RefundChannel.gateway)
        session.commit()
    use_scope(session, system_scope(net.tenant.id))
    session.refresh(again)
    assert again.status is RefundExecutionStatus.succeeded
    assert again.idempotency_key == f"refund:{refund.id}:2"
    assert _refund_status(session, refund) is RefundStatus.refunded
    assert refund_desk.list_attempts(session, scope=scope_of(session, net, "jingan")).items == []


def test_a_failed_attempt_made_again_is_not_retried_a_second_time(session, stripe, standin):
    net = make_tenant(session)
    _, _, row = _failed_refund(session, net, stripe, standin)
    finance = scope_of(session, net, "jingan")
    refund_desk.retry(session, scope=finance, payment_refund_id=row.id, channel=RefundChannel.offline)
    session.commit()
    with pytest.raises(RefundNotActionable):
        refund_desk.retry(session, scope=scope_of(session, net, "jingan"), payment_refund_id=row.id,
                          channel=RefundChannel.offline)


def test_a_failed_refund_paid_back_offline_posts_to_the_journal_only_when_finance_confirms(
        session, stripe, standin):
    net = make_tenant(session)
    _, _, failed = _failed_refund(session, net, stripe, standin)
    finance = scope_of(session, net, "jingan")
    offline = refund_desk.retry(session, scope=finance, payment_refund_id=failed.id,
                                channel=RefundChannel.offline)
    assert (offline.channel, offline.status) == (RefundChannel.offline, RefundExecutionStatus.pending)
    assert [r.id for r in refund_desk.list_attempts(session, scope=finance).items] == [offline.id]
    _relay(session, net)
    assert _refund_entries(session, net) == []

    confirmed = refund_desk.confirm_offline(session, scope=scope_of(session, net, "jingan"),
                                            payment_refund_id=offline.id, reference="ICBC 2026-12-01 #7")
    assert confirmed.status is RefundExecutionStatus.succeeded and confirmed.reference == "ICBC 2026-12-01 #7"
    _relay(session, net)
    assert [e.kind for e in _refund_entries(session, net)] == ["order_refund"]
    assert trial_balance(session, net.tenant.id) == 0


def _relay(session, net):
    use_scope(session, system_scope(net.tenant.id))  # as the relay task runs
    relay_pending(session, tenant_id=net.tenant.id)


def _refund_entries(session, net):
    use_scope(session, system_scope(net.tenant.id))
    return session.scalars(select(JournalEntry).where(JournalEntry.tenant_id == net.tenant.id,
                                                      JournalEntry.kind == "order_refund")).all()


def test_a_bank_transfer_order_is_refunded_offline_pending_until_confirmed_by_the_sellers_finance(session):
    net = make_tenant(session)
    order = make_order(session, net, seller="shanghai", buyer="jingan", total=7_000)
    credit.confirm_bank_transfer(session, scope=scope_of(session, net, "shanghai"), order_id=order.id,
                                 reference="ICBC-in-1")
    refund = approve_refund(session, order, 2_000)
    row = refunds.execute_refund(session, tenant_id=net.tenant.id, refund_id=refund.id)
    assert (row.channel, row.status) == (RefundChannel.offline, RefundExecutionStatus.pending)
    _relay(session, net)
    assert _refund_entries(session, net) == []
    with pytest.raises(NotSellerFinance):  # the buyer sees the attempt but does not confirm it
        refund_desk.confirm_offline(session, scope=scope_of(session, net, "jingan"),
                                    payment_refund_id=row.id, reference="x")
    with pytest.raises(PermissionDenied):  # the seller's buyer role does not confirm money
        refund_desk.confirm_offline(session, scope=scope_of(session, net, "shanghai", Role.buyer),
                                    payment_refund_id=row.id, reference="x")
    refund_desk.confirm_offline(session, scope=scope_of(session, net, "shanghai"), payment_refund_id=row.id,
                                reference="ICBC-out-9")
    _relay(session, net)
    assert [e.kind for e in _refund_entries(session, net)] == ["order_refund"]
    use_scope(session, system_scope(net.tenant.id))
    assert session.get(Order, (net.tenant.id, order.id), populate_existing=True).refunded_minor == 2_000


# --- orders that end ----------------------------------------------------------------------------

def test_refunding_every_line_of_an_unshipped_order_refunds_the_shipping_fee_and_closes_it(session):
    net = make_tenant(session, settings={"orders": {"shipping_flat_minor": 800}})
    catalog = stocked_catalog(session, net, price=999)
    consumer = add_consumer(session, net, "jingan")
    order = retail_order(session, consumer_scope_of(session, consumer), catalog, 2, 1).order
    assert order.shipping_minor == 800 and order.total_minor == 3 * 999 + 800
    pay(session, order)
    first, second = lines_of(session, order)
    made = []
    for line in (first, second):
        refund = aftersales.request_refund(session, scope=consumer_scope_of(session, consumer),
                                           order_id=order.id, kind=RefundKind.refund_only,
                                           lines=[{"line_id": line.id, "qty": line.qty}])
        aftersales.approve_refund(session, scope=scope_of(session, net, "jingan"), refund_id=refund.id)
        made.append(refund)
    assert [(r.amount_minor, r.shipping_minor) for r in made] == [(1_998, 0), (999 + 800, 800)]
    use_scope(session, system_scope(net.tenant.id))
    for refund in made:
        mark_refund_executed(session, tenant_id=net.tenant.id, refund_id=refund.id, gateway_ref="re_x")
    session.refresh(order)
    assert order.refunded_minor == order.total_minor and order.status is OrderStatus.closed
    assert order.closed_at is not None


def test_a_partly_refunded_order_keeps_its_shipping_fee_and_stays_paid(session):
    net = make_tenant(session, settings={"orders": {"shipping_flat_minor": 800}})
    catalog = stocked_catalog(session, net, price=999)
    consumer = add_consumer(session, net, "jingan")
    order = retail_order(session, consumer_scope_of(session, consumer), catalog, 2).order
    pay(session, order)
    (line,) = lines_of(session, order)
    refund = aftersales.request_refund(session, scope=consumer_scope_of(session, consumer), order_id=order.id,
                                       kind=RefundKind.refund_only, lines=[{"line_id": line.id, "qty": 1}])
    assert refund.shipping_minor == 0
    aftersales.reject_refund(session, scope=scope_of(session, net, "jingan"), refund_id=refund.id)
    again = aftersales.request_refund(session, scope=consumer_scope_of(session, consumer), order_id=order.id,
                                      kind=RefundKind.refund_only, lines=[{"line_id": line.id, "qty": 2}])
    assert (again.amount_minor, again.shipping_minor) == (1_998 + 800, 800)  # the rejected claim was freed


def test_b2b_orders_wait_their_payment_terms_in_days_while_retail_waits_minutes(session):
    net = make_tenant(session, settings={"orders": {"payment_terms_days": 14}})
    catalog = stocked_catalog(session, net)
    consumer = add_consumer(session, net, "jingan")
    retail = retail_order(session, consumer_scope_of(session, consumer), catalog, 1).order
    replenish = supply_order(session, scope_of(session, net, "jingan"), catalog, 2).order
    use_scope(session, system_scope(net.tenant.id))
    in_an_hour = utcnow() + timedelta(hours=1)
    assert timeouts.cancel_unpaid(session, tenant=net.tenant, now=in_an_hour) == [retail.id]
    assert timeouts.cancel_unpaid(session, tenant=net.tenant, now=utcnow() + timedelta(days=13)) == []
    in_15_days = utcnow() + timedelta(days=15)
    assert timeouts.cancel_unpaid(session, tenant=net.tenant, now=in_15_days) == [replenish.id]
    session.refresh(replenish)
    assert replenish.status is OrderStatus.cancelled
    payment_rows = session.scalars(select(Payment).where(Payment.order_id == replenish.id)).all()
    assert payment_rows == []
    assert session.scalars(select(PaymentRefund).where(PaymentRefund.order_id == replenish.id)).all() == []
