"""Membership's event subscriptions and beat entries (installed by app.bootstrap).

Every handler locks the order row and reconciles the order's points or growth to what they
should be now, so a replayed or reordered event changes nothing more.
"""

from sqlalchemy.orm import Session

from app.membership.earning import on_order_paid, on_order_refunded
from app.membership.growth import on_order_changed
from app.platform.models import OutboxEvent


def points_on_paid(session: Session, event: OutboxEvent) -> None:
    """Book the points that paid part of the order; earn pending points on the goods paid."""
    on_order_paid(session, event.tenant_id, event.subject_id)


def points_on_refund(session: Session, event: OutboxEvent) -> None:
    """Take back the refunded share of the earned points (debt for what was already spent)."""
    on_order_refunded(session, event.tenant_id, event.subject_id)


def growth_on_order(session: Session, event: OutboxEvent) -> None:
    """Completed spend grows the member; refunds take their share back."""
    on_order_changed(session, event.tenant_id, event.subject_id)


EVENT_HANDLERS = {
    "order.paid": [points_on_paid],
    "order.completed": [growth_on_order],
    "order.refunded": [points_on_refund, growth_on_order],
}

BEAT_SCHEDULE = {
    "membership-release-points": {"task": "app.membership.tasks.release_pending_points",
                                  "schedule": 900.0},
    "membership-expire-points": {"task": "app.membership.tasks.expire_points", "schedule": 3600.0},
    "membership-reevaluate-levels": {"task": "app.membership.tasks.reevaluate_levels",
                                     "schedule": 86400.0},
    "membership-birthday-gifts": {"task": "app.membership.tasks.birthday_gifts", "schedule": 86400.0},
}
