"""The payment gateway boundary: one interface, plain dataclasses, no vendor types leak out."""

from dataclasses import dataclass, field
from typing import Protocol


class GatewayError(Exception):
    """The gateway refused or failed a call; the message is safe to log."""


@dataclass(frozen=True)
class GatewayPayment:
    """A payment at the gateway (a Stripe PaymentIntent, an offline transfer)."""

    id: str
    status: str  # requires_payment_method | processing | succeeded | canceled | pending ...
    amount_minor: int
    currency: str
    client_secret: str | None = None
    latest_charge: str | None = None
    amount_received_minor: int = 0
    metadata: dict = field(default_factory=dict)


@dataclass(frozen=True)
class GatewayRefund:
    id: str
    status: str  # pending | succeeded | failed | canceled
    amount_minor: int
    payment_id: str | None = None
    metadata: dict = field(default_factory=dict)


@dataclass(frozen=True)
class GatewayTransfer:
    id: str
    amount_minor: int
    currency: str
    destination: str
    reversed: bool = False
    amount_reversed_minor: int = 0


@dataclass(frozen=True)
class GatewayReversal:
    id: str
    transfer_id: str
    amount_minor: int


@dataclass(frozen=True)
class BalanceTransaction:
    """One line of the gateway balance; reconciliation reads reporting_category, fee and net."""

    id: str
    amount_minor: int
    fee_minor: int
    net_minor: int
    currency: str
    reporting_category: str
    source: str | None
    created: int
    # The tenant the source was made for (its metadata, or its PaymentIntent's), when listed per
    # payout: one gateway account serves every tenant, and reconciliation keeps to its own.
    tenant_hint: str | None = None


@dataclass(frozen=True)
class GatewayPayoutInfo:
    """A payout from the gateway balance to the bank, as the gateway lists it."""

    id: str
    amount_minor: int
    currency: str
    status: str
    created: int
    arrival_date: int | None = None


class PaymentGateway(Protocol):
    """What payments need from a gateway; every write takes an idempotency key derived from our ids."""

    name: str

    def create_payment(self, *, amount_minor: int, currency: str, order_id: str, tenant_id: str,
                       idempotency_key: str) -> GatewayPayment: ...

    def get_payment(self, payment_id: str) -> GatewayPayment: ...

    def list_refunds(self, *, payment_id: str) -> list[GatewayRefund]:
        """Every refund of a payment as the gateway has it now (a Charge no longer embeds them)."""

    def refund(self, *, payment_id: str, amount_minor: int, idempotency_key: str,
               metadata: dict) -> GatewayRefund: ...

    def find_refund(self, *, payment_id: str, idempotency_key: str) -> GatewayRefund | None:
        """The payment's refund whose metadata carries `idempotency_key` (an answer we lost), if any."""

    def transfer(self, *, amount_minor: int, currency: str, destination: str, source_charge: str | None,
                 transfer_group: str, idempotency_key: str, metadata: dict) -> GatewayTransfer: ...

    def reverse_transfer(self, *, transfer_id: str, amount_minor: int,
                         idempotency_key: str) -> GatewayReversal: ...

    def list_balance_transactions(self, *, source: str | None = None, limit: int = 100,
                                  starting_after: str | None = None,
                                  payout: str | None = None) -> list[BalanceTransaction]:
        """One page, newest first; `payout`: the transactions that payout paid out (and itself)."""

    def list_payouts(self, *, created_gte: int | None = None, limit: int = 100,
                     starting_after: str | None = None) -> list[GatewayPayoutInfo]:
        """One page of payouts, newest first, created at or after `created_gte` (unix seconds)."""


def payment_idempotency_key(tenant_id, payment_id) -> str:
    return f"tm:{tenant_id}:payment:{payment_id}"


def refund_idempotency_key(tenant_id, refund_key) -> str:
    return f"tm:{tenant_id}:refund:{refund_key}"


def transfer_idempotency_key(tenant_id, statement_id) -> str:
    return f"tm:{tenant_id}:transfer:{statement_id}"


def gateway_from_config(config: dict) -> PaymentGateway:
    """PAYMENT_GATEWAY picks the implementation; 'offline' when no Stripe key is configured."""
    if config.get("PAYMENT_GATEWAY") == "stripe":
        from app.payments.stripe_gateway import StripeGateway  # noqa: PLC0415

        if not config.get("STRIPE_API_KEY"):
            raise GatewayError("PAYMENT_GATEWAY=stripe needs STRIPE_API_KEY")
        return StripeGateway(config["STRIPE_API_KEY"], api_base=config.get("STRIPE_API_BASE"))
    from app.payments.offline_gateway import OfflineGateway  # noqa: PLC0415

    return OfflineGateway()


_override: list[PaymentGateway] = []


def stand_in() -> PaymentGateway | None:
    """The gateway a test or CLI installed with use_gateway, if any."""
    return _override[-1] if _override else None


def current_gateway() -> PaymentGateway:
    """The app's gateway (cached per app), or the one a test installed with use_gateway."""
    if _override:
        return _override[-1]
    from flask import current_app  # noqa: PLC0415  (infrastructure, not a service)

    cached = current_app.extensions.get("payment_gateway")
    if cached is None:
        cached = current_app.extensions["payment_gateway"] = gateway_from_config(current_app.config)
    return cached


class use_gateway:  # noqa: N801  (reads as a context manager)
    """Install a gateway for a block (tests, CLI)."""

    def __init__(self, gateway: PaymentGateway):
        self.gateway = gateway

    def __enter__(self) -> PaymentGateway:
        _override.append(self.gateway)
        return self.gateway

    def __exit__(self, *exc) -> None:
        _override.remove(self.gateway)
