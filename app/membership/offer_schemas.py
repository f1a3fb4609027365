"""Request and response bodies of coupons, the checkout quote and the points mall."""

import marshmallow as ma

from app.membership.checkout_models import AdjustmentStep
from app.membership.coupon_models import CouponKind, CouponScope, CouponStatus, IssueJobStatus
from app.orders.schemas import DELIVERY, LineIn, ShipTo
from app.paging import PageQuery
from app.schemas import Money, Quantity, Schema, StrictInteger

BP = {"bound": 10_000, "validate": ma.validate.Range(0, 10_000)}


class TemplateIn(Schema):
    name = ma.fields.String(required=True, validate=ma.validate.Length(1, 120),
                            metadata={"example": "满199减30"})
    kind = ma.fields.Enum(CouponKind, required=True, metadata={"example": "amount_off"})
    amount_off_minor = Money(load_default=0, validate=ma.validate.Range(0, None))
    percent_off_bp = StrictInteger(load_default=0, **BP, metadata={"description": "1500 = 15 % off"})
    max_off_minor = Money(load_default=None, validate=ma.validate.Range(0, None),
                          metadata={"description": "Cap of a percent_off coupon"})
    min_goods_minor = Money(load_default=0, validate=ma.validate.Range(0, None),
                            metadata={"description": "Threshold (满) on the covered goods"})
    applies_to = ma.fields.Enum(CouponScope, load_default=CouponScope.all)
    category_id = ma.fields.UUID(load_default=None)
    sku_ids = ma.fields.List(ma.fields.UUID(), load_default=list, validate=ma.validate.Length(0, 500))
    store_ids = ma.fields.List(ma.fields.UUID(), load_default=None, validate=ma.validate.Length(1, 500),
                               metadata={"description": "Default: every store"})
    valid_from = ma.fields.AwareDateTime(load_default=None)
    valid_to = ma.fields.AwareDateTime(load_default=None, metadata={"description": "Fixed dates, or ..."})
    valid_days = StrictInteger(bound=3650, load_default=None, validate=ma.validate.Range(1, 3650),
                               metadata={"description": "... N days from issue"})
    per_member_limit = StrictInteger(bound=100, load_default=1, validate=ma.validate.Range(1, 100))
    total_quantity = Quantity(load_default=None, validate=ma.validate.Range(1, None),
                              metadata={"description": "Default: unlimited"})
    claimable = ma.fields.Boolean(load_default=True, metadata={"description": "Members may claim it (领券)"})


class TemplateOut(Schema):
    id = ma.fields.UUID()
    name = ma.fields.String()
    kind = ma.fields.Enum(CouponKind)
    amount_off_minor = Money()
    percent_off_bp = ma.fields.Integer()
    max_off_minor = Money(allow_none=True)
    min_goods_minor = Money()
    applies_to = ma.fields.Enum(CouponScope)
    category_id = ma.fields.UUID(allow_none=True)
    sku_ids = ma.fields.List(ma.fields.String())
    store_ids = ma.fields.List(ma.fields.String(), allow_none=True)
    valid_from = ma.fields.AwareDateTime(allow_none=True)
    valid_to = ma.fields.AwareDateTime(allow_none=True)
    valid_days = ma.fields.Integer(allow_none=True)
    per_member_limit = ma.fields.Integer()
    total_quantity = ma.fields.Integer(allow_none=True)
    issued_count = ma.fields.Integer()
    claimable = ma.fields.Boolean()
    active = ma.fields.Boolean()


class CouponQuery(PageQuery):
    usable_only = ma.fields.Boolean(load_default=True, metadata={"description": "Usable now (default)"})


class CouponOut(Schema):
    id = ma.fields.UUID()
    template_id = ma.fields.UUID()
    status = ma.fields.Enum(CouponStatus)
    valid_from = ma.fields.AwareDateTime()
    valid_to = ma.fields.AwareDateTime()
    order_id = ma.fields.UUID(allow_none=True)
    used_at = ma.fields.AwareDateTime(allow_none=True)
    template = ma.fields.Nested(TemplateOut)


class SegmentIn(Schema):
    home_store_ids = ma.fields.List(ma.fields.UUID(), load_default=None, validate=ma.validate.Length(1, 1000))
    level_codes = ma.fields.List(ma.fields.String(validate=ma.validate.Length(1, 40)), load_default=None,
                                 validate=ma.validate.Length(1, 50))
    last_purchase_after = ma.fields.AwareDateTime(load_default=None)
    last_purchase_before = ma.fields.AwareDateTime(load_default=None)


class IssueIn(Schema):
    segment = ma.fields.Nested(SegmentIn, load_default=dict,
                               metadata={"description": "All filters combine; none: every member"})


class IssueJobOut(Schema):
    id = ma.fields.UUID()
    template_id = ma.fields.UUID()
    status = ma.fields.Enum(IssueJobStatus)
    total = ma.fields.Integer(metadata={"description": "Members in the segment when queued"})
    done = ma.fields.Integer(metadata={"description": "Members handled so far"})
    issued = ma.fields.Integer(metadata={"description": "Coupons issued (limits may skip members)"})
    note = ma.fields.String(allow_none=True)
    created_at = ma.fields.AwareDateTime()
    finished_at = ma.fields.AwareDateTime(allow_none=True)


class QuoteIn(Schema):
    store_id = ma.fields.UUID(load_default=None, metadata={"description": "Default: my home store"})
    lines = ma.fields.List(ma.fields.Nested(LineIn), load_default=None, validate=ma.validate.Length(1, 100),
                           metadata={"description": "Default: my cart at the store"})
    delivery = ma.fields.String(load_default="ship", validate=DELIVERY)
    coupon_id = ma.fields.UUID(load_default=None)
    points = StrictInteger(bound=10**12, load_default=0, validate=ma.validate.Range(0, None))


class QuoteLineOut(Schema):
    sku_id = ma.fields.UUID()
    unit_price_minor = Money()
    qty = Quantity()
    goods_minor = Money()
    discount_minor = Money()
    total_minor = Money()


class OrderAdjustmentOut(Schema):
    step = ma.fields.Enum(AdjustmentStep)
    amount_minor = Money()
    points = ma.fields.Integer()
    coupon_id = ma.fields.UUID(allow_none=True)
    source = ma.fields.Dict()
    per_line = ma.fields.List(ma.fields.Integer(), metadata={"description": "Split over the lines, in order"})


class QuoteOut(Schema):
    store_id = ma.fields.UUID()
    goods_minor = Money()
    discount_minor = Money()
    shipping_fee_minor = Money()
    shipping_minor = Money()
    total_minor = Money()
    points = ma.fields.Integer()
    max_points = ma.fields.Integer(metadata={"description": "The most points this order may pay with"})
    lines = ma.fields.List(ma.fields.Nested(QuoteLineOut))
    adjustments = ma.fields.List(ma.fields.Nested(OrderAdjustmentOut))


class MallItemIn(Schema):
    sku_id = ma.fields.UUID(required=True)
    name = ma.fields.String(required=True, validate=ma.validate.Length(1, 200))
    points_price = StrictInteger(bound=10**12, required=True, validate=ma.validate.Range(1, None))
    cash_minor = Money(load_default=0, validate=ma.validate.Range(0, None))
    stock = Quantity(required=True, validate=ma.validate.Range(0, None))


class MallItemOut(Schema):
    id = ma.fields.UUID()
    sku_id = ma.fields.UUID()
    name = ma.fields.String()
    points_price = ma.fields.Integer()
    cash_minor = Money()
    stock = ma.fields.Integer()
    redeemed = ma.fields.Integer()
    active = ma.fields.Boolean()


class RedeemIn(Schema):
    qty = Quantity(load_default=1, validate=ma.validate.Range(1, 99))
    delivery = ma.fields.String(load_default="ship", validate=DELIVERY)
    ship_to = ma.fields.Nested(ShipTo, load_default=None)
    note = ma.fields.String(load_default=None, validate=ma.validate.Length(0, 500))
