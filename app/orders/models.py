"""Orders (three flows, one model), lines, history, shipments, refunds and the consumer cart."""

import uuid
from datetime import datetime
from enum import StrEnum

from sqlalchemy import BigInteger, CheckConstraint, Index, Integer, String, UniqueConstraint, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from app.db import (
    Base,
    CreatedAtMixin,
    JsonType,
    OwnerPathMixin,
    TenantKeyMixin,
    UtcDateTime,
    path_column,
    str_enum,
    utcnow,
)
from app.tenancy.enums import ActorKind, Dataset
from app.tenancy.models import tenant_fk


class OrderFlow(StrEnum):
    purchase = "purchase"  # a distributor buys from its parent
    replenish = "replenish"  # a store buys from its distributor
    retail = "retail"  # a consumer buys from a store


class OrderStatus(StrEnum):
    pending_payment = "pending_payment"
    paid = "paid"
    shipped = "shipped"
    completed = "completed"
    cancelled = "cancelled"
    closed = "closed"  # paid, then every unit refunded before any shipped: nothing more happens


class RefundStatus(StrEnum):
    refund_requested = "refund_requested"
    refund_approved = "refund_approved"
    refund_rejected = "refund_rejected"
    refund_failed = "refund_failed"  # the gateway refused the money: finance retries or pays offline
    refunded = "refunded"


class RefundKind(StrEnum):
    refund_only = "refund_only"
    return_and_refund = "return_and_refund"


class PaymentMethod(StrEnum):
    stripe = "stripe"
    offline = "offline"
    credit = "credit"


class OrderScopeMixin(OwnerPathMixin):
    """Who sees an order's rows: the owner's subtree, the seller's subtree, the buying consumer."""

    __dataset__ = Dataset.orders
    __consumer_column__ = "buyer_consumer_id"
    __rls__ = "orders"

    seller_path: Mapped[str] = path_column("seller_path")
    buyer_consumer_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)


class Order(TenantKeyMixin, OrderScopeMixin, CreatedAtMixin, Base):
    """A sale from a seller org to a buyer org or consumer; owner = buyer org, or the store for retail."""

    __tablename__ = "orders"
    __table_args__ = (
        tenant_fk(["seller_org_id"], "orgs"),
        tenant_fk(["buyer_org_id"], "orgs"),
        tenant_fk(["buyer_consumer_id"], "consumers"),
        tenant_fk(["guide_id"], "users"),
        UniqueConstraint("tenant_id", "placed_by_id", "idempotency_key"),
        CheckConstraint("(buyer_org_id IS NULL) <> (buyer_consumer_id IS NULL)", name="one_buyer"),
        CheckConstraint("total_minor = goods_minor - discount_minor + shipping_minor",
                        name="totals_tie"),
        CheckConstraint("goods_minor >= 0 AND discount_minor >= 0 AND shipping_minor >= 0"
                        " AND discount_minor <= goods_minor AND refunded_minor <= total_minor",
                        name="amounts_sane"),
        CheckConstraint("refund_claimed_minor >= 0 AND refund_claimed_minor <= total_minor",
                        name="claims_sane"),
        Index("ix_orders_owner", "tenant_id", "owner_path", "created_at"),
        Index("ix_orders_seller", "tenant_id", "seller_path", "created_at"),
        Index("ix_orders_consumer", "tenant_id", "buyer_consumer_id", "created_at"),
        Index("ix_orders_due", "tenant_id", "status", "created_at"),
        # perf: a brand's "latest 50" walks this backwards instead of sorting its whole subtree
        Index("ix_orders_latest", "tenant_id", "created_at"),
    )

    flow: Mapped[OrderFlow] = mapped_column(str_enum(OrderFlow))
    status: Mapped[OrderStatus] = mapped_column(str_enum(OrderStatus, 24))
    seller_org_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    buyer_org_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    guide_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    currency: Mapped[str] = mapped_column(String(3))
    goods_minor: Mapped[int] = mapped_column(BigInteger)
    discount_minor: Mapped[int] = mapped_column(BigInteger, default=0)
    shipping_minor: Mapped[int] = mapped_column(BigInteger, default=0)
    total_minor: Mapped[int] = mapped_column(BigInteger)
    refunded_minor: Mapped[int] = mapped_column(BigInteger, default=0)
    # What open refunds (requested, approved, failed, refunded) claim, shipping included.
    refund_claimed_minor: Mapped[int] = mapped_column(BigInteger, default=0)
    payment_method: Mapped[PaymentMethod | None] = mapped_column(str_enum(PaymentMethod))
    payment_ref: Mapped[str | None] = mapped_column(String(255))
    delivery: Mapped[str] = mapped_column(String(20), default="ship")  # 'ship' | 'pickup'
    ship_to: Mapped[dict | None] = mapped_column(JsonType)  # {name, phone, address} snapshot
    note: Mapped[str | None] = mapped_column(String(500))
    placed_by_kind: Mapped[ActorKind] = mapped_column(str_enum(ActorKind))
    placed_by_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    idempotency_key: Mapped[str | None] = mapped_column(String(100))
    request_hash: Mapped[str | None] = mapped_column(String(64))
    paid_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    shipped_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    completed_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    cancelled_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    closed_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    cancel_reason: Mapped[str | None] = mapped_column(String(40))
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow, onupdate=utcnow)
    # finance (invoices, 发票): the buyer's invoice title and tax id, when an invoice is wanted
    invoice_title: Mapped[str | None] = mapped_column(String(200))
    invoice_tax_id: Mapped[str | None] = mapped_column(String(20))


class OrderLine(TenantKeyMixin, OrderScopeMixin, Base):
    """One SKU of an order with its price snapshot; shipped, released and refunded quantities."""

    __tablename__ = "order_lines"
    __table_args__ = (
        tenant_fk(["order_id"], "orders", ondelete="CASCADE"),
        tenant_fk(["sku_id"], "skus"),
        Index("ix_order_lines_order", "tenant_id", "order_id"),
        CheckConstraint("qty > 0 AND shipped_qty >= 0 AND released_qty >= 0 AND refunded_qty >= 0"
                        " AND shipped_qty + released_qty <= qty AND refunded_qty <= qty",
                        name="quantities_sane"),
        CheckConstraint("total_minor = goods_minor - discount_minor AND refunded_minor <= total_minor",
                        name="amounts_tie"),
        CheckConstraint("claimed_qty >= 0 AND claimed_qty <= qty"
                        " AND claimed_minor >= 0 AND claimed_minor <= total_minor", name="claims_sane"),
    )

    order_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    line_no: Mapped[int] = mapped_column(Integer)
    sku_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    sku_code: Mapped[str | None] = mapped_column(String(64))
    name: Mapped[str | None] = mapped_column(String(200))
    unit_price_minor: Mapped[int] = mapped_column(BigInteger)
    qty: Mapped[int] = mapped_column(Integer)
    goods_minor: Mapped[int] = mapped_column(BigInteger)
    discount_minor: Mapped[int] = mapped_column(BigInteger, default=0)
    total_minor: Mapped[int] = mapped_column(BigInteger)
    shipped_qty: Mapped[int] = mapped_column(Integer, default=0)
    released_qty: Mapped[int] = mapped_column(Integer, default=0)  # refunded before shipping
    refunded_qty: Mapped[int] = mapped_column(Integer, default=0)
    refunded_minor: Mapped[int] = mapped_column(BigInteger, default=0)
    # Units and amount held by open refunds: reserved by a conditional UPDATE when requested.
    claimed_qty: Mapped[int] = mapped_column(Integer, default=0)
    claimed_minor: Mapped[int] = mapped_column(BigInteger, default=0)
    # finance (invoices): the VAT rate applied and the tax included in total_minor (tax-inclusive)
    tax_rate_bp: Mapped[int | None] = mapped_column(Integer)
    tax_minor: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")

    @property
    def open_qty(self) -> int:
        """Units still to ship."""
        return self.qty - self.shipped_qty - self.released_qty


class OrderHistory(TenantKeyMixin, OrderScopeMixin, CreatedAtMixin, Base):
    """Who moved an order (or one of its refunds) from which status to which, and when."""

    __tablename__ = "order_history"
    __table_args__ = (
        tenant_fk(["order_id"], "orders", ondelete="CASCADE"),
        Index("ix_order_history_order", "tenant_id", "order_id", "created_at"),
    )

    order_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    refund_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    action: Mapped[str] = mapped_column(String(30))
    from_status: Mapped[str | None] = mapped_column(String(24))
    to_status: Mapped[str] = mapped_column(String(24))
    actor_kind: Mapped[ActorKind] = mapped_column(str_enum(ActorKind))
    actor_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    note: Mapped[str | None] = mapped_column(String(500))


class Shipment(TenantKeyMixin, OrderScopeMixin, CreatedAtMixin, Base):
    """A parcel (or a pick-up) carrying some quantity of some lines."""

    __tablename__ = "shipments"
    __table_args__ = (
        tenant_fk(["order_id"], "orders", ondelete="CASCADE"),
        Index("ix_shipments_order", "tenant_id", "order_id"),
    )

    order_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    carrier: Mapped[str] = mapped_column(String(64))
    tracking_number: Mapped[str | None] = mapped_column(String(100))
    lines: Mapped[list] = mapped_column(JsonType)  # [{"line_id": str, "qty": int}]
    shipped_by: Mapped[uuid.UUID | None] = mapped_column(Uuid)


class Refund(TenantKeyMixin, OrderScopeMixin, CreatedAtMixin, Base):
    """An after-sales request over some lines: partial quantities, an amount split by largest remainder."""

    __tablename__ = "refunds"
    __table_args__ = (
        tenant_fk(["order_id"], "orders", ondelete="CASCADE"),
        Index("ix_refunds_order", "tenant_id", "order_id"),
        Index("ix_refunds_seller", "tenant_id", "seller_path", "status"),
        CheckConstraint("amount_minor > 0", name="amount_positive"),
        # perf: scoped lists newest first (see ix_orders_latest)
        Index("ix_refunds_owner", "tenant_id", "owner_path", "created_at"),
        Index("ix_refunds_latest", "tenant_id", "created_at"),
    )

    order_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    kind: Mapped[RefundKind] = mapped_column(str_enum(RefundKind))
    status: Mapped[RefundStatus] = mapped_column(str_enum(RefundStatus, 24))
    amount_minor: Mapped[int] = mapped_column(BigInteger)
    shipping_minor: Mapped[int] = mapped_column(BigInteger, default=0)  # part of amount_minor
    currency: Mapped[str] = mapped_column(String(3))
    reason: Mapped[str | None] = mapped_column(String(500))
    decision_note: Mapped[str | None] = mapped_column(String(500))
    requested_by_kind: Mapped[ActorKind] = mapped_column(str_enum(ActorKind))
    requested_by_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    decided_by_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    decided_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    gateway_ref: Mapped[str | None] = mapped_column(String(255))
    refunded_at: Mapped[datetime | None] = mapped_column(UtcDateTime)


class RefundLine(TenantKeyMixin, OrderScopeMixin, Base):
    """The part of one refund that falls on one order line."""

    __tablename__ = "refund_lines"
    __table_args__ = (
        tenant_fk(["refund_id"], "refunds", ondelete="CASCADE"),
        tenant_fk(["order_line_id"], "order_lines", ondelete="CASCADE"),
        UniqueConstraint("tenant_id", "refund_id", "order_line_id"),
        CheckConstraint("qty >= 0 AND amount_minor >= 0", name="non_negative"),
    )

    refund_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    order_line_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    qty: Mapped[int] = mapped_column(Integer)
    amount_minor: Mapped[int] = mapped_column(BigInteger)


class CartItem(TenantKeyMixin, OwnerPathMixin, CreatedAtMixin, Base):
    """A consumer's cart at one store: one row per SKU; owned by the store, read by the consumer."""

    __tablename__ = "cart_items"
    __dataset__ = Dataset.orders
    __consumer_column__ = "consumer_id"
    __table_args__ = (
        tenant_fk(["consumer_id"], "consumers", ondelete="CASCADE"),
        tenant_fk(["store_id"], "orgs"),
        tenant_fk(["sku_id"], "skus", ondelete="CASCADE"),
        UniqueConstraint("tenant_id", "consumer_id", "store_id", "sku_id"),
        CheckConstraint("qty > 0", name="qty_positive"),
    )

    consumer_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    store_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    sku_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    qty: Mapped[int] = mapped_column(Integer)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow, onupdate=utcnow)
