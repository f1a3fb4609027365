"""Order timeouts, set-based per tenant: cancel unpaid orders, complete shipped ones.

Retail orders wait for payment minutes (settings.orders.auto_cancel_minutes, 30); purchase and
replenishment orders are paid by bank transfer or on account and wait their payment terms in
days (settings.orders.payment_terms_days, 30). A transfer confirmed after the order was cancelled
does not pay it: `payment_hooks.accepts_payment` says so, and the money is an unapplied receipt.
"""

import uuid
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.db import utcnow
from app.orders.fulfilment import after_cancelled, after_completed
from app.orders.models import Order, OrderFlow
from app.orders.transitions import SYSTEM, advance_due
from app.tenancy.models import Tenant

DEFAULT_CANCEL_MINUTES = 30
DEFAULT_PAYMENT_TERMS_DAYS = 30
DEFAULT_COMPLETE_DAYS = 10


def order_settings(tenant: Tenant) -> dict:
    return (tenant.settings or {}).get("orders", {})


def cancel_unpaid(session: Session, *, tenant: Tenant, now: datetime | None = None) -> list[uuid.UUID]:
    """Unpaid past its terms → cancelled, stock released: retail after auto_cancel_minutes (30),
    purchase and replenishment after payment_terms_days (30)."""
    settings, now = order_settings(tenant), now or utcnow()
    minutes = int(settings.get("auto_cancel_minutes", DEFAULT_CANCEL_MINUTES))
    days = int(settings.get("payment_terms_days", DEFAULT_PAYMENT_TERMS_DAYS))
    ids = advance_due(session, tenant_id=tenant.id, action="cancel", due_column=Order.created_at,
                      before=now - timedelta(minutes=minutes), note="timeout",
                      where=Order.flow == OrderFlow.retail)
    ids += advance_due(session, tenant_id=tenant.id, action="cancel", due_column=Order.created_at,
                       before=now - timedelta(days=days), note="payment terms expired",
                       where=Order.flow != OrderFlow.retail)
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
