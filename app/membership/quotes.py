"""The checkout quote: the same waterfall as placement, shown before the member pays."""

import uuid

from sqlalchemy.orm import Session

from app.catalog.pricing import quote as tier_prices
from app.membership import checkout
from app.orders import rules
from app.orders.cart import _store
from app.orders.placement import _requested, _terms
from app.tenancy.scope import Scope


def quote(session: Session, scope: Scope, *, lines: list[dict] | None = None,
          store_id: uuid.UUID | None = None,
          delivery: str = "ship", coupon_id: uuid.UUID | None = None, points: int = 0,
          mall_item_id: uuid.UUID | None = None) -> dict:
    """Tier prices, each step of the waterfall with its split over the lines, shipping and the total.

    Without `lines` the quote is for my cart at the store. Nothing is claimed: the coupon stays
    available and no points move until the order is placed.
    """
    store = _store(session, scope, store_id)
    if lines is None:
        from app.orders.cart import items as cart_items  # noqa: PLC0415

        lines = [{"sku_id": line["sku_id"], "qty": line["qty"]} for line in
                 cart_items(session, scope, store_id=store.id)["lines"]]
    sku_qty = _requested(lines)
    settings = _terms(session, store.tenant_id)[1]
    prices = tier_prices(session, tenant_id=store.tenant_id, seller=store, buyer_org=None,
                         sku_ids=[sku for sku, _ in sku_qty])
    goods = sum(prices[sku] * qty for sku, qty in sku_qty)
    shipping = rules.shipping_fee(goods, delivery=delivery, settings=settings)
    member = checkout.price(session, seller=store, consumer_id=scope.consumer_id, sku_qty=sku_qty,
                            unit_prices=prices, shipping_fee_minor=shipping, coupon_id=coupon_id,
                            points=points, mall_item_id=mall_item_id, check_coupon=True,
                            read_lots=False)
    breakdown = member.breakdown
    return {
        "store_id": store.id, "goods_minor": breakdown.goods_minor,
        "discount_minor": breakdown.discount_minor,
        "shipping_fee_minor": breakdown.shipping_fee_minor, "shipping_minor": breakdown.shipping_minor,
        "total_minor": breakdown.total_minor, "points": breakdown.points,
        "max_points": checkout.max_points(session, store.tenant_id, breakdown),
        "lines": [{"sku_id": item.sku_id, "unit_price_minor": item.unit_price_minor, "qty": item.qty,
                   "goods_minor": item.goods_minor, "discount_minor": line.discount_minor,
                   "total_minor": line.total_minor}
                  for item, line in zip(breakdown.items, member.lines, strict=True)],
        "adjustments": [{"step": step.step, "amount_minor": step.amount_minor, "points": step.points,
                         "coupon_id": step.coupon_id, "source": step.source, "per_line": list(step.per_line)}
                        for step in breakdown.steps],
    }
