"""Refunds through the gateway (partial, idempotent, asynchronous) and B2B credit on account."""

import uuid
from datetime import timedelta

import pytest
from sqlalchemy import select

from app.finance.accounts import account_balances
from app.finance.journal import trial_balance
from app.finance.models import AccountCode
from app.orders.models import OrderStatus, Refund, RefundStatus
from app.payments import credit, intents, refunds, webhooks
from app.payments.errors import CreditLimitExceeded, InvalidRepayment, NotSellerFinance
from app.payments.gateway import use_gateway
from app.payments.models import CreditEntry, PaymentRefund, RefundExecutionStatus
from app.platform.outbox import relay_pending
from app.tenancy.enums import Role
from app.tenancy.permissions import PermissionDenied
from app.tenancy.scope import system_scope
from tests.factories import add_consumer, consumer_scope_of, make_tenant, scope_of
from tests.support.payments import approve_refund, make_order, stripe_event
from tests.support.scope import use_scope


def _status(session, net, refund) -> RefundStatus:
    return session.get(Refund, (net.tenant.id, refund.id), populate_existing=True).status


def _execute(session, net, refund, gateway):
    """Claim the refund, commit, and let the send that the commit enqueues ask the gateway."""
    with use_gateway(gateway):
        row = refunds.execute_refund(session, tenant_id=net.tenant.id, refund_id=refund.id, gateway=gateway)
        session.commit()
    use_scope(session, system_scope(net.tenant.id))
    session.refresh(row)
    return row


def _paid_retail_order(session, net, gateway, standin, total=10_000):
    consumer = add_consumer(session, net, "jingan")
    order = make_order(session, net, consumer=consumer, total=total)
    payment = intents.start_payment(session, scope=consumer_scope_of(session, consumer), order_id=order.id,
                                   gateway=gateway)
    intents.payment_succeeded(session, tenant_id=net.tenant.id, gateway=gateway,
                             at_gateway=gateway.get_payment(standin.state.succeed(payment.gateway_ref)["id"]))
    use_scope(session, system_scope(net.tenant.id))
    return order, payment


def test_two_partial_refunds_move_money_once_each_and_the_order_records_them(session, gateway, standin):
    net = make_tenant(session)
    order, payment = _paid_retail_order(session, net, gateway, standin)
    first, second = approve_refund(session, order, 3_000), approve_refund(session, order, 2_000)
    for refund in (first, second, first):  # the first one is handled again: nothing more happens
        _execute(session, net, refund, gateway)
    calls = standin.state.calls("POST", "/v1/refunds")
    assert [c.form["amount"] for c in calls] == ["3000", "2000"]
    assert calls[0].form["payment_intent"] == payment.gateway_ref
    session.refresh(order)
    assert order.refunded_minor == 5_000
    assert _status(session, net, first) is RefundStatus.refunded


def test_the_order_refunded_event_posts_the_refund_to_the_journal(session, gateway, standin):
    net = make_tenant(session)
    order, _ = _paid_retail_order(session, net, gateway, standin)
    refund = approve_refund(session, order, 4_000)
    _execute(session, net, refund, gateway)
    relay_pending(session, tenant_id=net.tenant.id)
    balances = {b.account.code: b.balance for b in account_balances(session, system_scope(net.tenant.id))}
    assert balances[AccountCode.sales_returns] == -4_000  # contra-revenue: a debit balance
    assert balances[AccountCode.sales_revenue] == 10_000
    assert trial_balance(session, net.tenant.id) == 0


def test_a_pending_refund_completes_the_order_side_only_when_refund_updated_says_succeeded(
        session, gateway, standin):
    net = make_tenant(session)
    order, _ = _paid_retail_order(session, net, gateway, standin)
    standin.state.refund_status = "pending"
    refund = approve_refund(session, order, 1_500)
    row = _execute(session, net, refund, gateway)
    assert row.status is RefundExecutionStatus.pending and row.gateway_ref
    assert session.get(Refund, (net.tenant.id, refund.id)).status is RefundStatus.refund_approved
    settled = standin.state.settle_refund(row.gateway_ref)
    event = stripe_event("refund.updated", settled)
    webhooks.store(session, event)
    assert webhooks.process(session, event_id=event["id"], gateway=gateway) == "settled"
    use_scope(session, system_scope(net.tenant.id))
    session.refresh(row)
    assert row.status is RefundExecutionStatus.succeeded
    assert _status(session, net, refund) is RefundStatus.refunded


def test_a_charge_refunded_before_the_payment_succeeded_event_catches_the_payment_up_first(
        session, gateway, standin):
    net = make_tenant(session)
    consumer = add_consumer(session, net, "jingan")
    order = make_order(session, net, consumer=consumer, total=8_000)
    payment = intents.start_payment(session, scope=consumer_scope_of(session, consumer), order_id=order.id,
                                   gateway=gateway)
    pi = standin.state.succeed(payment.gateway_ref)
    event = stripe_event("charge.refunded", standin.state.charge(pi["id"]))  # no `refunds` list since 2022-11
    webhooks.store(session, event)
    webhooks.process(session, event_id=event["id"], gateway=gateway)
    use_scope(session, system_scope(net.tenant.id))
    session.refresh(order)
    assert order.status is OrderStatus.paid  # re-fetched through the gateway: the success counted
    late = stripe_event("payment_intent.succeeded", pi)
    webhooks.store(session, late)
    assert webhooks.process(session, event_id=late["id"], gateway=gateway) == "already_processed"


def test_the_approved_refund_event_executes_the_refund_through_the_current_gateway(session, gateway, standin):
    net = make_tenant(session)
    order, _ = _paid_retail_order(session, net, gateway, standin)
    refund = approve_refund(session, order, 2_500)
    from app.platform.outbox import record_event

    record_event(session, tenant_id=net.tenant.id, owner_path=order.owner_path, type="order.refund_approved",
                 subject_id=order.id, payload={"refund_id": str(refund.id), "order_id": str(order.id),
                                               "amount_minor": 2_500, "lines": []})
    with use_gateway(gateway):
        relay_pending(session, tenant_id=net.tenant.id)
        relay_pending(session, tenant_id=net.tenant.id)
        assert standin.state.calls("POST", "/v1/refunds") == []  # nothing leaves before the claim commits
        session.commit()
    use_scope(session, system_scope(net.tenant.id))
    assert len(standin.state.calls("POST", "/v1/refunds")) == 1
    assert _status(session, net, refund) is RefundStatus.refunded


# --- credit on account --------------------------------------------------------------------------

def _credit(session, net, limit):
    return credit.set_credit_limit(session, scope=scope_of(session, net, "shanghai"),
                                   buyer_org_id=net.org("jingan").id, limit_minor=limit)


def test_a_seller_grants_credit_and_the_buyer_pays_orders_on_it_up_to_the_limit(session):
    net = make_tenant(session)
    account = _credit(session, net, 15_000)
    first = make_order(session, net, seller="shanghai", buyer="jingan", total=10_000)
    second = make_order(session, net, seller="shanghai", buyer="jingan", total=6_000)
    credit.pay_on_credit(session, scope=scope_of(session, net, "jingan"), order_id=first.id)
    with pytest.raises(CreditLimitExceeded) as refused:
        credit.pay_on_credit(session, scope=scope_of(session, net, "jingan"), order_id=second.id)
    assert refused.value.status == 422 and refused.value.code == "credit_limit_exceeded"
    use_scope(session, system_scope(net.tenant.id))
    session.refresh(account)
    session.refresh(first)
    assert account.used_minor == 10_000 and first.status is OrderStatus.paid


def test_only_the_sellers_finance_may_set_a_limit(session):
    net = make_tenant(session)
    with pytest.raises(NotSellerFinance):
        credit.set_credit_limit(session, scope=scope_of(session, net, "east"),
                                buyer_org_id=net.org("jingan").id, limit_minor=1)
    with pytest.raises(PermissionDenied):
        credit.set_credit_limit(session, scope=scope_of(session, net, "shanghai", Role.buyer),
                                buyer_org_id=net.org("jingan").id, limit_minor=1)


def test_repayments_settle_the_oldest_charges_first_and_the_aged_statement_buckets_what_is_owed(session):
    net = make_tenant(session)
    account = _credit(session, net, 100_000)
    orders = [make_order(session, net, seller="shanghai", buyer="jingan", total=t) for t in (10_000, 20_000)]
    for order in orders:
        credit.pay_on_credit(session, scope=scope_of(session, net, "jingan"), order_id=order.id)
    use_scope(session, system_scope(net.tenant.id))
    old = session.scalars(select(CreditEntry).where(CreditEntry.order_id == orders[0].id)).one()
    old.created_at = old.created_at - timedelta(days=45)
    session.flush()
    seller = scope_of(session, net, "shanghai")
    credit.record_repayment(session, scope=seller, account_id=account.id, amount_minor=4_000, reference="r1")
    (aged,) = credit.aged_statement(session, scope=seller)
    assert aged.buckets == {"0-30": 20_000, "31-60": 6_000, "61-90": 0, "90+": 0}
    assert aged.total_minor == 26_000 == aged.account.used_minor
    with pytest.raises(InvalidRepayment):
        credit.record_repayment(session, scope=seller, account_id=account.id, amount_minor=26_001,
                                reference="too much")
    use_scope(session, system_scope(net.tenant.id))  # the relay runs as the system, as its task does
    relay_pending(session, tenant_id=net.tenant.id)
    sellers_books = account_balances(session, system_scope(net.tenant.id), org_id=net.org("shanghai").id)
    balances = {(b.account.code, b.account.counterparty_org_id): b.balance for b in sellers_books}
    assert balances[(AccountCode.receivable, net.org("jingan").id)] == 26_000
    assert balances[(AccountCode.cash, None)] == 4_000
    assert trial_balance(session, net.tenant.id) == 0


def test_a_refund_of_an_order_paid_on_credit_lowers_what_the_buyer_owes(session):
    net = make_tenant(session)
    account = _credit(session, net, 50_000)
    order = make_order(session, net, seller="shanghai", buyer="jingan", total=9_000)
    credit.pay_on_credit(session, scope=scope_of(session, net, "jingan"), order_id=order.id)
    refund = approve_refund(session, order, 3_000)
    row = refunds.execute_refund(session, tenant_id=net.tenant.id, refund_id=refund.id, gateway=None)
    assert row.status is RefundExecutionStatus.succeeded
    session.refresh(account)
    assert account.used_minor == 6_000
    assert _status(session, net, refund) is RefundStatus.refunded


def test_the_seller_confirms_a_bank_transfer_and_the_order_is_paid(session):
    net = make_tenant(session)
    order = make_order(session, net, seller="shanghai", buyer="jingan", total=7_000)
    with pytest.raises(NotSellerFinance):
        credit.confirm_bank_transfer(session, scope=scope_of(session, net, "jingan"), order_id=order.id,
                                     reference="ICBC-1")
    payment = credit.confirm_bank_transfer(session, scope=scope_of(session, net, "shanghai"),
                                           order_id=order.id, reference="ICBC-1")
    use_scope(session, system_scope(net.tenant.id))
    session.refresh(order)
    assert order.status is OrderStatus.paid and payment.reference == "ICBC-1"
    assert order.payment_method.value == "offline"
    assert session.scalars(select(PaymentRefund)).all() == []
    assert isinstance(payment.id, uuid.UUID)
