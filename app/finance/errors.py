"""Refusals of the finance package, each with its snake_case code and HTTP status."""

from app.errors import DomainError, Forbidden


class FinanceOnly(Forbidden):
    code = "finance_only"


class UnbalancedEntry(DomainError):
    status, code = 422, "unbalanced_entry"
