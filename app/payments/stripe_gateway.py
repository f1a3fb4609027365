"""The Stripe adapter: the only module in the project that imports `stripe`."""

import json

import stripe

from app.payments.gateway import (
    BalanceTransaction,
    GatewayError,
    GatewayPayment,
    GatewayPayoutInfo,
    GatewayRefund,
    GatewayReversal,
    GatewayTransfer,
)


class InvalidWebhookSignature(GatewayError):
    """The payload is not signed with our endpoint secret, or the signature is too old."""


def verify_webhook(payload: bytes, signature_header: str | None, secret: str,
                   tolerance_seconds: int) -> dict:
    """The event as a plain dict, once Stripe's signature scheme says it is ours and fresh."""
    try:
        stripe.Webhook.construct_event(payload, signature_header, secret, tolerance=tolerance_seconds)
    except (stripe.SignatureVerificationError, ValueError) as error:
        raise InvalidWebhookSignature(str(error)) from error
    return json.loads(payload)


def _payment(pi) -> GatewayPayment:
    return GatewayPayment(
        id=pi["id"], status=pi["status"], amount_minor=int(pi["amount"]),
        currency=str(pi["currency"]).upper(), client_secret=pi.get("client_secret"),
        latest_charge=_id_of(pi.get("latest_charge")),
        amount_received_minor=int(pi.get("amount_received") or 0),
        metadata=dict(pi.get("metadata") or {}),
    )


def _refund(refund) -> GatewayRefund:
    return GatewayRefund(id=refund["id"], status=refund["status"], amount_minor=int(refund["amount"]),
                         payment_id=_id_of(refund.get("payment_intent")),
                         metadata=dict(refund.get("metadata") or {}))


def _id_of(value) -> str | None:
    """Stripe expands some references into objects; we only keep the id."""
    if value is None or isinstance(value, str):
        return value
    return value["id"]


def _tenant_of(source) -> str | None:
    """The tenant_id our metadata put on an expanded source, or on its PaymentIntent."""
    if not isinstance(source, dict):
        return None
    intent = source.get("payment_intent")
    for holder in (source, intent if isinstance(intent, dict) else {}):
        tenant = (holder.get("metadata") or {}).get("tenant_id")
        if tenant:
            return str(tenant)
    return None


class StripeGateway:
    """PaymentGateway over stripe.StripeClient (v1 API), idempotency keys on every write."""

    name = "stripe"

    def __init__(self, api_key: str, *, api_base: str | None = None, max_network_retries: int = 2):
        addresses = {"api": api_base.rstrip("/")} if api_base else None
        self.client = stripe.StripeClient(api_key, base_addresses=addresses,
                                          max_network_retries=max_network_retries)

    def _call(self, method, *args, **kwargs):
        try:
            # Plain dicts from here on: StripeObject refuses dict methods such as .get().
            return method(*args, **kwargs).to_dict()
        except stripe.StripeError as error:
            raise GatewayError(f"stripe: {error.user_message or error}") from error

    def create_payment(self, *, amount_minor, currency, order_id, tenant_id, idempotency_key):
        pi = self._call(self.client.v1.payment_intents.create, params={
            "amount": amount_minor, "currency": currency.lower(),
            "transfer_group": str(order_id),
            "metadata": {"tenant_id": str(tenant_id), "order_id": str(order_id)},
            "automatic_payment_methods": {"enabled": True},
        }, options={"idempotency_key": idempotency_key})
        return _payment(pi)

    def get_payment(self, payment_id):
        return _payment(self._call(self.client.v1.payment_intents.retrieve, payment_id))

    def list_refunds(self, *, payment_id):
        # Since API 2022-11-15 a Charge (also in webhooks) no longer carries `refunds`: list them
        # by PaymentIntent, every page.
        params, found = {"payment_intent": payment_id, "limit": 100}, []
        while True:
            page = self._call(self.client.v1.refunds.list, params=params)
            found.extend(_refund(refund) for refund in page["data"])
            if not page.get("has_more") or not page["data"]:
                return found
            params["starting_after"] = page["data"][-1]["id"]

    def refund(self, *, payment_id, amount_minor, idempotency_key, metadata):
        refund = self._call(self.client.v1.refunds.create, params={
            "payment_intent": payment_id, "amount": amount_minor,
            "metadata": {k: str(v) for k, v in metadata.items()},
        }, options={"idempotency_key": idempotency_key})
        return _refund(refund)

    def find_refund(self, *, payment_id, idempotency_key):
        # Refunds are listed by PaymentIntent (a Charge no longer embeds them since 2022-11-15).
        params = {"payment_intent": payment_id, "limit": 100}
        while True:
            page = self._call(self.client.v1.refunds.list, params=params)
            for refund in page["data"]:
                if (refund.get("metadata") or {}).get("idempotency_key") == idempotency_key:
                    return _refund(refund)
            if not page.get("has_more") or not page["data"]:
                return None
            params["starting_after"] = page["data"][-1]["id"]

    def transfer(self, *, amount_minor, currency, destination, source_charge, transfer_group,
                 idempotency_key, metadata):
        params = {"amount": amount_minor, "currency": currency.lower(), "destination": destination,
                  "transfer_group": transfer_group,
                  "metadata": {k: str(v) for k, v in metadata.items()}}
        if source_charge:
            # Ties the transfer to the charge's funds: it may run before they are available.
            params["source_transaction"] = source_charge
        transfer = self._call(self.client.v1.transfers.create, params=params,
                              options={"idempotency_key": idempotency_key})
        return GatewayTransfer(id=transfer["id"], amount_minor=int(transfer["amount"]),
                               currency=str(transfer["currency"]).upper(),
                               destination=_id_of(transfer["destination"]),
                               reversed=bool(transfer.get("reversed")),
                               amount_reversed_minor=int(transfer.get("amount_reversed") or 0))

    def reverse_transfer(self, *, transfer_id, amount_minor, idempotency_key):
        reversal = self._call(self.client.v1.transfers.reversals.create, transfer_id,
                              params={"amount": amount_minor},
                              options={"idempotency_key": idempotency_key})
        return GatewayReversal(id=reversal["id"], transfer_id=_id_of(reversal["transfer"]),
                               amount_minor=int(reversal["amount"]))

    def list_balance_transactions(self, *, source=None, limit=100, starting_after=None, payout=None):
        params = {"limit": limit}
        if source:
            params["source"] = source
        if starting_after:
            params["starting_after"] = starting_after
        if payout:
            # Per payout, reconciliation needs each source's tenant: expand it (and its intent).
            params["payout"] = payout
            params["expand"] = ["data.source", "data.source.payment_intent"]
        page = self._call(self.client.v1.balance_transactions.list, params=params)
        return [BalanceTransaction(
            id=bt["id"], amount_minor=int(bt["amount"]), fee_minor=int(bt["fee"]),
            net_minor=int(bt["net"]), currency=str(bt["currency"]).upper(),
            reporting_category=bt["reporting_category"], source=_id_of(bt.get("source")),
            created=int(bt["created"]), tenant_hint=_tenant_of(bt.get("source")),
        ) for bt in page["data"]]

    def list_payouts(self, *, created_gte=None, limit=100, starting_after=None):
        params = {"limit": limit}
        if created_gte is not None:
            params["created"] = {"gte": int(created_gte)}
        if starting_after:
            params["starting_after"] = starting_after
        page = self._call(self.client.v1.payouts.list, params=params)
        return [GatewayPayoutInfo(id=po["id"], amount_minor=int(po["amount"]),
                                  currency=str(po["currency"]).upper(), status=po["status"],
                                  created=int(po["created"]), arrival_date=po.get("arrival_date"))
                for po in page["data"]]
