"""Refusals of the finance package, each with its snake_case code and HTTP status."""

from app.errors import DomainError


class UnbalancedEntry(DomainError):
    status, code = 422, "unbalanced_entry"


# finance exports
class InvalidPeriod(DomainError):
    status, code = 422, "invalid_period"


class ExportNotReady(DomainError):
    status, code = 409, "export_not_ready"


class ExportLinkExpired(DomainError):
    status, code = 410, "export_link_expired"


class ExportExpired(DomainError):
    status, code = 410, "export_expired"
