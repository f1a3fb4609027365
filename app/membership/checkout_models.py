"""What the checkout waterfall stores: one adjustment per step of an order, and points-mall items."""

import uuid
from datetime import datetime
from enum import StrEnum

from sqlalchemy import BigInteger, Boolean, CheckConstraint, Index, Integer, String, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, CreatedAtMixin, JsonType, OwnerPathMixin, TenantKeyMixin, UtcDateTime, str_enum
from app.orders.models import OrderScopeMixin
from app.tenancy.models import tenant_fk


class AdjustmentStep(StrEnum):
    """The waterfall's steps, in the order they apply (docs/membership-checkout.md)."""

    level = "level"  # the member level's discount
    coupon = "coupon"
    points = "points"  # points paid as money
    points_mall = "points_mall"  # a points-mall item: points pay the goods except the item's cash
    shipping = "shipping"  # the free-shipping benefit waives the fee (not a goods discount)


class OrderAdjustment(TenantKeyMixin, OrderScopeMixin, CreatedAtMixin, Base):
    """One step of an order's waterfall with its source and its split over the lines.

    `lines` is [{"line_id", "amount_minor", "points"}] by largest remainder: a line's share is what a
    refund of that line gives back. `source` names the benefit: the level code, the coupon id, the
    points lots taken ({"takes": [[lot_id, points]]}), the mall item.
    """

    __tablename__ = "order_adjustments"
    __table_args__ = (
        tenant_fk(["order_id"], "orders", ondelete="CASCADE"),
        Index("ix_order_adjustments_order", "tenant_id", "order_id"),
        CheckConstraint("amount_minor >= 0 AND points >= 0", name="non_negative"),
    )

    order_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    step: Mapped[AdjustmentStep] = mapped_column(str_enum(AdjustmentStep))
    amount_minor: Mapped[int] = mapped_column(BigInteger)
    points: Mapped[int] = mapped_column(BigInteger, default=0)
    coupon_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    source: Mapped[dict] = mapped_column(JsonType, default=dict)
    lines: Mapped[list] = mapped_column(JsonType, default=list)
    released_at: Mapped[datetime | None] = mapped_column(UtcDateTime)  # a cancel gave it back


class MallItem(TenantKeyMixin, OwnerPathMixin, CreatedAtMixin, Base):
    """A points-mall item (积分商城): a SKU for points plus optional cash, with its own stock."""

    __tablename__ = "mall_items"
    __rls__ = "tenant"  # the whole tenant reads the mall; only the brand writes it
    __table_args__ = (
        tenant_fk(["sku_id"], "skus"),
        CheckConstraint("points_price > 0 AND cash_minor >= 0", name="price_sane"),
        CheckConstraint("redeemed >= 0 AND redeemed <= stock", name="within_stock"),
    )

    sku_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    name: Mapped[str] = mapped_column(String(200))
    points_price: Mapped[int] = mapped_column(BigInteger)  # per unit
    cash_minor: Mapped[int] = mapped_column(BigInteger, default=0)  # per unit, paid with the order
    stock: Mapped[int] = mapped_column(Integer)
    redeemed: Mapped[int] = mapped_column(Integer, default=0)  # claimed by conditional UPDATE
    active: Mapped[bool] = mapped_column(Boolean, default=True)
