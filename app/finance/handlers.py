"""Finance's event subscriptions: the journal posts what order events report (idempotent by source key)."""

from sqlalchemy.orm import Session

from app.finance.buyer_postings import post_purchase_paid, post_purchase_refunded
from app.finance.postings import post_order_paid, post_order_refunded, post_refund_bounced
from app.orders.models import Order, PaymentMethod
from app.platform.models import OutboxEvent
from app.platform.outbox import receipt


@receipt("app.finance.postings.journal_order_paid")  # its receipts predate the move to this module
def journal_order_paid(session: Session, event: OutboxEvent) -> None:
    order = session.get(Order, (event.tenant_id, event.subject_id))
    method = event.payload.get("payment_method") or (order.payment_method and order.payment_method.value)
    post_order_paid(session, order=order, amount_minor=int(event.payload["amount_minor"]),
                    method=method or PaymentMethod.stripe.value)


@receipt("app.finance.postings.journal_order_refunded")
def journal_order_refunded(session: Session, event: OutboxEvent) -> None:
    order = session.get(Order, (event.tenant_id, event.subject_id))
    method = order.payment_method.value if order.payment_method else PaymentMethod.stripe.value
    post_order_refunded(session, order=order, refund_id=event.payload["refund_id"],
                        amount_minor=int(event.payload["amount_minor"]), method=method,
                        execution=event.payload.get("gateway_ref"))


def journal_purchase_paid(session: Session, event: OutboxEvent) -> None:
    """The buyer's books of a B2B order: inventory against what it owes (or paid) the seller."""
    order = session.get(Order, (event.tenant_id, event.subject_id))
    method = event.payload.get("payment_method") or (order.payment_method and order.payment_method.value)
    post_purchase_paid(session, order=order, amount_minor=int(event.payload["amount_minor"]),
                       method=method or PaymentMethod.stripe.value)


def journal_purchase_refunded(session: Session, event: OutboxEvent) -> None:
    order = session.get(Order, (event.tenant_id, event.subject_id))
    method = order.payment_method.value if order.payment_method else PaymentMethod.stripe.value
    post_purchase_refunded(session, order=order, refund_id=event.payload["refund_id"],
                           amount_minor=int(event.payload["amount_minor"]), method=method,
                           execution=event.payload.get("gateway_ref"))


def journal_order_refund_bounced(session: Session, event: OutboxEvent) -> None:
    """The refund's money came back (failed after it succeeded): Dr where it went from, Cr returns."""
    order = session.get(Order, (event.tenant_id, event.subject_id))
    method = order.payment_method.value if order.payment_method else PaymentMethod.stripe.value
    post_refund_bounced(session, order=order, event_id=event.id, refund_id=event.payload["refund_id"],
                        amount_minor=int(event.payload["amount_minor"]), method=method)


EVENT_HANDLERS = {
    "order.paid": [journal_order_paid, journal_purchase_paid],
    "order.refunded": [journal_order_refunded, journal_purchase_refunded],
    "order.refund_bounced": [journal_order_refund_bounced],
}

BEAT_SCHEDULE: dict = {
    # exports whose publish was lost run here; expired files are deleted
    "finance-sweep-exports": {"task": "app.finance.tasks.sweep_exports", "schedule": 60.0},
    # finance controls (finance-b): a reconciliation whose enqueue was lost, or whose worker died
    "finance-run-queued-reconciliations": {
        "task": "app.finance.reconcile_tasks.run_queued_reconciliations", "schedule": 300.0},
}
