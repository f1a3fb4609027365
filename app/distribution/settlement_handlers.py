"""Settlement's event subscriptions and periodic tasks (installed by app.bootstrap after the ledger's).

The takings handler runs after the commission handlers of the same event (DOMAINS order), and
catches up on every later event of the order anyway (app/distribution/takings.py).
"""

import uuid

from sqlalchemy.orm import Session

from app.distribution.payouts import payout_reversed
from app.distribution.takings import record_takings
from app.platform.models import OutboxEvent


def reopen_on_transfer_reversed(session: Session, event: OutboxEvent) -> None:
    """payment.transfer_reversed (forwarded by the payments webhook): the payout came back."""
    metadata = event.payload.get("metadata") or {}
    if not metadata.get("statement_id"):
        return  # not one of our payouts
    uuid.UUID(metadata["statement_id"])  # a malformed id is an error worth a dead letter
    payout_reversed(session, tenant_id=event.tenant_id, transfer_id=event.payload["transfer_id"])


EVENT_HANDLERS = {
    "order.paid": [record_takings],
    "order.refunded": [record_takings],
    "order.refund_bounced": [record_takings],
    "order.completed": [record_takings],
    "payment.transfer_reversed": [reopen_on_transfer_reversed],
}

BEAT_SCHEDULE = {
    # every hour: the last closed period of each tenant (idempotent; catches late availability)
    "distribution-run-settlements": {"task": "app.distribution.settlement_tasks.run_due_settlements",
                                     "schedule": 3600.0},
    # claimed payouts without an answer (a crash, a lost enqueue, a gateway outage): same key again
    "distribution-recover-payouts": {"task": "app.distribution.settlement_tasks.recover_payouts",
                                     "schedule": 300.0},
}
