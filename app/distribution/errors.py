"""Refusals of the distribution package, each with its snake_case code and HTTP status."""

from app.errors import Conflict, DomainError, Forbidden


class NotAPromoter(DomainError):
    status, code = 404, "not_a_promoter"


class PromoterNotActive(Conflict):
    code = "promoter_not_active"


class PromotersClosed(Forbidden):
    code = "promoters_closed"  # the tenant lets nobody apply


class SpendThresholdNotMet(DomainError):
    status, code = 422, "spend_threshold_not_met"


class AlreadyDecided(Conflict):
    code = "promoter_already_decided"


class SelfBinding(DomainError):
    status, code = 422, "self_binding"


class BindingCycle(DomainError):
    status, code = 422, "binding_cycle"


class CustomerProtected(Conflict):
    code = "customer_protected"  # 抢客保护: another promoter holds the customer for now


class InvalidCommissionRule(DomainError):
    status, code = 422, "invalid_commission_rule"


class BrandOnly(Forbidden):
    code = "brand_only"
