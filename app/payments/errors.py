"""Refusals of the payments package, each with its snake_case code and HTTP status."""

from app.errors import DomainError


class InvalidSignature(DomainError):
    status, code = 400, "invalid_signature"


class NotPayable(DomainError):
    status, code = 409, "not_payable"


class CreditLimitExceeded(DomainError):
    status, code = 422, "credit_limit_exceeded"


class NoCreditAccount(DomainError):
    status, code = 422, "no_credit_account"


class NotSellerFinance(DomainError):
    status, code = 403, "not_seller_finance"


class NotTheBuyer(DomainError):
    status, code = 403, "not_the_buyer"


class InvalidRepayment(DomainError):
    status, code = 422, "invalid_repayment"


class GatewayUnavailable(DomainError):
    status, code = 502, "gateway_unavailable"


class WebhooksNotConfigured(DomainError):
    status, code = 503, "webhooks_not_configured"


class RefundNotActionable(DomainError):
    status, code = 409, "refund_not_actionable"
