"""Shipping (partial shipments, pick-up), receipt, cancellation, and their stock moves and events."""

import uuid
from collections import defaultdict

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.db import one_of, uuid7
from app.orders import events, locks, stock_moves
from app.orders.aftersales import require_buyer_side, require_seller, returned_qty
from app.orders.audit import audit_order
from app.orders.errors import InvalidShipment, NotTheBuyer
from app.orders.models import Order, OrderFlow, OrderLine, OrderStatus, Shipment
from app.orders.queries import get_order, lines_of, seller_side
from app.orders.transitions import Actor, actor_of, advance_order, order_target
from app.tenancy.permissions import Action, require
from app.tenancy.scope import Scope

PICKUP = "pickup"


def ship(session: Session, scope: Scope, *, order_id: uuid.UUID, carrier: str,
         tracking_number: str | None = None, lines: list[dict] | None = None) -> Shipment:
    """Ship some units of some lines (all open units by default); the order is shipped when none are left."""
    require(scope, Action.ship_order)
    order = get_order(session, scope, order_id)
    require_seller(scope, order, Action.ship_order)
    order = locks.lock_order(session, order.tenant_id, order.id)  # the order row first, always
    order_target(order.status, "ship")  # only a paid order ships; the state machine words the refusal
    order_lines = locks.fresh_lines(session, order)
    picked = _pick(order_lines, lines)
    for line, qty in picked:
        line.shipped_qty += qty
    shipment = Shipment(tenant_id=order.tenant_id, id=uuid7(), order_id=order.id, carrier=carrier,
                        tracking_number=tracking_number, shipped_by=scope.actor_id,
                        lines=[{"line_id": str(line.id), "qty": qty} for line, qty in picked],
                        owner_path=order.owner_path, seller_path=order.seller_path,
                        buyer_consumer_id=order.buyer_consumer_id)
    session.add(shipment)
    stock_moves.apply(session, verb="ship", tenant_id=order.tenant_id, org_id=order.seller_org_id,
                      moves=[(line.sku_id, qty) for line, qty in picked], order_id=order.id)
    mark_shipped_if_done(session, scope, order=order, lines=order_lines)
    audit_order(session, scope, order, Action.ship_order, shipment_id=shipment.id, carrier=carrier)
    session.flush()
    return shipment


def _pick(order_lines: list[OrderLine], wanted: list[dict] | None) -> list[tuple[OrderLine, int]]:
    if wanted is None:
        picked = [(line, line.open_qty) for line in order_lines if line.open_qty > 0]
    else:
        by_id = {line.id: line for line in order_lines}
        picked = []
        for item in wanted:
            line = by_id.get(item["line_id"])
            if line is None:
                raise InvalidShipment("A shipment line is not a line of this order.")
            if not 0 < item["qty"] <= line.open_qty:
                raise InvalidShipment(f"Line {line.line_no} has {line.open_qty} units left to ship.")
            picked.append((line, item["qty"]))
        if len({line.id for line, _ in picked}) != len(picked):
            raise InvalidShipment("Each order line may appear once in a shipment.")
    if not picked:
        raise InvalidShipment("Nothing is left to ship.")
    return picked


def mark_shipped_if_done(session: Session, scope: Scope, *, order: Order,
                         lines: list[OrderLine] | None = None) -> None:
    """paid → shipped once every unit is shipped or released (and at least one was shipped)."""
    if order.status is not OrderStatus.paid:
        return
    lines = lines if lines is not None else lines_of(session, order)
    if any(line.open_qty for line in lines) or not any(line.shipped_qty for line in lines):
        return
    session.flush()
    advance_order(session, order, "ship", actor=actor_of(scope))
    shipments = session.scalars(select(Shipment.id).where(
        Shipment.tenant_id == order.tenant_id, Shipment.order_id == order.id)).all()
    events.emit(session, order, "order.shipped", {
        **events.order_payload(order, lines), "shipment_ids": [str(s) for s in shipments],
        "shipped": [{"line_id": str(line.id), "qty": line.shipped_qty} for line in lines]})


def pick_up(session: Session, scope: Scope, *, order_id: uuid.UUID) -> Order:
    """The member collects a retail order at the store: shipped and completed at once."""
    require(scope, Action.ship_order)
    order = get_order(session, scope, order_id)
    require_seller(scope, order, Action.ship_order)
    ship(session, scope, order_id=order_id, carrier=PICKUP)
    return complete(session, scope, order_id=order_id, on_behalf=True)


def complete(session: Session, scope: Scope, *, order_id: uuid.UUID, on_behalf: bool = False) -> Order:
    """The buyer confirms receipt: shipped → completed; an org buyer receives the goods into stock."""
    require(scope, Action.ship_order if on_behalf else Action.confirm_receipt)
    order = get_order(session, scope, order_id)
    if not (on_behalf and seller_side(scope, order)):
        require_buyer_side(scope, order)
    order = locks.lock_order(session, order.tenant_id, order.id)
    advance_order(session, order, "complete", actor=actor_of(scope))
    after_completed(session, [order], actor_of(scope))
    audit_order(session, scope, order, Action.confirm_receipt, on_behalf=on_behalf)
    session.flush()
    return order


def after_completed(session: Session, orders: list[Order], actor: Actor) -> None:
    """Goods of purchase/replenish orders arrive in the buyer org; order.completed per order."""
    lines_by_order = _lines_by_order(session, orders)
    for order in orders:
        lines = lines_by_order[order.id]
        if order.flow is not OrderFlow.retail:
            returned = returned_qty(session, order)  # sent back before arriving: never received
            stock_moves.apply(session, verb="receive", tenant_id=order.tenant_id,
                              org_id=order.buyer_org_id, order_id=order.id,
                              moves=[(line.sku_id, line.shipped_qty - returned.get(line.id, 0))
                                     for line in lines])
        events.emit(session, order, "order.completed", events.order_payload(order, lines))


def cancel(session: Session, scope: Scope, *, order_id: uuid.UUID, reason: str = "buyer") -> Order:
    """Cancel an unpaid order (buyer or seller); its reserved stock is released."""
    require(scope, Action.cancel_order)
    order = get_order(session, scope, order_id)
    if seller_side(scope, order):
        require(scope, Action.cancel_order, on=order.seller_path)
    else:
        try:
            require_buyer_side(scope, order)
        except NotTheBuyer:
            raise NotTheBuyer("Only the buyer or the seller can cancel an order.") from None
    order = locks.lock_order(session, order.tenant_id, order.id)
    advance_order(session, order, "cancel", actor=actor_of(scope), note=reason,
                  values={"cancel_reason": reason[:40]})
    after_cancelled(session, [order])
    audit_order(session, scope, order, Action.cancel_order, reason=reason)
    session.flush()
    return order


def after_cancelled(session: Session, orders: list[Order]) -> None:
    """Release what the orders still had reserved; order.cancelled per order."""
    lines_by_order = _lines_by_order(session, orders)
    for order in orders:
        lines = lines_by_order[order.id]
        stock_moves.apply(session, verb="release", tenant_id=order.tenant_id,
                          org_id=order.seller_org_id, order_id=order.id,
                          moves=[(line.sku_id, line.open_qty) for line in lines])
        events.emit(session, order, "order.cancelled",
                    {**events.order_payload(order, lines), "reason": order.cancel_reason})


def _lines_by_order(session: Session, orders: list[Order]) -> dict[uuid.UUID, list[OrderLine]]:
    result: dict[uuid.UUID, list[OrderLine]] = defaultdict(list)
    if not orders:
        return result
    for line in session.scalars(select(OrderLine).where(
            OrderLine.tenant_id == orders[0].tenant_id,
            one_of(session, OrderLine.order_id, [order.id for order in orders])).order_by(OrderLine.line_no)):
        result[line.order_id].append(line)
    return result
