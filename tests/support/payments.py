"""Test helpers for payments: orders written directly, Stripe-signed webhook deliveries, the gateway."""

import hashlib
import hmac
import json
import time

from app.db import uuid7
from app.orders.models import Order, OrderFlow, OrderStatus, Refund, RefundKind, RefundStatus
from app.tenancy.enums import ActorKind
from app.tenancy.scope import system_scope
from tests.support.scope import use_scope

WEBHOOK_SECRET = "whsec_test_standin"


def make_order(session, net, *, seller="jingan", consumer=None, buyer=None, total=10_000,
               flow=None, status=OrderStatus.pending_payment) -> Order:
    """A pending order as checkout leaves it (retail to a consumer, or B2B to a buyer org)."""
    use_scope(session, system_scope(net.tenant.id))
    seller_org = net.org(seller)
    buyer_org = net.org(buyer) if buyer else None
    order = Order(
        tenant_id=net.tenant.id, id=uuid7(),
        flow=flow or (OrderFlow.retail if consumer else OrderFlow.replenish),
        status=status, seller_org_id=seller_org.id, buyer_org_id=buyer_org.id if buyer_org else None,
        buyer_consumer_id=consumer.id if consumer else None, currency="CNY", goods_minor=total,
        discount_minor=0, shipping_minor=0, total_minor=total, refunded_minor=0,
        placed_by_kind=ActorKind.consumer if consumer else ActorKind.staff,
        owner_path=buyer_org.path if buyer_org else seller_org.path, seller_path=seller_org.path)
    session.add(order)
    session.flush()
    return order


def approve_refund(session, order: Order, amount: int) -> Refund:
    """An approved after-sales refund of `amount` (the approval itself is the orders module's)."""
    use_scope(session, system_scope(order.tenant_id))
    refund = Refund(tenant_id=order.tenant_id, id=uuid7(), order_id=order.id, kind=RefundKind.refund_only,
                    status=RefundStatus.refund_approved, amount_minor=amount, currency=order.currency,
                    requested_by_kind=ActorKind.system, owner_path=order.owner_path,
                    seller_path=order.seller_path, buyer_consumer_id=order.buyer_consumer_id)
    session.add(refund)
    session.flush()
    return refund


def stripe_event(event_type: str, obj: dict, *, event_id: str | None = None,
                 account: str | None = None) -> dict:
    event = {"id": event_id or f"evt_{uuid7().hex}", "object": "event", "type": event_type,
             "api_version": "2025-01-27", "created": int(time.time()), "livemode": False,
             "data": {"object": obj}}
    if account:
        event["account"] = account
    return event


def signed(event: dict, *, secret: str = WEBHOOK_SECRET, timestamp: int | None = None) -> tuple[bytes, dict]:
    """Body and headers as Stripe sends them: t=<unix>,v1=HMAC-SHA256(secret, "<t>.<body>")."""
    body = json.dumps(event).encode()
    timestamp = int(time.time()) if timestamp is None else timestamp
    signature = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return body, {"Stripe-Signature": f"t={timestamp},v1={signature}", "Content-Type": "application/json"}
