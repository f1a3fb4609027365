"""Request and response bodies of the order endpoints (storefront, portal, store)."""

import marshmallow as ma

from app.orders.models import OrderFlow, OrderStatus, PaymentMethod, RefundKind, RefundStatus
from app.orders.queries import fidelity_of
from app.paging import PageQuery
from app.schemas import Money, Quantity, Schema, StrictInteger
from app.tenancy.enums import ActorKind
from app.tenancy.masking import MaskedName, MaskedPhone, MaskedText, RedactedText, RowFidelity, ScopedSchema

EXAMPLE_SKU = "0196b7c2-5f7e-7c1a-9d3e-3f1b2a4c5d6e"


class IdempotencyHeader(ma.Schema):
    """Idempotency-Key: the same key and body answer the same order; another body, 409."""

    class Meta:
        unknown = ma.EXCLUDE

    idempotency_key = ma.fields.String(data_key="Idempotency-Key", load_default=None,
                                       validate=ma.validate.Length(1, 100),
                                       metadata={"example": "checkout-7f3a9c"})


class LineIn(Schema):
    sku_id = ma.fields.UUID(required=True, metadata={"example": EXAMPLE_SKU})
    qty = Quantity(required=True, validate=ma.validate.Range(1, 9999), metadata={"example": 2})


class ShipTo(Schema):
    name = ma.fields.String(required=True, validate=ma.validate.Length(1, 100),
                            metadata={"example": "王小明"})
    phone = ma.fields.String(required=True, validate=ma.validate.Length(3, 32),
                             metadata={"example": "13800138000"})
    address = ma.fields.String(required=True, validate=ma.validate.Length(1, 500),
                               metadata={"example": "上海市静安区南京西路 1 号"})


DELIVERY = ma.validate.OneOf(["ship", "pickup"])


class MemberChoicesIn(Schema):
    """Membership at checkout (retail): my coupon and points to pay with (docs/membership-checkout.md)."""

    coupon_id = ma.fields.UUID(load_default=None, metadata={"description": "One of my usable coupons"})
    points = StrictInteger(bound=10**12, load_default=0, validate=ma.validate.Range(0, None),
                           metadata={"description": "Points paid as money, within the order's max share"})


REDACTED = "Redacted below full fidelity"


class InvoiceIn(Schema):
    """The buyer wants an invoice (发票): a title, and for a company (always on B2B) its tax id."""

    title = ma.fields.String(required=True, validate=ma.validate.Length(1, 200),
                             metadata={"example": "上海某某贸易有限公司"})
    tax_id = ma.fields.String(load_default=None, validate=ma.validate.Length(15, 20),
                              metadata={"description": "纳税人识别号 / unified social credit code",
                                        "example": "91350100M000100Y43"})


class RetailOrderIn(MemberChoicesIn):
    store_id = ma.fields.UUID(load_default=None, metadata={"description": "Default: my home store"})
    lines = ma.fields.List(ma.fields.Nested(LineIn), required=True, validate=ma.validate.Length(1, 100))
    delivery = ma.fields.String(load_default="ship", validate=DELIVERY)
    ship_to = ma.fields.Nested(ShipTo, load_default=None)
    note = ma.fields.String(load_default=None, validate=ma.validate.Length(0, 500))
    invoice = ma.fields.Nested(InvoiceIn, load_default=None)


class CheckoutIn(MemberChoicesIn):
    store_id = ma.fields.UUID(load_default=None, metadata={"description": "Default: my home store"})
    delivery = ma.fields.String(load_default="ship", validate=DELIVERY)
    ship_to = ma.fields.Nested(ShipTo, load_default=None)
    note = ma.fields.String(load_default=None, validate=ma.validate.Length(0, 500))
    invoice = ma.fields.Nested(InvoiceIn, load_default=None)


class InStoreOrderIn(MemberChoicesIn):
    member_id = ma.fields.UUID(required=True, metadata={"description": "The consumer buying in the store"})
    lines = ma.fields.List(ma.fields.Nested(LineIn), required=True, validate=ma.validate.Length(1, 100))
    delivery = ma.fields.String(load_default="pickup", validate=DELIVERY)
    ship_to = ma.fields.Nested(ShipTo, load_default=None)
    note = ma.fields.String(load_default=None, validate=ma.validate.Length(0, 500))
    invoice = ma.fields.Nested(InvoiceIn, load_default=None)


class SupplyOrderIn(Schema):
    lines = ma.fields.List(ma.fields.Nested(LineIn), required=True, validate=ma.validate.Length(1, 100))
    payment_method = ma.fields.Enum(PaymentMethod, load_default=None, metadata={"example": "credit"})
    note = ma.fields.String(load_default=None, validate=ma.validate.Length(0, 500))
    invoice = ma.fields.Nested(InvoiceIn, load_default=None)


class CartItemIn(Schema):
    store_id = ma.fields.UUID(load_default=None)
    sku_id = ma.fields.UUID(required=True, metadata={"example": EXAMPLE_SKU})
    qty = Quantity(required=True, validate=ma.validate.Range(0, 9999),
                            metadata={"description": "0 removes the SKU", "example": 1})


class CartQuery(Schema):
    store_id = ma.fields.UUID(load_default=None)


class CartLine(Schema):
    sku_id = ma.fields.UUID()
    qty = Quantity()
    unit_price_minor = Money(allow_none=True)
    total_minor = Money(allow_none=True)


class CartOut(Schema):
    store_id = ma.fields.UUID()
    lines = ma.fields.List(ma.fields.Nested(CartLine))
    goods_minor = Money()


class ShipLineIn(Schema):
    line_id = ma.fields.UUID(required=True)
    qty = Quantity(required=True, validate=ma.validate.Range(1, 9999))


class ShipIn(Schema):
    carrier = ma.fields.String(required=True, validate=ma.validate.Length(1, 64), metadata={"example": "SF"})
    tracking_number = ma.fields.String(load_default=None, validate=ma.validate.Length(1, 100),
                                       metadata={"example": "SF1234567890"})
    lines = ma.fields.List(ma.fields.Nested(ShipLineIn), load_default=None,
                           metadata={"description": "Partial shipment; default: every open unit"})


class RefundIn(Schema):
    kind = ma.fields.Enum(RefundKind, required=True, metadata={"example": "refund_only"})
    lines = ma.fields.List(ma.fields.Nested(ShipLineIn), required=True, validate=ma.validate.Length(1, 100))
    amount_minor = Money(load_default=None, validate=ma.validate.Range(1, None),
                                     metadata={"description": "Default: what the units are worth"})
    reason = ma.fields.String(load_default=None, validate=ma.validate.Length(0, 500))


class DecisionIn(Schema):
    note = ma.fields.String(load_default=None, validate=ma.validate.Length(0, 500))


class CancelIn(Schema):
    reason = ma.fields.String(load_default="buyer", validate=ma.validate.Length(1, 40))


class OrderListQuery(PageQuery):
    status = ma.fields.Enum(OrderStatus, load_default=None)
    flow = ma.fields.Enum(OrderFlow, load_default=None)
    side = ma.fields.String(load_default="all", validate=ma.validate.OneOf(["all", "to_me", "from_me"]),
                            metadata={"description": "to_me: I sell; from_me: my org buys"})


class MyOrdersQuery(PageQuery):
    status = ma.fields.Enum(OrderStatus, load_default=None)


class RefundListQuery(PageQuery):
    status = ma.fields.Enum(RefundStatus, load_default=None)


class OrderLineOut(Schema):
    id = ma.fields.UUID()
    line_no = ma.fields.Integer()
    sku_id = ma.fields.UUID()
    sku_code = ma.fields.String(allow_none=True)
    name = ma.fields.String(allow_none=True)
    unit_price_minor = Money(metadata={"example": 12800})
    qty = Quantity()
    goods_minor = Money()
    discount_minor = Money()
    total_minor = Money()
    shipped_qty = Quantity()
    released_qty = Quantity()
    refunded_qty = Quantity()
    refunded_minor = Money()
    tax_rate_bp = ma.fields.Integer(allow_none=True, metadata={"description": "VAT rate, basis points"})
    tax_minor = Money(metadata={"description": "VAT included in total_minor"})


class ShipToOut(Schema):
    """The delivery address of an order, at the order's fidelity."""

    name = MaskedName(metadata={"example": "王小明"})
    phone = MaskedPhone(metadata={"example": "13800138000"})
    address = MaskedText(metadata={"example": "上海市静安区南京西路 1 号"})


class HistoryOut(Schema):
    action = ma.fields.String(metadata={"example": "pay"})
    from_status = ma.fields.String(allow_none=True)
    to_status = ma.fields.String()
    refund_id = ma.fields.UUID(allow_none=True)
    actor_kind = ma.fields.Enum(ActorKind)
    actor_id = ma.fields.UUID(allow_none=True)
    note = RedactedText()
    created_at = ma.fields.DateTime()


class ShipmentOut(Schema):
    id = ma.fields.UUID()
    order_id = ma.fields.UUID()
    carrier = ma.fields.String()
    tracking_number = ma.fields.String(allow_none=True)
    lines = ma.fields.List(ma.fields.Dict())
    created_at = ma.fields.DateTime()


class RefundLineOut(Schema):
    order_line_id = ma.fields.UUID()
    qty = Quantity()
    amount_minor = Money()


class RefundOut(ScopedSchema):
    row_fidelity = staticmethod(fidelity_of)

    id = ma.fields.UUID()
    order_id = ma.fields.UUID()
    kind = ma.fields.Enum(RefundKind)
    status = ma.fields.Enum(RefundStatus)
    amount_minor = Money()
    currency = ma.fields.String()
    reason = RedactedText()
    decision_note = RedactedText()
    gateway_ref = ma.fields.String(allow_none=True)
    created_at = ma.fields.DateTime()
    decided_at = ma.fields.DateTime(allow_none=True)
    refunded_at = ma.fields.DateTime(allow_none=True)
    lines = ma.fields.List(ma.fields.Nested(RefundLineOut))


class OrderSummaryOut(Schema):
    id = ma.fields.UUID()
    flow = ma.fields.Enum(OrderFlow)
    status = ma.fields.Enum(OrderStatus)
    seller_org_id = ma.fields.UUID()
    buyer_org_id = ma.fields.UUID(allow_none=True)
    buyer_consumer_id = ma.fields.UUID(allow_none=True)
    guide_id = ma.fields.UUID(allow_none=True)
    currency = ma.fields.String(metadata={"example": "CNY"})
    goods_minor = Money(metadata={"example": 25600})
    discount_minor = Money(metadata={"example": 0})
    shipping_minor = Money(metadata={"example": 800})
    total_minor = Money(metadata={"example": 26400})
    refunded_minor = Money()
    payment_method = ma.fields.Enum(PaymentMethod, allow_none=True)
    delivery = ma.fields.String()
    created_at = ma.fields.DateTime()
    paid_at = ma.fields.DateTime(allow_none=True)
    shipped_at = ma.fields.DateTime(allow_none=True)
    completed_at = ma.fields.DateTime(allow_none=True)
    cancelled_at = ma.fields.DateTime(allow_none=True)


class OrderOut(ScopedSchema, OrderSummaryOut):
    row_fidelity = staticmethod(fidelity_of)

    ship_to = ma.fields.Nested(ShipToOut, allow_none=True,
                               metadata={"description": "Masked below full fidelity"})
    note = RedactedText()
    cancel_reason = RedactedText()
    invoice_title = RedactedText()
    invoice_tax_id = RedactedText()
    fidelity = RowFidelity()
    lines = ma.fields.List(ma.fields.Nested(OrderLineOut))
    history = ma.fields.List(ma.fields.Nested(HistoryOut))
    shipments = ma.fields.List(ma.fields.Nested(ShipmentOut))
    refunds = ma.fields.List(ma.fields.Nested(RefundOut))
