"""Refusals of coupons, the checkout waterfall and the points mall, each with its code and status."""

from app.errors import DomainError


class CouponUnavailable(DomainError):
    status, code = 409, "coupon_unavailable"  # used, expired, not yet valid, or not mine


class CouponNotApplicable(DomainError):
    status, code = 422, "coupon_not_applicable"  # threshold not met, store or SKUs not covered


class NotStackable(DomainError):
    status, code = 422, "benefits_not_stackable"  # the tenant's stacking matrix refuses this pair


class PointsOverLimit(DomainError):
    status, code = 422, "points_over_limit"  # more than the order's max points share


class PointsNotEnabled(DomainError):
    status, code = 422, "points_not_enabled"  # no membership program to value points


class CouponSoldOut(DomainError):
    status, code = 409, "coupon_sold_out"  # the template's total quantity is issued


class CouponLimitReached(DomainError):
    status, code = 409, "coupon_limit_reached"  # the member holds the per-member limit


class CouponNotClaimable(DomainError):
    status, code = 409, "coupon_not_claimable"  # inactive, issued only by the brand, or out of dates


class InvalidCouponTemplate(DomainError):
    status, code = 422, "invalid_coupon_template"


class InvalidSegment(DomainError):
    status, code = 422, "invalid_segment"


class MallItemSoldOut(DomainError):
    status, code = 409, "mall_item_sold_out"


class InvalidMallItem(DomainError):
    status, code = 422, "invalid_mall_item"
