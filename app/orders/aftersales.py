"""After-sales: per-line refund requests (refund only, return and refund), the seller's decision."""

import uuid

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.db import utcnow, uuid7
from app.orders import events, rules, stock_moves
from app.orders.audit import audit_order
from app.orders.errors import InvalidOrder, NotTheBuyer, NotTheSeller, RefundTooLarge
from app.orders.models import (
    Order,
    OrderFlow,
    OrderHistory,
    OrderLine,
    Refund,
    RefundKind,
    RefundLine,
    RefundStatus,
)
from app.orders.queries import get_order, get_refund, lines_of, refund_lines_of, seller_side
from app.orders.transitions import actor_of, advance_refund, require_refundable
from app.tenancy.permissions import Action, require
from app.tenancy.scope import Scope

OPEN = (RefundStatus.refund_requested, RefundStatus.refund_approved, RefundStatus.refunded)


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


def claimed(session: Session, order: Order) -> dict[uuid.UUID, tuple[int, int]]:
    """Per order line: (units, amount) already claimed by refunds that are not rejected."""
    rows = session.execute(
        select(RefundLine.order_line_id, func.sum(RefundLine.qty), func.sum(RefundLine.amount_minor))
        .join(Refund, (Refund.tenant_id == RefundLine.tenant_id) & (Refund.id == RefundLine.refund_id))
        .where(Refund.tenant_id == order.tenant_id, Refund.order_id == order.id,
               Refund.status.in_(OPEN))
        .group_by(RefundLine.order_line_id))
    return {line_id: (int(qty), int(amount)) for line_id, qty, amount in rows}


def request_refund(session: Session, scope: Scope, *, order_id: uuid.UUID, kind: RefundKind,
                   lines: list[dict], amount_minor: int | None = None,
                   reason: str | None = None) -> Refund:
    """Ask for money back on some units of some lines; the amount defaults to what they are worth."""
    require(scope, Action.request_refund)
    order = get_order(session, scope, order_id)
    require_buyer_side(scope, order)
    require_refundable(order)
    by_id = {line.id: line for line in lines_of(session, order)}
    already = claimed(session, order)
    parts, values = [], []
    for wanted in lines:
        line = by_id.get(wanted["line_id"])
        if line is None:
            raise InvalidOrder("A refund line is not a line of this order.")
        claimed_qty, _ = already.get(line.id, (0, 0))
        if wanted["qty"] > line.qty - claimed_qty:
            raise RefundTooLarge(f"Line {line.line_no} has {line.qty - claimed_qty} units left to refund.")
        if kind is RefundKind.return_and_refund and wanted["qty"] > line.shipped_qty - claimed_qty:
            raise RefundTooLarge(f"Line {line.line_no}: only shipped units can be returned.")
        parts.append((line, wanted["qty"]))
        values.append(rules.refundable_value(line.total_minor, line.qty, claimed_qty, wanted["qty"]))
    if len({line.id for line, _ in parts}) != len(parts):
        raise InvalidOrder("Each order line may appear once in a refund.")
    amount = sum(values) if amount_minor is None else amount_minor
    if amount > sum(values):
        raise RefundTooLarge(f"These units are worth {sum(values)} at most.")
    if amount <= 0:
        raise InvalidOrder("A refund must be for a positive amount.")
    shares = rules.split_refund(amount, values)
    refund = Refund(tenant_id=order.tenant_id, id=uuid7(), order_id=order.id, kind=kind,
                    status=RefundStatus.refund_requested, amount_minor=amount, currency=order.currency,
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


def approve_refund(session: Session, scope: Scope, *, refund_id: uuid.UUID,
                   note: str | None = None) -> Refund:
    """The seller agrees: units not yet shipped go back to stock, returned units are restocked."""
    require(scope, Action.approve_refund)
    refund = get_refund(session, scope, refund_id)
    order = get_order(session, scope, refund.order_id)
    require_seller(scope, order, Action.approve_refund)
    advance_refund(session, refund, "approve", actor=actor_of(scope), note=note,
                   values={"decided_by_id": scope.actor_id, "decided_at": utcnow(), "decision_note": note})
    refund_lines = refund_lines_of(session, refund)
    released, restocked = [], []
    for part in refund_lines:
        line = session.get(OrderLine, (order.tenant_id, part.order_line_id))
        release = min(part.qty, line.open_qty) if refund.kind is RefundKind.refund_only else 0
        line.released_qty += release
        released.append((line.sku_id, release))
        if refund.kind is RefundKind.return_and_refund:
            restocked.append((line.sku_id, part.qty))
    stock_moves.apply(session, verb="release", tenant_id=order.tenant_id, org_id=order.seller_org_id,
                      moves=released, order_id=order.id)
    stock_moves.apply(session, verb="restock", tenant_id=order.tenant_id, org_id=order.seller_org_id,
                      moves=restocked, order_id=order.id)
    from app.orders.fulfilment import mark_shipped_if_done  # noqa: PLC0415  (fulfilment imports us)

    mark_shipped_if_done(session, scope, order=order)
    events.emit(session, order, "order.refund_approved", events.refund_payload(refund, refund_lines))
    audit_order(session, scope, order, Action.approve_refund, refund_id=refund.id, amount=refund.amount_minor)
    session.flush()
    return refund


def reject_refund(session: Session, scope: Scope, *, refund_id: uuid.UUID,
                  note: str | None = None) -> Refund:
    require(scope, Action.reject_refund)
    refund = get_refund(session, scope, refund_id)
    order = get_order(session, scope, refund.order_id)
    require_seller(scope, order, Action.reject_refund)
    advance_refund(session, refund, "reject", actor=actor_of(scope), note=note,
                   values={"decided_by_id": scope.actor_id, "decided_at": utcnow(), "decision_note": note})
    audit_order(session, scope, order, Action.reject_refund, refund_id=refund.id, amount=refund.amount_minor)
    session.flush()
    return refund


def _scope_columns(order: Order) -> dict:
    return {"owner_path": order.owner_path, "seller_path": order.seller_path,
            "buyer_consumer_id": order.buyer_consumer_id}
