"""Order timeouts, set-based per tenant: cancel unpaid orders, complete shipped ones."""

import uuid
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.db import utcnow
from app.orders.fulfilment import after_cancelled, after_completed
from app.orders.models import Order
from app.orders.transitions import SYSTEM, advance_due
from app.tenancy.models import Tenant

DEFAULT_CANCEL_MINUTES = 30
DEFAULT_COMPLETE_DAYS = 10


def order_settings(tenant: Tenant) -> dict:
    return (tenant.settings or {}).get("orders", {})


def cancel_unpaid(session: Session, *, tenant: Tenant, now: datetime | None = None) -> list[uuid.UUID]:
    """pending_payment older than settings.orders.auto_cancel_minutes (30) → cancelled, stock released."""
    minutes = int(order_settings(tenant).get("auto_cancel_minutes", DEFAULT_CANCEL_MINUTES))
    before = (now or utcnow()) - timedelta(minutes=minutes)
    ids = advance_due(session, tenant_id=tenant.id, action="cancel", due_column=Order.created_at,
                      before=before, note="timeout")
    after_cancelled(session, _load(session, tenant.id, ids))
    session.flush()
    return ids


def complete_shipped(session: Session, *, tenant: Tenant, now: datetime | None = None) -> list[uuid.UUID]:
    """shipped longer than settings.orders.auto_complete_days (10) ago → completed."""
    days = int(order_settings(tenant).get("auto_complete_days", DEFAULT_COMPLETE_DAYS))
    before = (now or utcnow()) - timedelta(days=days)
    ids = advance_due(session, tenant_id=tenant.id, action="complete", due_column=Order.shipped_at,
                      before=before, note="timeout")
    after_completed(session, _load(session, tenant.id, ids), SYSTEM)
    session.flush()
    return ids


def _load(session: Session, tenant_id: uuid.UUID, ids: list[uuid.UUID]) -> list[Order]:
    if not ids:
        return []
    return list(session.scalars(
        select(Order).where(Order.tenant_id == tenant_id, Order.id.in_(ids))
        .execution_options(populate_existing=True)))
