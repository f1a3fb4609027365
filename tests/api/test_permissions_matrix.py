"""Every state-changing operation of the OpenAPI document, called by every role, against the matrix.

Each caller is a user or an API key of one role at the brand org (or a consumer). Ids in paths
and bodies name nothing, so a caller that holds the permission gets past `require` and is
then refused for another reason (404, 422) or succeeds; one that lacks it gets 403 `forbidden`
naming the permission. An operation that needs no permission is listed as public or
self-service; a new operation fails `test_every_state_changing_operation_is_listed` until it
is added here.
"""

import re
import uuid
from dataclasses import dataclass, field

import pytest

from app.auth.models import ApiKey
from app.auth.tokens import digest, issue_access_token, new_secret
from app.db import uuid7
from app.tenancy import network
from app.tenancy.enums import OrgKind, Role
from app.tenancy.permissions import CONSUMER_ACTIONS, Action, reach_of
from tests.factories import Net, add_consumer, add_user, scope_of

Z = "0196b7c2-0000-7000-8000-00000000dead"  # an id that names nothing
LINES = [{"sku_id": Z, "qty": 1}]
PUBLIC, SELF_SERVICE, PLATFORM = "public", "self-service", "platform"
STAFF, CONSUMER, EITHER = "staff", "consumer", "either"


@dataclass(frozen=True)
class Op:
    rule: str | Action  # the permission, or why none is needed
    audience: str = STAFF  # whose endpoint it is: staff (and keys), consumers, or either
    body: dict | None = field(default=None, hash=False)


OPERATIONS: dict[tuple[str, str], Op] = {
    ("POST", "/auth/login"): Op(PUBLIC),
    ("POST", "/auth/consumer/login"): Op(PUBLIC),
    ("POST", "/auth/refresh"): Op(PUBLIC),
    ("POST", "/auth/logout"): Op(PUBLIC),
    ("POST", "/webhooks/stripe"): Op(PUBLIC),  # signed by Stripe
    ("POST", "/platform/tenants"): Op(PLATFORM, body={  # the operator's token, no tenant role
        "slug": "new-brand", "name": "New", "owner_email": "o@example.com", "owner_password": "x" * 12}),
    ("PUT", "/storefront/cart/items"): Op(SELF_SERVICE, CONSUMER, {"sku_id": Z, "qty": 1}),
    ("POST", "/auth/api-keys"): Op(Action.manage_api_keys, body={"org_id": Z, "name": "erp"}),
    ("DELETE", "/auth/api-keys/{key_id}"): Op(Action.manage_api_keys),
    ("POST", "/catalog/categories"): Op(Action.edit_catalog, body={"name": "Tea"}),
    ("POST", "/catalog/products"): Op(Action.edit_catalog, body={"name": "Oolong"}),
    ("PATCH", "/catalog/products/{product_id}"): Op(Action.edit_catalog, body={"name": "x"}),
    ("POST", "/catalog/skus"): Op(Action.edit_catalog, body={"product_id": Z, "code": "c", "name": "n"}),
    ("PATCH", "/catalog/skus/{sku_id}"): Op(Action.edit_catalog, body={"name": "x"}),
    ("POST", "/catalog/price-bands"): Op(Action.edit_price_bands, body={
        "sku_id": Z, "channel": "retail", "floor_minor": 100}),
    ("POST", "/catalog/prices"): Op(Action.edit_price_lists, body={
        "seller_org_id": Z, "sku_id": Z, "channel": "retail", "amount_minor": 100}),
    ("POST", "/catalog/stores/{store_id}/assortment"): Op(Action.edit_assortment, body={"sku_id": Z}),
    ("DELETE", "/catalog/stores/{store_id}/assortment/{sku_id}"): Op(Action.edit_assortment),
    ("POST", "/catalog/stock/stocktake"): Op(Action.adjust_stock, body={
        "org_id": Z, "sku_id": Z, "counted": 1}),
    ("POST", "/network/orgs"): Op(Action.manage_network, body={
        "parent_id": Z, "kind": "store", "name": "New"}),
    ("POST", "/network/orgs/{org_id}/move"): Op(Action.manage_network, body={"new_parent_id": Z}),
    ("POST", "/network/orgs/{org_id}/deactivate"): Op(Action.manage_network),
    ("POST", "/network/orgs/{org_id}/users"): Op(Action.manage_users, body={
        "email": "new@example.com", "name": "New", "password": "long-enough-pw", "role": "viewer"}),
    ("PUT", "/network/grants"): Op(Action.grant_data, body={
        "grantor_org_id": Z, "grantee_org_id": Z, "dataset": "orders", "fidelity": "full"}),
    ("DELETE", "/network/grants/{grant_id}"): Op(Action.grant_data),
    ("PUT", "/network/policy"): Op(Action.edit_sharing_policy, body={"defaults": {}}),
    ("PUT", "/payments/credit-accounts"): Op(Action.set_credit_limit, body={
        "buyer_org_id": Z, "limit_minor": 1}),
    ("POST", "/payments/credit-accounts/{account_id}/repayments"): Op(Action.post_repayment, body={
        "amount_minor": 1, "reference": "r"}),
    ("POST", "/payments/credit-accounts/{account_id}/deposit-refunds"): Op(Action.post_repayment, body={
        "amount_minor": 1, "reference": "r"}),
    ("POST", "/payments/unapplied-receipts/{receipt_id}/application"): Op(Action.confirm_payment, body={
        "order_id": Z}),
    ("POST", "/payments/unapplied-receipts/{receipt_id}/return"): Op(Action.confirm_payment, body={
        "reference": "r"}),
    ("POST", "/payments/orders/{order_id}/credit"): Op(Action.pay_order),
    ("POST", "/payments/orders/{order_id}/intent"): Op(Action.pay_order, EITHER),
    ("POST", "/payments/orders/{order_id}/offline-confirmation"): Op(Action.confirm_payment, body={
        "reference": "r"}),
    ("POST", "/payments/refunds/{payment_refund_id}/confirm"): Op(Action.confirm_payment, body={
        "reference": "r"}),
    ("POST", "/payments/refunds/{payment_refund_id}/retry"): Op(Action.confirm_payment, body={
        "channel": "gateway"}),
    ("POST", "/operations/dead-letters/{event_id}/retry"): Op(Action.retry_dead_letters),
    ("POST", "/portal/orders"): Op(Action.place_supply_order, body={"lines": LINES}),
    ("POST", "/portal/orders/{order_id}/ship"): Op(Action.ship_order, body={"carrier": "SF"}),
    ("POST", "/portal/orders/{order_id}/cancel"): Op(Action.cancel_order, body={}),
    ("POST", "/portal/orders/{order_id}/confirm-receipt"): Op(Action.confirm_receipt),
    ("POST", "/portal/orders/{order_id}/refunds"): Op(Action.request_refund, body={
        "kind": "refund_only", "lines": [{"line_id": Z, "qty": 1}]}),
    ("POST", "/portal/refunds/{refund_id}/approve"): Op(Action.approve_refund, body={}),
    ("POST", "/portal/refunds/{refund_id}/reject"): Op(Action.reject_refund, body={}),
    ("POST", "/store/replenishments"): Op(Action.place_supply_order, body={"lines": LINES}),
    ("POST", "/store/orders/in-store"): Op(Action.sell_in_store, body={"member_id": Z, "lines": LINES}),
    ("POST", "/store/orders/{order_id}/ship"): Op(Action.ship_order, body={"carrier": "SF"}),
    ("POST", "/store/orders/{order_id}/pick-up"): Op(Action.ship_order),
    ("POST", "/store/orders/{order_id}/confirm-receipt"): Op(Action.confirm_receipt),
    ("POST", "/store/orders/{order_id}/cancel"): Op(Action.cancel_order, body={}),
    ("POST", "/store/refunds/{refund_id}/approve"): Op(Action.approve_refund, body={}),
    ("POST", "/store/refunds/{refund_id}/reject"): Op(Action.reject_refund, body={}),
    ("POST", "/storefront/orders"): Op(Action.place_retail_order, CONSUMER, {"lines": LINES}),
    ("POST", "/storefront/cart/checkout"): Op(Action.place_retail_order, CONSUMER, {}),
    ("POST", "/storefront/orders/{order_id}/cancel"): Op(Action.cancel_order, CONSUMER, {}),
    ("POST", "/storefront/orders/{order_id}/confirm-receipt"): Op(Action.confirm_receipt, CONSUMER),
    ("POST", "/storefront/orders/{order_id}/refunds"): Op(Action.request_refund, CONSUMER, {
        "kind": "refund_only", "lines": [{"line_id": Z, "qty": 1}]}),
    # finance (an org that names nothing: the allowed get 404 after the permission check, no file)
    ("POST", "/finance/exports"): Op(Action.export, body={
        "dataset": "orders", "from": "2026-01-01T00:00:00Z", "to": "2026-02-01T00:00:00Z", "org_id": Z}),
    # finance controls and queues (finance-b)
    ("POST", "/finance/periods/{period}/close"): Op(Action.close_periods),
    ("POST", "/finance/entries/{entry_id}/reversal"): Op(Action.correct_entries, body={}),
    ("POST", "/finance/reconciliation/runs"): Op(Action.reconcile, body={}),
    ("POST", "/finance/queues/unapplied-receipts/{receipt_id}/application"): Op(Action.confirm_payment, body={
        "order_id": Z}),
    ("POST", "/finance/queues/unapplied-receipts/{receipt_id}/return"): Op(Action.confirm_payment, body={
        "reference": "r"}),
    ("POST", "/finance/queues/failed-refunds/{payment_refund_id}/retry"): Op(Action.confirm_payment, body={
        "channel": "gateway"}),
    ("POST", "/finance/queues/offline-refunds/{payment_refund_id}/confirm"): Op(Action.confirm_payment, body={
        "reference": "r"}),
    ("POST", "/finance/queues/late-transfers/{order_id}/confirmation"): Op(Action.confirm_payment, body={
        "reference": "r"}),
    ("POST", "/finance/queues/dead-letters/{event_id}/retry"): Op(Action.retry_dead_letters),
    # membership
    ("PUT", "/membership/program"): Op(Action.configure_membership, body={"grace_days": 30}),
    ("PUT", "/membership/levels/{code}"): Op(Action.configure_membership, body={
        "name": "Gold", "rank": 1, "growth_threshold": 1000}),
    ("POST", "/membership/members/{member_id}/points/adjustments"): Op(Action.adjust_points, body={
        "points": 10, "reason": "goodwill"}),
    ("POST", "/storefront/membership/join"): Op(Action.join_membership, CONSUMER),
    # membership: coupons, the checkout quote, the points mall
    ("POST", "/membership/coupon-templates"): Op(Action.manage_coupons, body={
        "name": "c", "kind": "amount_off", "amount_off_minor": 100, "valid_days": 1}),
    ("POST", "/membership/coupon-templates/{template_id}/issue"): Op(Action.manage_coupons, body={}),
    ("POST", "/membership/mall-items"): Op(Action.manage_mall, body={
        "sku_id": Z, "name": "n", "points_price": 1, "stock": 1}),
    ("POST", "/storefront/membership/coupon-templates/{template_id}/claim"): Op(
        Action.claim_coupon, CONSUMER),
    ("POST", "/storefront/checkout/quote"): Op(SELF_SERVICE, CONSUMER, {"lines": LINES}),  # changes nothing
    ("POST", "/storefront/membership/mall-items/{item_id}/redeem"): Op(
        Action.place_retail_order, CONSUMER, {}),
}
OPERATIONS.update({  # distribution
    ("POST", "/distribution/plans"): Op(Action.manage_commissions, body={"name": "p", "rules": []}),
    ("POST", "/distribution/levels"): Op(Action.manage_commissions, body={
        "name": "Silver", "rank": 1, "l1_rate_bp": 100}),
    ("POST", "/distribution/promoters"): Op(Action.approve_promoters, body={"user_id": Z}),
    ("POST", "/distribution/promoter-decisions"): Op(Action.approve_promoters, body={
        "promoter_id": Z, "approve": True}),
    ("POST", "/distribution/bindings/rebind"): Op(Action.rebind_customers, body={
        "consumer_id": Z, "promoter_id": Z}),
    ("POST", "/storefront/promoter"): Op(Action.become_promoter, CONSUMER),
    ("POST", "/storefront/bindings"): Op(Action.bind_referral, CONSUMER, {"code": "ZZZZZZZZ"}),
})
OPERATIONS.update({  # distribution settlement
    ("POST", "/distribution/statements/{statement_id}/approve"): Op(Action.approve_statements),
    ("POST", "/distribution/statements/{statement_id}/pay"): Op(Action.approve_statements),
    ("POST", "/distribution/statements/{statement_id}/pay-offline"): Op(Action.approve_statements, body={
        "bank_reference": "r"}),
    ("POST", "/distribution/statements/{statement_id}/bank-return"): Op(Action.approve_statements),
    ("POST", "/distribution/settlement-runs"): Op(Action.approve_statements),
    ("POST", "/distribution/withdrawals"): Op(Action.request_withdrawal, EITHER),
})

CALLERS = [f"{role.value} {kind}" for role in Role for kind in ("user", "key")] + ["consumer"]


def test_every_state_changing_operation_is_listed(client):
    spec = client.get("/openapi.json").get_json()
    documented = {(method.upper(), path) for path, item in spec["paths"].items()
                  for method in item if method in ("post", "put", "patch", "delete")}
    assert documented == set(OPERATIONS)


@pytest.mark.parametrize("caller", CALLERS)
@pytest.mark.parametrize(("method", "path"), list(OPERATIONS), ids=[f"{m} {p}" for m, p in OPERATIONS])
def test_each_operation_allows_exactly_the_roles_the_matrix_names(client, session, callers, method, path,
                                                                  caller):
    op = OPERATIONS[(method, path)]
    headers, role = callers[caller]
    url = re.sub(r"\{[a-z_]+\}", Z, path)  # every path parameter names nothing (period too)
    response = client.open(url, method=method, json=op.body, headers={
        **headers, "Idempotency-Key": f"matrix-{uuid.uuid4()}"})
    answer = response.get_json(silent=True) or {}
    assert response.status_code != 500, answer
    if op.rule == PLATFORM:
        assert response.status_code == 401 and answer["code"] == "invalid_platform_token"
        return
    if op.rule in (PUBLIC, SELF_SERVICE):
        assert answer.get("code") != "forbidden", answer
        return
    is_consumer = role is None
    fits = op.audience == EITHER or op.audience == (CONSUMER if is_consumer else STAFF)
    if not fits:
        assert response.status_code == 403
        assert answer["code"] == ("staff_only" if is_consumer else "consumer_only"), answer
        return
    allowed = op.rule in CONSUMER_ACTIONS if is_consumer else reach_of(role, op.rule) is not None
    if allowed:
        assert response.status_code not in (401, 403), answer
    else:
        assert response.status_code == 403, answer
        assert answer["code"] == "forbidden" and answer["permission"] == op.rule.value, answer
        assert op.rule.value in answer["message"]


@pytest.fixture(scope="module")
def callers(module_seed) -> dict[str, tuple[dict, Role | None]]:
    """Every caller's credentials in one tenant, built once for the module (each case runs in a
    savepoint of the module's transaction, so what one case changes the next does not see)."""
    return module_seed(lambda session: _all_credentials(session, _small_tenant(session)))


def _all_credentials(session, net: Net) -> dict[str, tuple[dict, Role | None]]:
    return {caller: _credentials(session, net, caller) for caller in CALLERS}


def _credentials(session, net: Net, caller: str) -> tuple[dict, Role | None]:
    """A user's access token or an API key of one role at the brand org, or a consumer's token."""
    from flask import current_app

    secret, ttl = current_app.config["SECRET_KEY"], 3600  # the module can take minutes on a busy machine
    if caller == "consumer":
        consumer = add_consumer(session, net, "jingan")
        token = issue_access_token(secret, ttl_seconds=ttl, tenant_id=net.tenant.id,
                                   subject=consumer.id, kind="consumer")
        return {"Authorization": f"Bearer {token}"}, None
    role_name, kind = caller.split()
    role, brand = Role(role_name), net.org("brand")
    assert brand.kind is OrgKind.brand
    if kind == "user":
        user = add_user(session, net, "brand", role)
        token = issue_access_token(secret, ttl_seconds=ttl, tenant_id=net.tenant.id, subject=user.id,
                                   kind="staff", org_id=brand.id, role=role.value)
        return {"Authorization": f"Bearer {token}"}, role
    plain = new_secret()
    key = ApiKey(tenant_id=net.tenant.id, id=uuid7(), org_id=brand.id, owner_path=brand.path,
                 name=f"{role.value} key", role=role, secret_hash=digest(plain))
    session.add(key)
    session.flush()
    return {"X-Api-Key": f"tmk.{net.tenant.id.hex}.{key.id.hex}.{plain}"}, role


def _small_tenant(session) -> Net:
    """A brand and one store: all the callers need (make_tenant builds seven orgs)."""
    slug = f"matrix-{uuid.uuid4().hex[:8]}"
    tenant, brand = network.create_tenant(session, slug=slug, name=slug)
    net = Net(tenant=tenant, slug=slug, orgs={"brand": brand})
    net.users["brand"] = add_user(session, net, "brand", Role.owner)
    net.orgs["jingan"] = network.create_org(session, scope_of(session, net, "brand"), parent_id=brand.id,
                                            kind=OrgKind.store, name="Jing'an")
    return net
