"""The Stripe adapter against the local stand-in: the requests Stripe documents, idempotent writes."""

import pytest

from app.payments.gateway import GatewayError
from app.payments.stripe_gateway import StripeGateway


def _paid_intent(gateway, standin, amount=10_000):
    payment = gateway.create_payment(amount_minor=amount, currency="CNY", order_id="ord-1",
                                     tenant_id="ten-1", idempotency_key="tm:ten-1:payment:p1")
    standin.state.succeed(payment.id)
    return gateway.get_payment(payment.id)


def test_a_payment_intent_carries_amount_currency_transfer_group_and_our_ids(gateway, standin):
    payment = gateway.create_payment(amount_minor=12_345, currency="CNY", order_id="ord-1",
                                     tenant_id="ten-1", idempotency_key="tm:ten-1:payment:p1")
    (call,) = standin.state.calls("POST", "/v1/payment_intents")
    assert call.form["amount"] == "12345" and call.form["currency"] == "cny"
    assert call.form["transfer_group"] == "ord-1"
    assert call.form["metadata[order_id]"] == "ord-1" and call.form["metadata[tenant_id]"] == "ten-1"
    assert call.idempotency_key == "tm:ten-1:payment:p1"
    assert call.authorization == "Bearer sk_test_standin"
    assert payment.client_secret and payment.status == "requires_payment_method"
    assert payment.currency == "CNY" and payment.metadata["order_id"] == "ord-1"


def test_repeating_a_create_with_the_same_idempotency_key_returns_the_same_intent(gateway, standin):
    first = gateway.create_payment(amount_minor=500, currency="CNY", order_id="o", tenant_id="t",
                                   idempotency_key="same")
    again = gateway.create_payment(amount_minor=500, currency="CNY", order_id="o", tenant_id="t",
                                   idempotency_key="same")
    assert first.id == again.id and len(standin.state.payment_intents) == 1


def test_reusing_a_key_with_other_parameters_is_refused(gateway):
    gateway.create_payment(amount_minor=500, currency="CNY", order_id="o", tenant_id="t",
                           idempotency_key="k")
    with pytest.raises(GatewayError):
        gateway.create_payment(amount_minor=501, currency="CNY", order_id="o", tenant_id="t",
                               idempotency_key="k")


def test_fetching_an_intent_reports_its_charge_once_paid(gateway, standin):
    payment = _paid_intent(gateway, standin)
    assert payment.status == "succeeded" and payment.latest_charge.startswith("ch_")
    assert payment.amount_received_minor == 10_000
    assert standin.state.calls("GET", "/v1/payment_intents/")


def test_partial_refunds_are_idempotent_per_refund_and_capped_by_the_charge(gateway, standin):
    payment = _paid_intent(gateway, standin)
    first = gateway.refund(payment_id=payment.id, amount_minor=3_000, idempotency_key="r1",
                           metadata={"refund_id": "r1"})
    assert gateway.refund(payment_id=payment.id, amount_minor=3_000, idempotency_key="r1",
                          metadata={"refund_id": "r1"}).id == first.id
    gateway.refund(payment_id=payment.id, amount_minor=7_000, idempotency_key="r2", metadata={})
    with pytest.raises(GatewayError):
        gateway.refund(payment_id=payment.id, amount_minor=1, idempotency_key="r3", metadata={})
    call = standin.state.calls("POST", "/v1/refunds")[0]
    assert call.form["payment_intent"] == payment.id and call.form["amount"] == "3000"
    assert first.status == "succeeded" and first.payment_id == payment.id


def test_a_transfer_takes_the_charge_as_source_transaction_and_can_be_reversed(gateway, standin):
    payment = _paid_intent(gateway, standin)
    transfer = gateway.transfer(amount_minor=2_000, currency="CNY", destination="acct_123",
                                source_charge=payment.latest_charge, transfer_group="ord-1",
                                idempotency_key="tm:t:transfer:s1", metadata={"statement_id": "s1"})
    again = gateway.transfer(amount_minor=2_000, currency="CNY", destination="acct_123",
                             source_charge=payment.latest_charge, transfer_group="ord-1",
                             idempotency_key="tm:t:transfer:s1", metadata={"statement_id": "s1"})
    assert again.id == transfer.id and len(standin.state.transfers) == 1
    call = standin.state.calls("POST", "/v1/transfers")[0]
    assert call.form["source_transaction"] == payment.latest_charge
    assert call.form["destination"] == "acct_123" and call.form["transfer_group"] == "ord-1"
    reversal = gateway.reverse_transfer(transfer_id=transfer.id, amount_minor=500, idempotency_key="rv1")
    assert reversal.transfer_id == transfer.id and reversal.amount_minor == 500
    assert standin.state.calls("POST", f"/v1/transfers/{transfer.id}/reversals")


def test_balance_transactions_report_fee_and_net_per_source(gateway, standin):
    payment = _paid_intent(gateway, standin, amount=10_000)
    (bt,) = gateway.list_balance_transactions(source=payment.latest_charge)
    assert bt.reporting_category == "charge" and bt.fee_minor == 320
    assert bt.net_minor == bt.amount_minor - bt.fee_minor == 9_680


def test_a_wrong_api_key_surfaces_as_a_gateway_error(standin):
    gateway = StripeGateway("rk_wrong", api_base=standin.url, max_network_retries=0)
    with pytest.raises(GatewayError):
        gateway.get_payment("pi_x")
