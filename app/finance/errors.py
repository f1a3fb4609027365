"""Refusals of the finance package, each with its snake_case code and HTTP status."""

from app.errors import DomainError


class UnbalancedEntry(DomainError):
    status, code = 422, "unbalanced_entry"
