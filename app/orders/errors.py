"""Refusals of the orders package, each with its snake_case code and HTTP status."""

from app.errors import DomainError


class IllegalTransition(DomainError):
    status, code = 409, "illegal_transition"


class IdempotencyKeyReused(DomainError):
    status, code = 409, "idempotency_key_reused"


class AmountMismatch(DomainError):
    status, code = 409, "amount_mismatch"


class InvalidOrder(DomainError):
    status, code = 422, "invalid_order"


class InvalidSeller(DomainError):
    status, code = 422, "invalid_seller"


class CartFull(DomainError):
    status, code = 422, "cart_full"


class CartEmpty(DomainError):
    status, code = 422, "cart_empty"


class InvalidShipment(DomainError):
    status, code = 422, "invalid_shipment"


class RefundTooLarge(DomainError):
    status, code = 422, "refund_too_large"


class NotTheSeller(DomainError):
    status, code = 403, "not_the_seller"


class NotTheBuyer(DomainError):
    status, code = 403, "not_the_buyer"
