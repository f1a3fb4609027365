"""Every row lock of the order aggregate, in one place and one order: the order row first.

Ship, refund requests, approvals, execution and timeouts all start by locking the order row, so
two of them on one order queue up instead of taking line, stock and payment rows in different
orders and deadlocking (ship vs refund did, once). Like saleor's `order/lock_objects.py`.

Locking is not reading: the caller has already found the order in its own scope (404 otherwise),
so the lock is taken as the tenant's system, whatever the caller may write itself.
SQLite ignores FOR UPDATE; it lets one writer at a time anyway.
"""

import uuid

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.errors import NotFound
from app.orders.models import Order, OrderLine
from app.tenancy.elevation import Why, elevated
from app.tenancy.scope import system_scope


def lock_order(session: Session, tenant_id: uuid.UUID, order_id: uuid.UUID) -> Order:
    """SELECT ... FOR UPDATE the order row, then return it as it is now (fresh, in the caller's scope)."""
    with elevated(session, Why.settle_payment, scope=system_scope(tenant_id)):
        locked = session.scalar(select(Order.id).where(Order.tenant_id == tenant_id, Order.id == order_id)
                                .with_for_update())
    order = session.scalars(select(Order).where(Order.tenant_id == tenant_id, Order.id == order_id)
                            .execution_options(populate_existing=True)).one_or_none() if locked else None
    if order is None:
        raise NotFound("No order with that id.")
    return order


def fresh_lines(session: Session, order: Order) -> list[OrderLine]:
    """The order's lines as committed now; call after lock_order (no other writer can move them)."""
    return list(session.scalars(
        select(OrderLine).where(OrderLine.tenant_id == order.tenant_id, OrderLine.order_id == order.id)
        .order_by(OrderLine.line_no).execution_options(populate_existing=True)))
