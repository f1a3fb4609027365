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


# --- finance controls (finance-b): periods (InvalidPeriod above), reconciliation, invoices ------

class PeriodClosed(DomainError):
    status, code = 409, "period_closed"


class PeriodNotOver(DomainError):
    status, code = 422, "period_not_over"


class BrandFinanceOnly(DomainError):
    status, code = 403, "brand_finance_only"


class InvalidInvoiceRequest(DomainError):
    status, code = 422, "invalid_invoice_request"
