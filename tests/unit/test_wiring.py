"""The wiring in one place: every subscription and beat entry, as app.bootstrap installs them."""

import pytest

from app.bootstrap import beat_schedule, event_handlers, inject

EXPECTED_SUBSCRIPTIONS = {
    **{event_type: ["app.platform.audit.write_audit"] for event_type in (
        "tenant.created", "org.created", "org.moved", "org.deactivated", "user.created",
        "policy.changed", "grant.changed", "grant.revoked", "api_key.created", "api_key.revoked",
        "export.downloaded", "order.cancel", "order.ship", "order.confirm_receipt", "order.pay",
        "refund.approve", "refund.reject", "payment.confirm", "credit.set_limit",
        "credit.post_repayment", "price_lists.edit", "price_bands.edit", "stock.adjust",
        "dead_letter.retried")},
    "order.paid": ["app.finance.postings.journal_order_paid", "app.finance.handlers.journal_purchase_paid"],
    "order.refunded": ["app.finance.postings.journal_order_refunded",
                       "app.finance.handlers.journal_purchase_refunded"],
    "order.refund_bounced": ["app.finance.handlers.journal_order_refund_bounced"],
    "order.refund_approved": ["app.payments.refunds.refund_when_approved"],
}

# membership
for _event_type, _handlers in {
    "membership.configure": ["app.platform.audit.write_audit"],
    "points.adjust": ["app.platform.audit.write_audit"],
    "order.paid": ["app.membership.handlers.points_on_paid"],
    "order.completed": ["app.membership.handlers.growth_on_order"],
    "order.refunded": ["app.membership.handlers.points_on_refund", "app.membership.handlers.growth_on_order"],
}.items():
    EXPECTED_SUBSCRIPTIONS[_event_type] = EXPECTED_SUBSCRIPTIONS.get(_event_type, []) + _handlers

# membership: coupons and points of the checkout waterfall come back
for _event_type, _handlers in {
    "order.placed": ["app.membership.checkout_handlers.settle_nothing_due"],
    "order.cancelled": ["app.membership.checkout_handlers.give_back_on_cancel"],
    "order.refunded": ["app.membership.checkout_handlers.give_back_on_refund"],
}.items():
    EXPECTED_SUBSCRIPTIONS[_event_type] = EXPECTED_SUBSCRIPTIONS.get(_event_type, []) + _handlers

EXPECTED_BEAT = {
    "relay-outbox": ("app.platform.tasks.relay_all_outboxes", 30.0),
    "purge-relayed-events": ("app.platform.tasks.purge_relayed_events", 3600.0),
    "sweep-webhook-events": ("app.payments.tasks.sweep_webhook_events", 60.0),
    "recover-refunds": ("app.payments.tasks.recover_refunds", 300.0),
    "orders-cancel-unpaid": ("app.orders.tasks.cancel_unpaid_orders", 60.0),
    "orders-complete-shipped": ("app.orders.tasks.complete_shipped_orders", 3600.0),
    # finance
    "finance-sweep-exports": ("app.finance.tasks.sweep_exports", 60.0),
    # finance (finance-b)
    "finance-run-queued-reconciliations": ("app.finance.reconcile_tasks.run_queued_reconciliations", 300.0),
    # membership
    "membership-release-points": ("app.membership.tasks.release_pending_points", 900.0),
    "membership-expire-points": ("app.membership.tasks.expire_points", 3600.0),
    "membership-reevaluate-levels": ("app.membership.tasks.reevaluate_levels", 86400.0),
    "membership-birthday-gifts": ("app.membership.tasks.birthday_gifts", 86400.0),
    # membership: coupons
    "membership-expire-coupons": ("app.membership.coupon_tasks.expire_coupons", 3600.0),
    "membership-resume-coupon-jobs": ("app.membership.coupon_tasks.resume_issue_jobs", 300.0),
}

# distribution: commissions follow the order (after the journal's own handlers).
for _event, _key in (("order.paid", "app.distribution.handlers.accrue_commissions"),
                     ("order.completed", "app.distribution.handlers.start_commission_freeze"),
                     ("order.refunded", "app.distribution.handlers.reverse_commissions")):
    EXPECTED_SUBSCRIPTIONS.setdefault(_event, []).append(_key)
for _event in ("bindings.rebind", "promoters.approve"):
    EXPECTED_SUBSCRIPTIONS.setdefault(_event, []).append("app.platform.audit.write_audit")
EXPECTED_BEAT["distribution-release-commissions"] = ("app.distribution.tasks.release_commissions", 3600.0)
# distribution settlement: store takings after the commissions they read; payouts reopened by reversals.
for _event in ("order.paid", "order.refunded", "order.refund_bounced", "order.completed"):
    EXPECTED_SUBSCRIPTIONS.setdefault(_event, []).append("app.distribution.takings.record_takings")
EXPECTED_SUBSCRIPTIONS["payment.transfer_reversed"] = [
    "app.distribution.settlement_handlers.reopen_on_transfer_reversed"]
EXPECTED_BEAT["distribution-run-settlements"] = (
    "app.distribution.settlement_tasks.run_due_settlements", 3600.0)
EXPECTED_BEAT["distribution-recover-payouts"] = ("app.distribution.settlement_tasks.recover_payouts", 300.0)


def test_bootstrap_subscribes_exactly_the_expected_handlers_under_their_stored_receipt_keys():
    wired = event_handlers({"gateway": lambda: None})
    assert {event_type: [key for key, _ in handlers] for event_type, handlers in wired.items()} == (
        EXPECTED_SUBSCRIPTIONS)


def test_the_beat_schedule_is_exactly_the_expected_table():
    schedule = {name: (entry["task"], entry["schedule"]) for name, entry in beat_schedule().items()}
    assert schedule == EXPECTED_BEAT


def test_handlers_receive_their_dependencies_from_bootstrap_when_they_run():
    seen = []

    def handler(session, event, gateway):
        seen.append((session, event, gateway))

    gateways = iter(["first", "second"])
    bound = inject(handler, {"gateway": lambda: next(gateways)})
    bound("s", "e")
    bound("s", "e")
    assert seen == [("s", "e", "first"), ("s", "e", "second")]


def test_a_handler_asking_for_an_unknown_dependency_is_refused_at_bootstrap():
    def handler(session, event, mailer):
        pass

    with pytest.raises(TypeError, match="mailer"):
        inject(handler, {"gateway": lambda: None})
