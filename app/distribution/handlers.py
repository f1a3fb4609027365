"""Distribution's event subscriptions and beat entries: commissions follow the order's life.

Each handler is idempotent on its own (unique source keys, targets computed from committed
state), on top of the outbox's receipt per (event, handler).
"""

import uuid

from sqlalchemy.orm import Session

from app.distribution import accrual
from app.platform.models import OutboxEvent


def accrue_commissions(session: Session, event: OutboxEvent) -> None:
    if event.payload.get("flow") != "retail" or not event.payload.get("buyer_consumer_id"):
        return  # only a consumer's retail order has a commission snapshot
    accrual.accrue_paid_order(session, tenant_id=event.tenant_id, order_id=event.subject_id)


def start_commission_freeze(session: Session, event: OutboxEvent) -> None:
    accrual.start_freeze_clock(session, tenant_id=event.tenant_id, order_id=event.subject_id)


def reverse_commissions(session: Session, event: OutboxEvent) -> None:
    accrual.reverse_refund(session, tenant_id=event.tenant_id, order_id=event.subject_id,
                           refund_id=uuid.UUID(event.payload["refund_id"]))


EVENT_HANDLERS = {
    "order.paid": [accrue_commissions],
    "order.completed": [start_commission_freeze],
    "order.refunded": [reverse_commissions],
}

BEAT_SCHEDULE = {
    "distribution-release-commissions": {"task": "app.distribution.tasks.release_commissions",
                                         "schedule": 3600.0},
}
