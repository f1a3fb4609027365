"""Catalog error codes: what a caller may see refused, with its HTTP status."""

from app.errors import Conflict, DomainError, Forbidden


class SkuUnavailable(DomainError):
    status, code = 422, "sku_unavailable"


class NoPrice(DomainError):
    status, code = 422, "no_price"


class PriceOutOfBand(DomainError):
    status, code = 422, "price_out_of_band"


class InvalidPriceAudience(DomainError):
    status, code = 422, "invalid_price_audience"


class InvalidCategory(DomainError):
    status, code = 422, "invalid_category"


class NotAStore(DomainError):
    status, code = 422, "not_a_store"


class InsufficientStock(Conflict):
    code = "insufficient_stock"


class StockConflict(Conflict):
    """A release or shipment of more than is reserved, or a stocktake below the reserved."""

    code = "stock_conflict"


class DuplicateSku(Conflict):
    code = "duplicate_sku"


class BrandManagersOnly(Forbidden):
    code = "brand_managers_only"


class InvalidPricePeriod(DomainError):
    status, code = 422, "invalid_price_period"


class InvalidBand(DomainError):
    status, code = 422, "invalid_band"
