"""After-sales: per-line refund requests (refund only, return and refund), the seller's decision."""

import uuid

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from app.db import utcnow, uuid7
from app.orders import events, locks, rules, stock_moves
from app.orders.audit import audit_order
from app.orders.errors import InvalidOrder, NotTheBuyer, NotTheSeller, RefundTooLarge
from app.orders.models import (
    Order,
    OrderFlow,
    OrderHistory,
    OrderLine,
    OrderStatus,
    Refund,
    RefundKind,
    RefundLine,
    RefundStatus,
)
from app.orders.queries import get_order, get_refund, refund_lines_of, seller_side
from app.orders.transitions import actor_of, advance_refund, require_refundable, set_committed
from app.tenancy.elevation import Why, elevated
from app.tenancy.permissions import Action, require
from app.tenancy.scope import Scope, system_scope

# Refunds that hold their claim; a rejected one gives it back.
OPEN = (RefundStatus.refund_requested, RefundStatus.refund_approved, RefundStatus.refund_failed,
        RefundStatus.refunded)
HELD = (RefundStatus.refund_approved, RefundStatus.refund_failed, RefundStatus.refunded)


def require_buyer_side(scope: Scope, order: Order) -> None:
    """The buying consumer, the buying org's staff, or (retail) the selling store acting for its member."""
    if scope.consumer_id is not None and scope.consumer_id == order.buyer_consumer_id:
        return
    if scope.is_staff and scope.org_id is not None and scope.org_id == order.buyer_org_id:
        return
    if scope.is_staff and order.flow is OrderFlow.retail and scope.org_id == order.seller_org_id:
        return
    raise NotTheBuyer("Only the buyer can do this.")


def require_seller(scope: Scope, order: Order, action: Action) -> None:
    """The selling org, or an org above it where the role's reach for `action` is its subtree."""
    if not seller_side(scope, order):
        raise NotTheSeller("Only the seller (or an org above it) can do this.")
    require(scope, action, on=order.seller_path)


def request_refund(session: Session, scope: Scope, *, order_id: uuid.UUID, kind: RefundKind,
                   lines: list[dict], amount_minor: int | None = None,
                   reason: str | None = None) -> Refund:
    """Ask for money back on some units of some lines; the amount defaults to what they are worth.

    The units and amount are claimed on the order lines by conditional UPDATEs under the order
    row lock, so parallel requests for the same unit cannot both be accepted. Claiming the last
    unit of a paid order of which nothing shipped claims the shipping fee too.
    """
    require(scope, Action.request_refund)
    order = get_order(session, scope, order_id)
    require_buyer_side(scope, order)
    order = locks.lock_order(session, order.tenant_id, order.id)
    require_refundable(order)
    order_lines = locks.fresh_lines(session, order)
    by_id = {line.id: line for line in order_lines}
    parts, values = [], []
    for wanted in lines:
        line = by_id.get(wanted["line_id"])
        if line is None:
            raise InvalidOrder("A refund line is not a line of this order.")
        left = line.qty - line.claimed_qty
        if wanted["qty"] > left:
            raise RefundTooLarge(f"Line {line.line_no} has {left} units left to refund.")
        if kind is RefundKind.return_and_refund and wanted["qty"] > line.shipped_qty - line.claimed_qty:
            raise RefundTooLarge(f"Line {line.line_no}: only shipped units can be returned.")
        parts.append((line, wanted["qty"]))
        values.append(min(rules.refundable_value(line.total_minor, line.qty, line.claimed_qty, wanted["qty"]),
                          line.total_minor - line.claimed_minor))
    if len({line.id for line, _ in parts}) != len(parts):
        raise InvalidOrder("Each order line may appear once in a refund.")
    amount = sum(values) if amount_minor is None else amount_minor
    if amount > sum(values):
        raise RefundTooLarge(f"These units are worth {sum(values)} at most.")
    if amount <= 0:
        raise InvalidOrder("A refund must be for a positive amount.")
    shares = rules.split_refund(amount, values)
    shipping = _shipping_due(order, order_lines, dict((line.id, qty) for line, qty in parts))
    for (line, qty), share in zip(parts, shares, strict=True):
        _claim_line(session, line, qty, share, returns=kind is RefundKind.return_and_refund)
    _claim_order(session, order, amount + shipping)
    refund = Refund(tenant_id=order.tenant_id, id=uuid7(), order_id=order.id, kind=kind,
                    status=RefundStatus.refund_requested, amount_minor=amount + shipping,
                    shipping_minor=shipping, currency=order.currency,
                    reason=reason, requested_by_kind=scope.actor_kind, requested_by_id=scope.actor_id,
                    **_scope_columns(order))
    session.add(refund)
    session.flush()
    session.add_all(RefundLine(tenant_id=order.tenant_id, id=uuid7(), refund_id=refund.id,
                               order_line_id=line.id, qty=qty, amount_minor=share, **_scope_columns(order))
                    for (line, qty), share in zip(parts, shares, strict=True))
    session.add(OrderHistory(tenant_id=order.tenant_id, id=uuid7(), order_id=order.id,
                             refund_id=refund.id, action="request_refund", from_status=None,
                             to_status=refund.status.value, actor_kind=scope.actor_kind,
                             actor_id=scope.actor_id, note=reason, **_scope_columns(order)))
    session.flush()
    return refund


def _shipping_due(order: Order, order_lines: list[OrderLine], wanted: dict[uuid.UUID, int]) -> int:
    """The shipping fee, when this claim takes the last units of a paid order nothing of which shipped."""
    if order.status is not OrderStatus.paid or any(line.shipped_qty for line in order_lines):
        return 0
    if any(line.claimed_qty + wanted.get(line.id, 0) < line.qty for line in order_lines):
        return 0
    return order.shipping_minor


def _claim_line(session: Session, line: OrderLine, qty: int, amount: int, *, returns: bool) -> None:
    """Reserve units and amount on one line; refused if another claim got there first."""
    limit = OrderLine.shipped_qty if returns else OrderLine.qty
    with elevated(session, Why.settle_payment, scope=system_scope(line.tenant_id)):
        claimed_now = session.execute(
            update(OrderLine)
            .where(OrderLine.tenant_id == line.tenant_id, OrderLine.id == line.id,
                   OrderLine.claimed_qty + qty <= limit,
                   OrderLine.claimed_minor + amount <= OrderLine.total_minor)
            .values(claimed_qty=OrderLine.claimed_qty + qty, claimed_minor=OrderLine.claimed_minor + amount)
            .returning(OrderLine.claimed_qty, OrderLine.claimed_minor)
            .execution_options(synchronize_session=False)).first()
    if claimed_now is None:
        raise RefundTooLarge(f"Line {line.line_no}: those units are already claimed by another refund.")
    set_committed(line, "claimed_qty", claimed_now.claimed_qty)
    set_committed(line, "claimed_minor", claimed_now.claimed_minor)


def _claim_order(session: Session, order: Order, amount: int) -> None:
    with elevated(session, Why.settle_payment, scope=system_scope(order.tenant_id)):
        claimed_now = session.execute(
            update(Order)
            .where(Order.tenant_id == order.tenant_id, Order.id == order.id,
                   Order.refund_claimed_minor + amount <= Order.total_minor)
            .values(refund_claimed_minor=Order.refund_claimed_minor + amount)
            .returning(Order.refund_claimed_minor).execution_options(synchronize_session=False)).scalar()
    if claimed_now is None:
        left = order.total_minor - order.refund_claimed_minor
        raise RefundTooLarge(f"The order has {left} left to refund.")
    set_committed(order, "refund_claimed_minor", claimed_now)


def release_claims(session: Session, refund: Refund, refund_lines: list[RefundLine]) -> None:
    """A refund that will not be paid (rejected) gives its units and amount back to the lines."""
    with elevated(session, Why.settle_payment, scope=system_scope(refund.tenant_id)):
        for part in refund_lines:
            session.execute(
                update(OrderLine)
                .where(OrderLine.tenant_id == refund.tenant_id, OrderLine.id == part.order_line_id)
                .values(claimed_qty=OrderLine.claimed_qty - part.qty,
                        claimed_minor=OrderLine.claimed_minor - part.amount_minor)
                .execution_options(synchronize_session=False))
        session.execute(
            update(Order).where(Order.tenant_id == refund.tenant_id, Order.id == refund.order_id)
            .values(refund_claimed_minor=Order.refund_claimed_minor - refund.amount_minor)
            .execution_options(synchronize_session=False))


def _fresh_refund(session: Session, refund: Refund) -> Refund:
    session.refresh(refund)
    return refund


def approve_refund(session: Session, scope: Scope, *, refund_id: uuid.UUID,
                   note: str | None = None) -> Refund:
    """The seller agrees: units not yet shipped go back to stock, returned units are restocked."""
    require(scope, Action.approve_refund)
    refund = get_refund(session, scope, refund_id)
    order = get_order(session, scope, refund.order_id)
    require_seller(scope, order, Action.approve_refund)
    order = locks.lock_order(session, order.tenant_id, order.id)
    refund = _fresh_refund(session, refund)
    _recheck(session, order, refund)
    advance_refund(session, refund, "approve", actor=actor_of(scope), note=note,
                   values={"decided_by_id": scope.actor_id, "decided_at": utcnow(), "decision_note": note})
    refund_lines = refund_lines_of(session, refund)
    by_id = {line.id: line for line in locks.fresh_lines(session, order)}
    released, restocked = [], []
    for part in refund_lines:
        line = by_id[part.order_line_id]
        release = min(part.qty, line.open_qty) if refund.kind is RefundKind.refund_only else 0
        if release:
            _increment_line(session, line, released_qty=release)
        released.append((line.sku_id, release))
        if refund.kind is RefundKind.return_and_refund:
            restocked.append((line.sku_id, part.qty))
    stock_moves.apply(session, verb="release", tenant_id=order.tenant_id, org_id=order.seller_org_id,
                      moves=released, order_id=order.id)
    stock_moves.apply(session, verb="restock", tenant_id=order.tenant_id, org_id=order.seller_org_id,
                      moves=restocked, order_id=order.id)
    from app.orders.fulfilment import mark_shipped_if_done  # noqa: PLC0415  (fulfilment imports us)

    mark_shipped_if_done(session, scope, order=order, lines=list(by_id.values()))
    events.emit(session, order, "order.refund_approved", events.refund_payload(refund, refund_lines))
    audit_order(session, scope, order, Action.approve_refund, refund_id=refund.id, amount=refund.amount_minor)
    session.flush()
    return refund


def _recheck(session: Session, order: Order, refund: Refund) -> None:
    """Approval re-counts: what approved and paid refunds hold plus this one fits in the order."""
    require_refundable(order)
    held = session.scalar(select(func.coalesce(func.sum(Refund.amount_minor), 0)).where(
        Refund.tenant_id == order.tenant_id, Refund.order_id == order.id, Refund.id != refund.id,
        Refund.status.in_(HELD)))
    if int(held) + refund.amount_minor > order.total_minor:
        raise RefundTooLarge(f"The order has {order.total_minor - int(held)} left to refund.")


def _increment_line(session: Session, line: OrderLine, **deltas: int) -> None:
    """SQL increments on one line (never `line.x += n` on a row loaded earlier)."""
    with elevated(session, Why.settle_payment, scope=system_scope(line.tenant_id)):
        row = session.execute(
            update(OrderLine).where(OrderLine.tenant_id == line.tenant_id, OrderLine.id == line.id)
            .values({name: getattr(OrderLine, name) + delta for name, delta in deltas.items()})
            .returning(*(getattr(OrderLine, name) for name in deltas))
            .execution_options(synchronize_session=False)).one()
    for name, value in zip(deltas, row, strict=True):
        set_committed(line, name, value)


def reject_refund(session: Session, scope: Scope, *, refund_id: uuid.UUID,
                  note: str | None = None) -> Refund:
    """The seller refuses: the claimed units and amount are free again."""
    require(scope, Action.reject_refund)
    refund = get_refund(session, scope, refund_id)
    order = get_order(session, scope, refund.order_id)
    require_seller(scope, order, Action.reject_refund)
    locks.lock_order(session, order.tenant_id, order.id)
    refund = _fresh_refund(session, refund)
    advance_refund(session, refund, "reject", actor=actor_of(scope), note=note,
                   values={"decided_by_id": scope.actor_id, "decided_at": utcnow(), "decision_note": note})
    release_claims(session, refund, refund_lines_of(session, refund))
    audit_order(session, scope, order, Action.reject_refund, refund_id=refund.id, amount=refund.amount_minor)
    session.flush()
    return refund


def _scope_columns(order: Order) -> dict:
    return {"owner_path": order.owner_path, "seller_path": order.seller_path,
            "buyer_consumer_id": order.buyer_consumer_id}
