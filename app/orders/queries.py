"""Reading orders in scope: owner subtree (with grants), seller subtree, or the buying consumer."""

import uuid

from marshmallow.utils import get_value
from sqlalchemy import ColumnElement, select
from sqlalchemy.orm import Session

from app.db import one_of
from app.errors import NotFound
from app.orders.models import Order, OrderHistory, OrderLine, OrderStatus, Refund, RefundLine, Shipment
from app.paging import CursorKey, Page, paginate
from app.tenancy.enums import Dataset, Fidelity
from app.tenancy.filters import visible
from app.tenancy.scope import Scope


def order_visible(model, scope: Scope) -> ColumnElement[bool]:
    """Seen from the buyer's side (owner path) or the seller's (seller path), each through the
    orders view (filters.visible, kind "orders"): the seller org itself sees in full, orgs above
    it by the tenant default and grants, so a `none` narrowing hides the seller's sales too."""
    return visible(model, scope)


def seller_side(scope: Scope, order: Order) -> bool:
    return bool(scope.is_staff and scope.org_path and order.seller_path.startswith(scope.org_path))


def fidelity_of(scope: Scope, order) -> Fidelity:
    """How much of an order (or refund: model or its API dict) the scope sees: the buying
    consumer in full; orgs by the better of the buyer and the seller side."""
    buyer, owner_path, seller_path = (get_value(order, key) for key in (
        "buyer_consumer_id", "owner_path", "seller_path"))
    if scope.consumer_id is not None and buyer == scope.consumer_id:
        return Fidelity.full
    view = scope.view(Dataset.orders)
    return max(view.fidelity_at(owner_path), view.fidelity_at(seller_path),
               key=lambda fidelity: fidelity.rank)


def get_order(session: Session, scope: Scope, order_id: uuid.UUID | None) -> Order:
    """The order if the scope sees it; 404 otherwise, whether or not it exists."""
    order = session.scalars(
        select(Order).where(order_visible(Order, scope), Order.id == order_id)
    ).one_or_none() if order_id is not None else None
    if order is None:
        raise NotFound("No order with that id.")
    return order


def get_refund(session: Session, scope: Scope, refund_id: uuid.UUID | None) -> Refund:
    refund = session.scalars(
        select(Refund).where(order_visible(Refund, scope), Refund.id == refund_id)
    ).one_or_none() if refund_id is not None else None
    if refund is None:
        raise NotFound("No refund with that id.")
    return refund


def lines_of(session: Session, order: Order) -> list[OrderLine]:
    return list(session.scalars(
        select(OrderLine).where(OrderLine.tenant_id == order.tenant_id,
                                OrderLine.order_id == order.id).order_by(OrderLine.line_no)))


def refund_lines_of(session: Session, refund: Refund) -> list[RefundLine]:
    return list(session.scalars(
        select(RefundLine).where(RefundLine.tenant_id == refund.tenant_id,
                                 RefundLine.refund_id == refund.id)))


def list_orders(session: Session, scope: Scope, *, side: str = "all", status: OrderStatus | None = None,
                flow=None, limit: int = 50, cursor: CursorKey | None = None) -> Page[Order]:
    """Orders in scope, newest first; side 'to_me' (I sell) or 'from_me' (my org buys)."""
    statement = select(Order).where(order_visible(Order, scope))
    if side == "to_me":
        statement = statement.where(Order.seller_org_id == scope.org_id)
    elif side == "from_me":
        statement = statement.where(Order.buyer_org_id == scope.org_id)
    if status is not None:
        statement = statement.where(Order.status == status)
    if flow is not None:
        statement = statement.where(Order.flow == flow)
    return paginate(session, statement, Order, limit=limit, cursor=cursor)


def list_refunds(session: Session, scope: Scope, *, status=None, limit: int = 50,
                 cursor: CursorKey | None = None) -> Page[Refund]:
    statement = select(Refund).where(order_visible(Refund, scope))
    if status is not None:
        statement = statement.where(Refund.status == status)
    return paginate(session, statement, Refund, limit=limit, cursor=cursor)


def order_detail(session: Session, scope: Scope, order: Order, *, lines: list[OrderLine] | None = None,
                 with_history: bool = True) -> dict:
    """An order for the API with its lines (and history, shipments, refunds): raw data; the
    response schema (`OrderOut`) masks it at the scope's fidelity."""
    detail = {column.key: getattr(order, column.key) for column in Order.__table__.columns
              if column.key != "request_hash"}
    detail["lines"] = lines if lines is not None else lines_of(session, order)
    if with_history:
        detail["history"] = list(session.scalars(
            select(OrderHistory).where(OrderHistory.tenant_id == order.tenant_id,
                                       OrderHistory.order_id == order.id)
            .order_by(OrderHistory.created_at, OrderHistory.id)))
        detail["shipments"] = list(session.scalars(
            select(Shipment).where(Shipment.tenant_id == order.tenant_id,
                                   Shipment.order_id == order.id).order_by(Shipment.created_at)))
        detail["refunds"] = [refund_detail(session, refund) for refund in session.scalars(
            select(Refund).where(Refund.tenant_id == order.tenant_id, Refund.order_id == order.id)
            .order_by(Refund.created_at))]
    return detail


def refund_detail(session: Session, refund: Refund, *, lines: list[RefundLine] | None = None) -> dict:
    """A refund for the API with its lines: raw data; `RefundOut` redacts its free text."""
    detail = {column.key: getattr(refund, column.key) for column in Refund.__table__.columns}
    detail["lines"] = refund_lines_of(session, refund) if lines is None else lines
    return detail


def refund_page_details(session: Session, page: Page[Refund]) -> Page[dict]:
    """A page of refunds for the API, the lines of all of them read in one statement."""
    lines: dict[uuid.UUID, list[RefundLine]] = {refund.id: [] for refund in page.items}
    if lines:
        for line in session.scalars(select(RefundLine).where(
                RefundLine.tenant_id == page.items[0].tenant_id,
                one_of(session, RefundLine.refund_id, list(lines)))):
            lines[line.refund_id].append(line)
    return page.map(lambda refund: refund_detail(session, refund, lines=lines[refund.id]))
