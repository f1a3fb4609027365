"""The offline gateway: bank transfers and the demo. Payments start pending; finance confirms them."""

import hashlib

from app.payments.gateway import (
    GatewayError,
    GatewayPayment,
    GatewayRefund,
    GatewayReversal,
    GatewayTransfer,
)


def _ref(prefix: str, idempotency_key: str) -> str:
    """Deterministic from the idempotency key: a retry names the same object."""
    return f"{prefix}_off_{hashlib.sha256(idempotency_key.encode()).hexdigest()[:24]}"


class OfflineGateway:
    """No money moves through us: payments wait for a confirmation, refunds are paid out by hand."""

    name = "offline"

    def create_payment(self, *, amount_minor, currency, order_id, tenant_id, idempotency_key):
        return GatewayPayment(id=_ref("pi", idempotency_key), status="pending", amount_minor=amount_minor,
                              currency=currency, metadata={"tenant_id": str(tenant_id),
                                                           "order_id": str(order_id)})

    def get_payment(self, payment_id):
        raise GatewayError("offline payments are confirmed by finance; there is nothing to fetch")

    def list_refunds(self, *, payment_id):
        return []  # nothing moves outside the app without finance recording it

    def refund(self, *, payment_id, amount_minor, idempotency_key, metadata):
        # Money is paid back by hand: pending until finance confirms it with a bank reference.
        return GatewayRefund(id=_ref("re", idempotency_key), status="pending",
                             amount_minor=amount_minor, payment_id=payment_id, metadata=metadata)

    def find_refund(self, *, payment_id, idempotency_key):
        return None  # nothing is sent anywhere: an offline refund is a row waiting for finance

    def transfer(self, *, amount_minor, currency, destination, source_charge, transfer_group,
                 idempotency_key, metadata):
        return GatewayTransfer(id=_ref("tr", idempotency_key), amount_minor=amount_minor,
                               currency=currency, destination=destination)

    def reverse_transfer(self, *, transfer_id, amount_minor, idempotency_key):
        return GatewayReversal(id=_ref("trr", idempotency_key), transfer_id=transfer_id,
                               amount_minor=amount_minor)

    def list_balance_transactions(self, *, source=None, limit=100, starting_after=None, payout=None):
        return []

    def list_payouts(self, *, created_gte=None, limit=100, starting_after=None):
        return []  # bank transfers are confirmed one by one by finance: no gateway balance to pay out
