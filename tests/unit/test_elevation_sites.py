"""Where the code may leave the caller's scope, and why: a new call site fails until it is listed here.

Like tests/integration/test_schema_rules.py does for tables, this walks the source of app/ (ast,
no import): every `elevated(...)`, `enter_scope(...)` and `run_as_system(...)` call is matched
against the table below by (module, function, reason). The older spellings are gone for good.
"""

import ast
import pathlib
import re
import sys

from app.tenancy.elevation import Why

APP = pathlib.Path(__file__).resolve().parents[2] / "app"
ENTRY_POINTS = {"elevated", "enter_scope", "run_as_system"}

# (module, function, reason). Temporary widenings (`elevated`) and unit-of-work starts (`enter_scope`,
# `run_as_system`) alike; the Why member's value says what the reason allows.
ALLOWED = {
    # A unit of work starts: credentials, login, the request's own scope, tasks, sweeps, commands.
    ("auth/api_keys.py", "authenticate_api_key", Why.authenticate),
    ("auth/request.py", "_resolve", Why.authenticate),
    ("auth/request.py", "request_scope", Why.request),
    ("auth/services.py", "_refresh_row", Why.authenticate),
    ("auth/services.py", "find_tenant", Why.login),
    ("orders/tasks.py", "_run", Why.task),
    ("orders/tasks.py", "_tenant_ids", Why.sweep_tenants),
    ("platform/tasks.py", "_relay_one_batch", Why.task),
    ("platform/tasks.py", "tenants_with_due_events", Why.sweep_tenants),
    # The outbox across tenants: retention deletes relayed rows, /readyz counts the lag.
    ("platform/tasks.py", "purge_relayed_events", Why.outbox_upkeep),
    ("platform/lag.py", "outbox_lag", Why.outbox_upkeep),
    ("tenancy/elevation.py", "run_as_system", Why.task),
    ("tenancy/network.py", "create_tenant", Why.create_tenant),
    ("tenancy/onboarding.py", "onboard_tenant", Why.create_tenant),
    ("demo/seed.py", "seed_demo", Why.seed_demo),
    ("demo/catalog.py", "seed_catalog", Why.seed_demo),
    ("demo/orders.py", "seed_orders", Why.seed_demo),
    ("demo/orders.py", "_Seeder.staff", Why.seed_demo),
    ("demo/orders.py", "_Seeder.retail", Why.seed_demo),
    ("demo/orders.py", "_Seeder.completed", Why.seed_demo),
    ("demo/orders.py", "_Seeder.cancelled", Why.seed_demo),
    ("demo/orders.py", "_Seeder.refund", Why.seed_demo),
    # Webhooks: stored and claimed across tenants, then handled in the tenant they name.
    ("payments/tasks.py", "process_webhook_event", Why.webhook),
    ("payments/tasks.py", "sweep_webhook_events", Why.webhook),
    ("payments/webhooks.py", "store", Why.webhook),
    ("payments/webhooks.py", "process", Why.webhook),
    ("payments/webhooks.py", "_known_tenant", Why.webhook),
    ("payments/webhooks.py", "_catch_up_payment", Why.webhook),
    ("payments/webhooks.py", "on_transfer", Why.webhook),
    ("payments/webhooks.py", "on_account_updated", Why.webhook),
    # A buyer's order touches the seller's side.
    ("orders/placement.py", "place_retail", Why.reserve_seller_stock),
    ("orders/placement.py", "place_in_store", Why.reserve_seller_stock),
    ("orders/placement.py", "place_supply_order", Why.reserve_seller_stock),
    ("orders/stock_moves.py", "apply", Why.reserve_seller_stock),
    ("orders/events.py", "emit", Why.record_order_event),
    # A consumer reads a store's shelf; anyone is quoted the seller's prices.
    ("catalog/assortment.py", "storefront_catalog", Why.read_store_shelf),
    ("orders/cart.py", "_store", Why.read_store_shelf),
    ("orders/cart.py", "_prices", Why.read_store_shelf),
    ("catalog/pricing.py", "quote", Why.quote_prices),
    ("catalog/pricing.py", "_check_band", Why.quote_prices),
    # Grants and the tenant policy.
    ("tenancy/grants.py", "set_grant", Why.find_grantee),
    ("tenancy/policy.py", "get_policy", Why.read_tenant_policy),
    ("tenancy/policy.py", "set_policy", Why.read_tenant_policy),
    ("tenancy/network.py", "move_subtree", Why.rewrite_paths),
    ("tenancy/consumers.py", "consumer_counts", Why.count_totals),
    # Money: the journal, payments and refunds, credit between seller and buyer.
    ("finance/journal.py", "post_entry", Why.post_journal),
    ("finance/journal.py", "reverse_entry", Why.post_journal),
    ("finance/journal.py", "trial_balance", Why.post_journal),
    ("payments/refunds.py", "execute_refund", Why.settle_payment),
    ("payments/refunds.py", "refund_updated", Why.settle_payment),
    # Refund claims and attempts: the order row lock, claimed units on lines, the refund desk.
    ("orders/locks.py", "lock_order", Why.settle_payment),
    ("orders/aftersales.py", "_claim_line", Why.settle_payment),
    ("orders/aftersales.py", "_claim_order", Why.settle_payment),
    ("orders/aftersales.py", "_increment_line", Why.settle_payment),
    ("orders/aftersales.py", "release_claims", Why.settle_payment),
    ("payments/refunds.py", "call_for", Why.settle_payment),
    ("payments/refunds.py", "record_answer", Why.settle_payment),
    ("payments/refunds.py", "record_no_answer", Why.settle_payment),
    ("payments/refund_desk.py", "_attempt", Why.settle_payment),
    ("payments/refund_desk.py", "_superseded", Why.settle_payment),
    ("payments/refund_desk.py", "confirm_offline", Why.settle_payment),
    ("payments/refund_desk.py", "retry", Why.settle_payment),
    ("payments/tasks.py", "send_refund", Why.task),
    ("payments/tasks.py", "send_pending_refunds", Why.task),
    ("payments/tasks.py", "recover_refunds", Why.sweep_tenants),
    ("payments/intents.py", "payment_succeeded", Why.settle_payment),
    ("payments/intents.py", "payment_failed", Why.settle_payment),
    ("payments/intents.py", "payments_for", Why.settle_payment),
    ("payments/credit.py", "set_credit_limit", Why.use_credit),
    ("payments/credit.py", "pay_on_credit", Why.use_credit),
    ("payments/credit.py", "confirm_bank_transfer", Why.use_credit),
    ("payments/credit.py", "record_repayment", Why.use_credit),
    # Money (money-a): refund claims under the order lock, the refund desk, sending claimed refunds.
    ("orders/aftersales.py", "_claim_line", Why.settle_payment),
    ("orders/aftersales.py", "_claim_order", Why.settle_payment),
    ("orders/aftersales.py", "_increment_line", Why.settle_payment),
    ("orders/aftersales.py", "release_claims", Why.settle_payment),
    ("orders/locks.py", "lock_order", Why.settle_payment),
    ("payments/refund_desk.py", "_attempt", Why.settle_payment),
    ("payments/refund_desk.py", "_superseded", Why.settle_payment),
    ("payments/refund_desk.py", "confirm_offline", Why.settle_payment),
    ("payments/refund_desk.py", "retry", Why.settle_payment),
    ("payments/refunds.py", "call_for", Why.settle_payment),
    ("payments/refunds.py", "record_answer", Why.settle_payment),
    ("payments/refunds.py", "record_no_answer", Why.settle_payment),
    ("payments/tasks.py", "recover_refunds", Why.sweep_tenants),
    ("payments/tasks.py", "send_pending_refunds", Why.task),
    ("payments/tasks.py", "send_refund", Why.task),
    # Money (money-b): one open intent per order is read across scopes, deposits, unapplied
    # receipts, money moved outside the app (reported by webhooks).
    ("payments/intents.py", "start_payment", Why.settle_payment),
    ("payments/deposits.py", "refund_deposit", Why.use_credit),
    ("payments/unapplied.py", "apply_receipt", Why.settle_payment),
    ("payments/unapplied.py", "return_receipt", Why.settle_payment),
    ("payments/outside.py", "reconcile_refund", Why.settle_payment),
    ("payments/webhooks.py", "_followed_payment", Why.webhook),
    ("payments/webhooks.py", "on_dispute", Why.webhook),
    ("payments/webhooks.py", "on_payment_canceled", Why.webhook),
    # finance: an export task starts as the system and reads as the scope that asked
    ("finance/tasks.py", "run_export", Why.task),
    ("finance/tasks.py", "run_export", Why.export_as_asker),
    ("finance/tasks.py", "_report_progress", Why.task),
    ("finance/tasks.py", "sweep_exports", Why.sweep_tenants),
    ("finance/tasks.py", "sweep_exports", Why.task),
    ("finance/buyer_postings.py", "post_purchase_paid", Why.post_journal),
    ("finance/buyer_postings.py", "post_purchase_refunded", Why.post_journal),
    ("finance/buyer_postings.py", "post_purchase_repayment", Why.post_journal),
    # Finance controls (finance-b): the brand's books (periods, corrections), reconciliation
    # (payouts are platform rows), its task and its sweep.
    ("finance/periods.py", "require_brand_finance", Why.finance_controls),
    ("finance/periods.py", "close_period", Why.finance_controls),
    ("finance/reconcile.py", "Matcher._ours", Why.finance_controls),
    ("finance/reconcile.py", "stale_runs", Why.sweep_tenants),
    ("finance/reconcile.py", "stale_runs", Why.task),
    ("finance/reconcile_tasks.py", "reconcile_tenant", Why.task),
    # membership
    ("membership/postings.py", "post_points", Why.post_points),
    ("membership/postings.py", "redemption_posted", Why.post_points),
    ("membership/tasks.py", "_run", Why.task),
    ("membership/tasks.py", "_tenant_ids", Why.sweep_tenants),
    ("demo/membership.py", "seed_membership", Why.seed_demo),
    # distribution: the ledger writes entries owned by beneficiaries anywhere in the tenant.
    ("distribution/ledger.py", "accrue", Why.write_distribution_ledger),
    ("distribution/snapshot.py", "snapshot_commissions", Why.snapshot_commissions),
    ("distribution/tasks.py", "_tenant_ids", Why.sweep_tenants),
    ("distribution/promoters.py", "apply", Why.join_distribution),
    ("distribution/bindings.py", "bind", Why.join_distribution),
    ("distribution/bindings.py", "rebind", Why.join_distribution),
    ("distribution/queries.py", "my_team", Why.join_distribution),
    ("distribution/queries.py", "entry_totals", Why.count_totals),
    ("distribution/tasks.py", "release_commissions_for_tenant", Why.task),
    # distribution settlement: runs, payouts and withdrawals read and write every beneficiary's
    # entries and statements (the brand pays them all); tasks run per tenant.
    ("distribution/statements.py", "run_settlement", Why.settle_distribution),
    ("distribution/payouts.py", "as_payer", Why.settle_distribution),
    ("distribution/settlement_tasks.py", "_tenant_ids", Why.sweep_tenants),
    ("distribution/settlement_tasks.py", "send_payout_now", Why.task),
    ("distribution/settlement_tasks.py", "resend_claimed_payouts", Why.task),
    ("distribution/settlement_tasks.py", "settle_tenant", Why.task),
    ("distribution/withdrawals.py", "request_withdrawal", Why.settle_distribution),
    ("demo/distribution.py", "_as", Why.seed_demo),
    # membership: a member's claim counts on the brand's template; coupon tasks run per tenant
    ("membership/coupons.py", "claim", Why.claim_coupon),
    ("membership/coupon_tasks.py", "run_issue_job", Why.task),
    ("membership/coupon_tasks.py", "resume_issue_jobs", Why.sweep_tenants),
    ("membership/coupon_tasks.py", "resume_issue_jobs", Why.task),
    ("membership/coupon_tasks.py", "expire_coupons", Why.sweep_tenants),
    ("membership/coupon_tasks.py", "expire_coupons", Why.task),
    ("demo/offers.py", "seed_offers", Why.seed_demo),
}

# Only the elevation module switches scopes by hand; the older spellings must not come back.
PRIMITIVES = re.compile(r"\b(set_current_scope|apply_settings|acting_as|use_scope|as_system)\b|set_config\(")
PRIMITIVE_HOMES = {"tenancy/elevation.py", "tenancy/rls.py", "tenancy/scope.py"}


def _name(call: ast.Call) -> str | None:
    func = call.func
    return func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else None


def _reason(call: ast.Call, name: str) -> str:
    if name == "run_as_system":
        return Why.task
    given = [k.value for k in call.keywords if k.arg == "why"] + call.args[1:2]
    if not given or not (isinstance(given[0], ast.Attribute) and isinstance(given[0].value, ast.Name)
                         and given[0].value.id == "Why"):
        return "<not a literal Why.x>"
    return Why[given[0].attr]


def call_sites() -> list[tuple[str, str, str]]:
    """(module under app/, Class.function, reason) for every scope switch in the code."""
    found = []

    def walk(node, module, stack):
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                walk(child, module, [*stack, child.name])
                continue
            if isinstance(child, ast.Call) and _name(child) in ENTRY_POINTS:
                found.append((module, ".".join(stack) or "<module>", _reason(child, _name(child))))
            walk(child, module, stack)

    for path in sorted(APP.rglob("*.py")):
        walk(ast.parse(path.read_text(encoding="utf-8")), path.relative_to(APP).as_posix(), [])
    return found


def test_every_scope_switch_in_the_code_is_listed_with_its_reason():
    unlisted = sorted({site for site in call_sites() if site not in ALLOWED})
    assert not unlisted, (
        "New place that leaves the caller's scope: list it in ALLOWED with the reason, "
        f"or keep the caller's scope: {unlisted}")


def test_every_listed_site_still_exists():
    stale = sorted(ALLOWED - set(call_sites()))
    assert not stale, f"Listed but no longer in the code (remove from ALLOWED): {stale}"


def test_every_reason_is_used_somewhere():
    assert {why for _, _, why in ALLOWED} == set(Why)


def test_nothing_outside_the_elevation_module_sets_the_scope_by_hand():
    offenders = []
    for path in sorted(APP.rglob("*.py")):
        module = path.relative_to(APP).as_posix()
        if module in PRIMITIVE_HOMES:
            continue
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
            if PRIMITIVES.search(line):
                offenders.append(f"{module}:{number}: {line.strip()}")
    assert not offenders, "Use app.tenancy.elevation instead:\n" + "\n".join(offenders)


def test_the_walker_finds_a_call_it_was_not_told_about(tmp_path, monkeypatch):
    (tmp_path / "sneaky.py").write_text(
        "def f(session, s):\n    with elevated(session, Why.task, scope=s):\n        pass\n")
    monkeypatch.setattr(sys.modules[__name__], "APP", tmp_path)
    assert call_sites() == [("sneaky.py", "f", Why.task)]
