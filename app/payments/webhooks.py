"""Gateway webhooks: verify, store once by event id, then process (at least once, in any order)."""

import logging
import uuid

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from app.db import insert_or_ignore, utcnow
from app.orders.models import Order
from app.payments import intents, outside, refunds
from app.payments.errors import InvalidSignature
from app.payments.gateway import GatewayPayment, GatewayRefund, PaymentGateway
from app.payments.models import GatewayPayout, Payment, PaymentStatus, WebhookEvent
from app.platform import metrics
from app.platform.outbox import record_event
from app.tenancy.elevation import Why, elevated, enter_scope
from app.tenancy.models import Tenant
from app.tenancy.orgs import brand_root
from app.tenancy.scope import PLATFORM_SCOPE, system_scope

log = logging.getLogger(__name__)


def verify(payload: bytes, signature_header: str | None, *, secret: str, tolerance_seconds: int) -> dict:
    """The event, if Stripe signed it with our secret within the tolerance; 400 otherwise."""
    from app.payments.stripe_gateway import InvalidWebhookSignature, verify_webhook  # noqa: PLC0415

    try:
        return verify_webhook(payload, signature_header, secret, tolerance_seconds)
    except InvalidWebhookSignature as error:
        metrics.WEBHOOK_DELIVERIES.labels("stripe", "invalid_signature").inc()
        raise InvalidSignature("The webhook signature is missing, wrong or too old.") from error


def _tenant_hint(event: dict) -> uuid.UUID | None:
    metadata = (event.get("data", {}).get("object") or {}).get("metadata") or {}
    try:
        return uuid.UUID(metadata["tenant_id"])
    except (KeyError, ValueError, TypeError):
        return None


def store(session: Session, event: dict) -> bool:
    """Store the event by its id; False for a duplicate delivery (already stored)."""
    enter_scope(session, Why.webhook, scope=PLATFORM_SCOPE)
    inserted = session.execute(insert_or_ignore(session, WebhookEvent, conflict_on=["id"]).values(
        id=event["id"], type=event.get("type", "unknown"), tenant_id=_tenant_hint(event),
        account=event.get("account"), payload=event, received_at=utcnow(), attempts=0,
    ).returning(WebhookEvent.id)).first()
    return inserted is not None


def receive(session: Session, payload: bytes, signature_header: str | None, *, secret: str,
            tolerance_seconds: int) -> tuple[str, bool, bool]:
    """Verify and store a delivery: (event id, was it a duplicate, is it already processed)."""
    event = verify(payload, signature_header, secret=secret, tolerance_seconds=tolerance_seconds)
    if store(session, event):
        metrics.WEBHOOK_DELIVERIES.labels("stripe", "accepted").inc()
        return event["id"], False, False
    metrics.WEBHOOK_DELIVERIES.labels("stripe", "duplicate").inc()
    processed = session.scalar(select(WebhookEvent.processed_at).where(WebhookEvent.id == event["id"]))
    return event["id"], True, processed is not None


def process(session: Session, *, event_id: str, gateway: PaymentGateway) -> str | None:
    """Handle a stored event once: the claim is a conditional UPDATE, so parallel workers cannot both act."""
    enter_scope(session, Why.webhook, scope=PLATFORM_SCOPE)
    claimed = session.execute(
        update(WebhookEvent).where(WebhookEvent.id == event_id, WebhookEvent.processed_at.is_(None))
        .values(processed_at=utcnow(), attempts=WebhookEvent.attempts + 1)
        .returning(WebhookEvent.type, WebhookEvent.payload)).first()
    if claimed is None:
        return None
    event_type, event = claimed
    handler = HANDLERS.get(event_type)
    outcome = handler(session, event, gateway) if handler else "ignored"
    enter_scope(session, Why.webhook, scope=PLATFORM_SCOPE)
    session.execute(update(WebhookEvent).where(WebhookEvent.id == event_id).values(
        outcome=outcome[:100], tenant_id=_tenant_of_outcome(session, event), last_error=None))
    metrics.count_webhook_outcome(session, provider="stripe", event_type=event_type, outcome=outcome[:100])
    return outcome


def _tenant_of_outcome(session: Session, event: dict) -> uuid.UUID | None:
    return session.info.pop("webhook_tenant", None) or _tenant_hint(event)


def _known_tenant(session: Session, tenant_id: uuid.UUID | None) -> uuid.UUID | None:
    """Metadata is signed by Stripe but may come from another deployment: the tenant must exist here."""
    if tenant_id is None:
        return None
    with elevated(session, Why.webhook, scope=PLATFORM_SCOPE):
        exists = session.scalar(select(Tenant.id).where(Tenant.id == tenant_id))
    if exists:
        session.info["webhook_tenant"] = tenant_id
    return exists


def _payment_of(obj: dict) -> GatewayPayment:
    return GatewayPayment(
        id=obj["id"], status=obj.get("status", ""), amount_minor=int(obj.get("amount") or 0),
        currency=str(obj.get("currency") or "").upper(), latest_charge=_id(obj.get("latest_charge")),
        amount_received_minor=int(obj.get("amount_received") or 0), metadata=obj.get("metadata") or {})


def _refund_of(obj: dict) -> GatewayRefund:
    return GatewayRefund(id=obj["id"], status=obj.get("status", ""), amount_minor=int(obj.get("amount") or 0),
                         payment_id=_id(obj.get("payment_intent")), metadata=obj.get("metadata") or {})


def _id(value) -> str | None:
    return value["id"] if isinstance(value, dict) else value


def on_payment_succeeded(session: Session, event: dict, gateway: PaymentGateway) -> str:
    obj = event["data"]["object"]
    tenant_id = _known_tenant(session, _tenant_hint(event))
    if tenant_id is None:
        return "unknown_tenant"
    return intents.payment_succeeded(session, tenant_id=tenant_id, at_gateway=_payment_of(obj),
                                    gateway=gateway)


def on_payment_failed(session: Session, event: dict, gateway: PaymentGateway) -> str:
    obj = event["data"]["object"]
    tenant_id = _known_tenant(session, _tenant_hint(event))
    if tenant_id is None:
        return "unknown_tenant"
    message = (obj.get("last_payment_error") or {}).get("message")
    return intents.payment_failed(session, tenant_id=tenant_id, at_gateway=_payment_of(obj),
                                 gateway_name=gateway.name, message=message)


def _catch_up_payment(session: Session, payment_intent_id: str, gateway: PaymentGateway) -> uuid.UUID | None:
    """Re-fetch the PaymentIntent: its tenant, and its success if that event has not arrived yet."""
    at_gateway = gateway.get_payment(payment_intent_id)
    try:
        tenant_id = _known_tenant(session, uuid.UUID(at_gateway.metadata.get("tenant_id", "")))
    except ValueError:
        return None
    if tenant_id is None:
        return None
    with elevated(session, Why.webhook, scope=system_scope(tenant_id)):
        payment = intents.find_payment(session, tenant_id, gateway.name, at_gateway.id)
        pending = payment is not None and payment.status in (PaymentStatus.pending, PaymentStatus.failed)
    if pending and at_gateway.status == "succeeded":
        intents.payment_succeeded(session, tenant_id=tenant_id, at_gateway=at_gateway, gateway=gateway)
    return tenant_id


def on_refund_updated(session: Session, event: dict, gateway: PaymentGateway) -> str:
    obj = event["data"]["object"]
    refund = _refund_of(obj)
    tenant_id = _known_tenant(session, _tenant_hint(event))
    if refund.payment_id:
        tenant_id = _catch_up_payment(session, refund.payment_id, gateway) or tenant_id
    if tenant_id is None:
        return "unknown_tenant"
    return refunds.refund_updated(session, tenant_id=tenant_id, at_gateway=refund)


def _followed_payment(session: Session, payment_intent_id: str | None,
                      gateway: PaymentGateway) -> tuple[uuid.UUID, Payment] | None:
    """The tenant and our payment of a PaymentIntent, its success caught up first (any event order)."""
    if not payment_intent_id:
        return None
    tenant_id = _catch_up_payment(session, payment_intent_id, gateway)
    if tenant_id is None:
        return None
    with elevated(session, Why.webhook, scope=system_scope(tenant_id)):
        payment = intents.find_payment(session, tenant_id, gateway.name, payment_intent_id)
    return (tenant_id, payment) if payment is not None else None


def _reconcile_refunds_of(session: Session, payment_intent_id: str | None, gateway: PaymentGateway) -> str:
    """Re-list the PaymentIntent's refunds from the gateway and book each (known, lost answer, or outside)."""
    followed = _followed_payment(session, payment_intent_id, gateway)
    if followed is None:
        return "unknown_payment"
    tenant_id, payment = followed
    return outside.reconcile_refunds(session, tenant_id=tenant_id, payment=payment,
                                     at_gateway=gateway.list_refunds(payment_id=payment_intent_id))


def on_charge_refunded(session: Session, event: dict, gateway: PaymentGateway) -> str:
    """A charge was (partly) refunded. Since API 2022-11-15 the Charge has no `refunds`: list them."""
    return _reconcile_refunds_of(session, _id(event["data"]["object"].get("payment_intent")), gateway)


def on_refund_event(session: Session, event: dict, gateway: PaymentGateway) -> str:
    """refund.created / refund.updated (also succeeded → failed): the refund's payment, re-listed."""
    payment_intent = _id(event["data"]["object"].get("payment_intent"))
    if payment_intent is None:  # a refund of a bare charge: only its own row can follow
        return on_refund_updated(session, event, gateway)
    return _reconcile_refunds_of(session, payment_intent, gateway)


def on_dispute(session: Session, event: dict, gateway: PaymentGateway) -> str:
    """charge.dispute.created holds the funds; charge.dispute.closed returns them (won) or not (lost)."""
    dispute = event["data"]["object"]
    followed = _followed_payment(session, _id(dispute.get("payment_intent")), gateway)
    if followed is None:
        return "unknown_payment"
    tenant_id, payment = followed
    with elevated(session, Why.webhook, scope=system_scope(tenant_id)):
        if event["type"] == "charge.dispute.closed":
            outcome = outside.dispute_closed(session, payment=payment, dispute=dispute)
        else:
            outside.dispute_opened(session, payment=payment, dispute=dispute)
            outcome = "dispute_opened"
        # The dispute's fee (taken with the funds) is booked like a charge's, once per transaction.
        order = session.get(Order, (tenant_id, payment.order_id))
        intents.post_fees_of(session, source=dispute["id"], order=order, gateway=gateway)
        return outcome


def on_payment_canceled(session: Session, event: dict, gateway: PaymentGateway) -> str:
    obj = event["data"]["object"]
    tenant_id = _known_tenant(session, _tenant_hint(event))
    if tenant_id is None:
        return "unknown_tenant"
    with elevated(session, Why.webhook, scope=system_scope(tenant_id)):
        payment = intents.find_payment(session, tenant_id, gateway.name, obj["id"])
        if payment is None:
            return "unknown_payment"
        return outside.payment_canceled(session, payment=payment)


def on_transfer(session: Session, event: dict, gateway: PaymentGateway) -> str:
    """Transfers belong to payouts (distribution); tell them through the outbox, in the right tenant."""
    obj = event["data"]["object"]
    tenant_id = _known_tenant(session, _tenant_hint(event))
    if tenant_id is None:
        return "unknown_tenant"
    with elevated(session, Why.webhook, scope=system_scope(tenant_id)):
        root = brand_root(session, tenant_id)
        record_event(session, tenant_id=tenant_id, owner_path=root.path,
                     type=f"payment.{event['type'].replace('.', '_')}",
                     payload={"transfer_id": obj["id"], "amount_minor": int(obj.get("amount") or 0),
                              "amount_reversed_minor": int(obj.get("amount_reversed") or 0),
                              "destination": _id(obj.get("destination")),
                              "metadata": obj.get("metadata") or {}})
        session.flush()
    return "forwarded"


def on_payout(session: Session, event: dict, gateway: PaymentGateway) -> str:
    """A payout to a bank: 'paid' may later turn 'failed'; the newest event we see wins by status rank."""
    obj = event["data"]["object"]
    payout = session.get(GatewayPayout, obj["id"])
    status = obj.get("status") or event["type"].split(".", 1)[1]
    if payout is None:
        payout = GatewayPayout(id=obj["id"], amount_minor=int(obj.get("amount") or 0),
                               currency=str(obj.get("currency") or "").upper(), status=status,
                               account=event.get("account"), tenant_id=_tenant_hint(event))
        session.add(payout)
    elif PAYOUT_RANK.get(status, 0) >= PAYOUT_RANK.get(payout.status, 0):
        payout.status = status
    payout.failure_code = obj.get("failure_code") or payout.failure_code
    payout.arrival_date = obj.get("arrival_date") or payout.arrival_date
    session.flush()
    return f"payout_{payout.status}"


PAYOUT_RANK = {"pending": 1, "in_transit": 2, "paid": 3, "failed": 4, "canceled": 4}


def on_account_updated(session: Session, event: dict, gateway: PaymentGateway) -> str:
    """A connected account changed (capabilities, requirements): forwarded to its tenant if known."""
    obj = event["data"]["object"]
    tenant_id = _known_tenant(session, _tenant_hint(event))
    if tenant_id is None:
        return "recorded"
    with elevated(session, Why.webhook, scope=system_scope(tenant_id)):
        record_event(session, tenant_id=tenant_id, owner_path=brand_root(session, tenant_id).path,
                     type="payment.account_updated",
                     payload={"account": obj["id"], "charges_enabled": bool(obj.get("charges_enabled")),
                              "payouts_enabled": bool(obj.get("payouts_enabled"))})
        session.flush()
    return "forwarded"


HANDLERS = {
    "payment_intent.succeeded": on_payment_succeeded,
    "payment_intent.payment_failed": on_payment_failed,
    "payment_intent.canceled": on_payment_canceled,
    "charge.refunded": on_charge_refunded,
    "refund.created": on_refund_event,
    "refund.updated": on_refund_event,
    "charge.refund.updated": on_refund_event,
    "charge.dispute.created": on_dispute,
    "charge.dispute.closed": on_dispute,
    "transfer.created": on_transfer,
    "transfer.reversed": on_transfer,
    "payout.paid": on_payout,
    "payout.failed": on_payout,
    "account.updated": on_account_updated,
}

