"""Audit entries for actions on an order (cancel, ship, receipt, refund decisions, payment).

They travel as order events (`events.emit`), which also lets a consumer's own cancellation be
recorded: a consumer's scope may not write the outbox itself. The subject is the order.
"""

from sqlalchemy.orm import Session

from app.orders import events
from app.orders.models import Order
from app.platform.audit import AUDITED
from app.tenancy.network import actor_payload
from app.tenancy.permissions import Action
from app.tenancy.scope import Scope


def audit_order(session: Session, scope: Scope, order: Order, action: Action, **details) -> None:
    """Record that the caller did `action` on `order` (who, from which org, and the amounts)."""
    if action.value not in AUDITED:
        raise ValueError(f"{action} is not an audited action")
    plain = {key: str(value) if not isinstance(value, int | str | None) else value
             for key, value in details.items()}
    events.emit(session, order, action.value, {
        "subject_type": "order", "flow": order.flow.value, "seller_org_id": str(order.seller_org_id),
        "total_minor": order.total_minor, "currency": order.currency, **plain,
        **actor_payload(scope)})
