"""Order domain events through the outbox: ids, amounts in minor units, lines."""

from sqlalchemy.orm import Session

from app.orders.models import Order, OrderLine, Refund, RefundLine
from app.platform.outbox import record_event
from app.tenancy.elevation import Why, elevated
from app.tenancy.scope import current_scope, system_scope


def emit(session: Session, order: Order, type: str, payload: dict) -> None:
    """Record an order event; a consumer's own scope may not write the outbox, the system may."""
    scope = current_scope()
    if scope is not None and scope.consumer_id is not None:
        with elevated(session, Why.record_order_event, scope=system_scope(order.tenant_id)):
            _record(session, order, type, payload)
            session.flush()
    else:
        _record(session, order, type, payload)


def _record(session: Session, order: Order, type: str, payload: dict) -> None:
    record_event(session, tenant_id=order.tenant_id, owner_path=order.owner_path, type=type,
                 subject_id=order.id, payload={"order_id": str(order.id), **payload})


def order_payload(order: Order, lines: list[OrderLine]) -> dict:
    """What every order event says about the order itself."""
    return {
        "flow": order.flow.value, "status": order.status.value,
        "seller_org_id": str(order.seller_org_id),
        "buyer_org_id": str(order.buyer_org_id) if order.buyer_org_id else None,
        "buyer_consumer_id": str(order.buyer_consumer_id) if order.buyer_consumer_id else None,
        "guide_id": str(order.guide_id) if order.guide_id else None,
        "seller_path": order.seller_path, "currency": order.currency,
        "goods_minor": order.goods_minor, "discount_minor": order.discount_minor,
        "shipping_minor": order.shipping_minor, "total_minor": order.total_minor,
        "payment_method": order.payment_method.value if order.payment_method else None,
        "lines": [{"line_id": str(line.id), "sku_id": str(line.sku_id), "qty": line.qty,
                   "unit_price_minor": line.unit_price_minor, "total_minor": line.total_minor}
                  for line in lines],
    }


def refund_payload(refund: Refund, lines: list[RefundLine]) -> dict:
    return {
        "refund_id": str(refund.id), "kind": refund.kind.value, "currency": refund.currency,
        "amount_minor": refund.amount_minor,
        "lines": [{"line_id": str(line.order_line_id), "amount_minor": line.amount_minor,
                   "qty": line.qty} for line in lines],
    }
