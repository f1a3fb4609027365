"""Refusals of the platform package, each with its snake_case code and HTTP status."""

from app.errors import DomainError, Forbidden


class OutboxOperatorsOnly(Forbidden):
    code = "outbox_operators_only"


class NotDeadLettered(DomainError):
    status, code = 409, "not_dead_lettered"


class OutboxLagging(DomainError):
    status, code = 503, "outbox_lagging"


class InvalidMetricsToken(DomainError):
    status, code = 401, "invalid_metrics_token"
