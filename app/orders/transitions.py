"""The order and after-sales state machine: every status change goes through here.

Each change is a conditional UPDATE (`... WHERE status IN (allowed sources)`), so two racing
callers cannot both move the same order; the loser gets 409 'illegal_transition'. Every change
writes one history row (who, when, from → to).
"""

import uuid
from datetime import datetime
from typing import NamedTuple

from sqlalchemy import insert, update
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from app.db import utcnow, uuid7
from app.orders.errors import IllegalTransition
from app.orders.models import Order, OrderHistory, OrderStatus, Refund, RefundStatus
from app.tenancy.enums import ActorKind
from app.tenancy.scope import Scope

S, R = OrderStatus, RefundStatus

ORDER_TRANSITIONS: dict[str, tuple[frozenset[OrderStatus], OrderStatus]] = {
    "pay": (frozenset({S.pending_payment}), S.paid),
    "ship": (frozenset({S.paid}), S.shipped),
    "complete": (frozenset({S.shipped}), S.completed),
    "cancel": (frozenset({S.pending_payment}), S.cancelled),
    # Every unit refunded before any shipped: the shipping fee went back too; the order ends.
    "close": (frozenset({S.paid}), S.closed),
}

REFUND_TRANSITIONS: dict[str, tuple[frozenset[RefundStatus], RefundStatus]] = {
    "approve": (frozenset({R.refund_requested}), R.refund_approved),
    "reject": (frozenset({R.refund_requested}), R.refund_rejected),
    "execute": (frozenset({R.refund_approved}), R.refunded),
    # The gateway refused the money: the claim stays, finance retries or pays it back offline.
    "fail": (frozenset({R.refund_approved}), R.refund_failed),
    "retry": (frozenset({R.refund_failed}), R.refund_approved),
}

# After-sales may be requested once the order is paid, until (and after) it completes.
REFUNDABLE = frozenset({S.paid, S.shipped, S.completed})

STAMPS = {S.paid: "paid_at", S.shipped: "shipped_at", S.completed: "completed_at",
          S.cancelled: "cancelled_at", S.closed: "closed_at"}


class Actor(NamedTuple):
    kind: ActorKind
    id: uuid.UUID | None = None


SYSTEM = Actor(ActorKind.system)


def actor_of(scope: Scope) -> Actor:
    return Actor(scope.actor_kind, scope.actor_id)


def order_target(status: OrderStatus, action: str) -> OrderStatus:
    """The status `action` leads to from `status`, or IllegalTransition."""
    sources, target = ORDER_TRANSITIONS[action]
    if status not in sources:
        raise IllegalTransition(f"An order that is {status.value} cannot {action}.")
    return target


def refund_target(status: RefundStatus, action: str) -> RefundStatus:
    sources, target = REFUND_TRANSITIONS[action]
    if status not in sources:
        raise IllegalTransition(f"A refund that is {status.value} cannot {action}.")
    return target


def require_refundable(order: Order) -> None:
    if order.status not in REFUNDABLE:
        raise IllegalTransition(f"An order that is {order.status.value} has no after-sales.")


def advance_order(session: Session, order: Order, action: str, *, actor: Actor,
                  note: str | None = None, values: dict | None = None) -> Order:
    """Move one order by `action`; refused if it is not (any longer) in an allowed source status."""
    source = order.status
    target = order_target(source, action)
    now = utcnow()
    changes = {"status": target, "updated_at": now, **(values or {})}
    if target in STAMPS:
        changes[STAMPS[target]] = now
    result = session.execute(
        update(Order)
        .where(Order.tenant_id == order.tenant_id, Order.id == order.id,
               Order.status.in_(ORDER_TRANSITIONS[action][0]))
        .values(changes).execution_options(synchronize_session=False))
    if result.rowcount != 1:
        session.expire(order)
        raise IllegalTransition(f"The order is no longer {source.value}; it cannot {action}.")
    for key, value in changes.items():
        set_committed(order, key, value)
    _history(session, order, action, source.value, target.value, actor, note, refund_id=None)
    return order


def advance_refund(session: Session, refund: Refund, action: str, *, actor: Actor,
                   note: str | None = None, values: dict | None = None) -> Refund:
    """Move one refund by `action`, with the same conditional-update guarantee as orders."""
    source = refund.status
    target = refund_target(source, action)
    changes = {"status": target, **(values or {})}
    result = session.execute(
        update(Refund)
        .where(Refund.tenant_id == refund.tenant_id, Refund.id == refund.id,
               Refund.status.in_(REFUND_TRANSITIONS[action][0]))
        .values(changes).execution_options(synchronize_session=False))
    if result.rowcount != 1:
        session.expire(refund)
        raise IllegalTransition(f"The refund is no longer {source.value}; it cannot {action}.")
    for key, value in changes.items():
        set_committed(refund, key, value)
    _history(session, refund, action, source.value, target.value, actor, note,
             refund_id=refund.id, order_id=refund.order_id)
    return refund


def advance_due(session: Session, *, tenant_id: uuid.UUID, action: str, due_column,
                before: datetime, note: str, where=None) -> list[uuid.UUID]:
    """Set-based: move every order of a tenant in the action's source status, due before `before`
    (and matching `where`, e.g. one flow)."""
    sources, target = ORDER_TRANSITIONS[action]
    now = utcnow()
    changes = {"status": target, "updated_at": now, STAMPS[target]: now}
    if target is S.cancelled:
        changes["cancel_reason"] = "timeout"
    rows = session.execute(
        update(Order)
        .where(Order.tenant_id == tenant_id, Order.status.in_(sources), due_column < before,
               *([where] if where is not None else []))
        .values(changes)
        .returning(Order.id, Order.status, Order.owner_path, Order.seller_path,
                   Order.buyer_consumer_id)
        .execution_options(synchronize_session=False)).all()
    if rows:
        (source,) = sources
        session.execute(insert(OrderHistory), [
            {"tenant_id": tenant_id, "id": uuid7(), "order_id": row.id, "refund_id": None,
             "action": action, "from_status": source.value, "to_status": target.value,
             "actor_kind": ActorKind.system, "actor_id": None, "note": note,
             "owner_path": row.owner_path, "seller_path": row.seller_path,
             "buyer_consumer_id": row.buyer_consumer_id, "created_at": now}
            for row in rows])
    return [row.id for row in rows]


def record_placed(session: Session, order: Order, actor: Actor, *, now: datetime | None = None) -> None:
    """The first history row, written straight away (one INSERT, no unit-of-work bookkeeping)."""
    session.execute(insert(OrderHistory.__table__), [{
        "tenant_id": order.tenant_id, "id": uuid7(), "order_id": order.id, "refund_id": None,
        "action": "place", "from_status": None, "to_status": order.status.value,
        "actor_kind": actor.kind, "actor_id": actor.id, "note": None, "owner_path": order.owner_path,
        "seller_path": order.seller_path, "buyer_consumer_id": order.buyer_consumer_id,
        "created_at": now or utcnow()}])


def _history(session: Session, row, action: str, source: str | None, target: str, actor: Actor,
             note: str | None, *, refund_id: uuid.UUID | None,
             order_id: uuid.UUID | None = None) -> None:
    session.add(OrderHistory(
        tenant_id=row.tenant_id, id=uuid7(), order_id=order_id or row.id, refund_id=refund_id,
        action=action, from_status=source, to_status=target, actor_kind=actor.kind,
        actor_id=actor.id, note=note, owner_path=row.owner_path, seller_path=row.seller_path,
        buyer_consumer_id=row.buyer_consumer_id, created_at=utcnow()))


def set_committed(obj, key: str, value) -> None:
    """Reflect a value the UPDATE already wrote, without marking the object dirty."""
    set_committed_value(obj, key, value)
