"""Payments' event subscriptions and periodic tasks; the gateway is passed in by app.bootstrap."""

import uuid

from sqlalchemy.orm import Session

from app.payments.gateway import PaymentGateway
from app.payments.refunds import execute_refund
from app.platform.models import OutboxEvent
from app.platform.outbox import receipt


@receipt("app.payments.refunds.refund_when_approved")  # its receipts predate the move to this module
def refund_when_approved(session: Session, event: OutboxEvent, gateway: PaymentGateway) -> None:
    """Claim the approved refund's money; the gateway is asked once the relay commits the claim."""
    execute_refund(session, tenant_id=event.tenant_id, refund_id=uuid.UUID(event.payload["refund_id"]),
                   gateway=gateway)


EVENT_HANDLERS = {
    "order.refund_approved": [refund_when_approved],
}

BEAT_SCHEDULE = {
    # stored Stripe events that nobody processed (a lost enqueue, a crash, an earlier error)
    "sweep-webhook-events": {"task": "app.payments.tasks.sweep_webhook_events", "schedule": 60.0},
    # refunds claimed but never answered (a crash, a lost enqueue, a gateway outage): looked up, resent
    "recover-refunds": {"task": "app.payments.tasks.recover_refunds", "schedule": 300.0},
}
