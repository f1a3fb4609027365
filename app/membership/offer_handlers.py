"""Coupons' and the waterfall's event subscriptions and beat entries (member-a lists the core's own)."""

from app.membership.checkout_handlers import give_back_on_cancel, give_back_on_refund, settle_nothing_due

EVENT_HANDLERS: dict = {
    "order.placed": [settle_nothing_due],
    "order.cancelled": [give_back_on_cancel],
    "order.refunded": [give_back_on_refund],
}

BEAT_SCHEDULE = {
    "membership-expire-coupons": {"task": "app.membership.coupon_tasks.expire_coupons", "schedule": 3600.0},
    "membership-resume-coupon-jobs": {"task": "app.membership.coupon_tasks.resume_issue_jobs",
                                      "schedule": 300.0},
}
