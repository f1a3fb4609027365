"""Request and response bodies of the catalog, price list, assortment, stock and storefront API."""

import marshmallow as ma

from app.catalog.models import PriceChannel, ShelfStatus, StockReason
from app.paging import PageQuery
from app.schemas import MAX_QTY, Money, Quantity, Schema, StrictInteger
from app.tenancy.enums import OrgKind


class CategoryCreateSchema(Schema):
    name = ma.fields.String(required=True, validate=ma.validate.Length(1, 120))
    parent_id = ma.fields.UUID(load_default=None)
    sort_order = StrictInteger(load_default=0, bound=MAX_QTY)


class CategorySchema(Schema):
    id = ma.fields.UUID()
    parent_id = ma.fields.UUID(allow_none=True)
    name = ma.fields.String()
    tree_path = ma.fields.String()
    sort_order = ma.fields.Integer()


class ProductCreateSchema(Schema):
    name = ma.fields.String(required=True, validate=ma.validate.Length(1, 200))
    description = ma.fields.String(load_default=None)
    category_id = ma.fields.UUID(load_default=None)
    image_urls = ma.fields.List(ma.fields.URL(), load_default=list)
    attributes = ma.fields.Dict(keys=ma.fields.String(), load_default=dict)
    status = ma.fields.Enum(ShelfStatus, load_default=ShelfStatus.on_shelf)


class ProductUpdateSchema(Schema):
    name = ma.fields.String(validate=ma.validate.Length(1, 200))
    description = ma.fields.String(allow_none=True)
    category_id = ma.fields.UUID(allow_none=True)
    image_urls = ma.fields.List(ma.fields.URL())
    attributes = ma.fields.Dict(keys=ma.fields.String())
    status = ma.fields.Enum(ShelfStatus, metadata={"description": "on_shelf or off_shelf"})


class ProductSchema(Schema):
    id = ma.fields.UUID()
    category_id = ma.fields.UUID(allow_none=True)
    name = ma.fields.String()
    description = ma.fields.String(allow_none=True)
    image_urls = ma.fields.List(ma.fields.String())
    attributes = ma.fields.Dict()
    status = ma.fields.Enum(ShelfStatus)
    created_at = ma.fields.DateTime()
    updated_at = ma.fields.DateTime()


class ProductListQuery(PageQuery):
    category_id = ma.fields.UUID(load_default=None)
    status = ma.fields.Enum(ShelfStatus, load_default=None)
    q = ma.fields.String(load_default=None, validate=ma.validate.Length(1, 100))


class SkuCreateSchema(Schema):
    product_id = ma.fields.UUID(required=True)
    code = ma.fields.String(required=True, validate=ma.validate.Length(1, 64))
    name = ma.fields.String(required=True, validate=ma.validate.Length(1, 200))
    barcode = ma.fields.String(load_default=None, validate=ma.validate.Length(1, 64))
    attributes = ma.fields.Dict(keys=ma.fields.String(), load_default=dict)
    image_url = ma.fields.URL(load_default=None)
    status = ma.fields.Enum(ShelfStatus, load_default=ShelfStatus.on_shelf)


class SkuUpdateSchema(Schema):
    code = ma.fields.String(validate=ma.validate.Length(1, 64))
    name = ma.fields.String(validate=ma.validate.Length(1, 200))
    barcode = ma.fields.String(allow_none=True, validate=ma.validate.Length(1, 64))
    attributes = ma.fields.Dict(keys=ma.fields.String())
    image_url = ma.fields.URL(allow_none=True)
    status = ma.fields.Enum(ShelfStatus)


class SkuSchema(Schema):
    id = ma.fields.UUID()
    product_id = ma.fields.UUID()
    code = ma.fields.String()
    name = ma.fields.String()
    barcode = ma.fields.String(allow_none=True)
    attributes = ma.fields.Dict()
    image_url = ma.fields.String(allow_none=True)
    status = ma.fields.Enum(ShelfStatus)


class SkuListQuery(PageQuery):
    product_id = ma.fields.UUID(load_default=None)
    status = ma.fields.Enum(ShelfStatus, load_default=None)
    barcode = ma.fields.String(load_default=None)


class BandSetSchema(Schema):
    sku_id = ma.fields.UUID(required=True)
    channel = ma.fields.Enum(PriceChannel, required=True)
    floor_minor = Money(required=True, validate=ma.validate.Range(0))
    ceiling_minor = Money(load_default=None, validate=ma.validate.Range(0))
    effective_from = ma.fields.AwareDateTime(load_default=None)
    effective_to = ma.fields.AwareDateTime(load_default=None)


class BandSchema(BandSetSchema):
    id = ma.fields.UUID()
    created_at = ma.fields.DateTime()


class BandListQuery(PageQuery):
    sku_id = ma.fields.UUID(load_default=None)


class PriceSetSchema(Schema):
    seller_org_id = ma.fields.UUID(required=True)
    sku_id = ma.fields.UUID(required=True)
    channel = ma.fields.Enum(PriceChannel, required=True)
    amount_minor = Money(required=True, validate=ma.validate.Range(0))
    buyer_org_id = ma.fields.UUID(load_default=None, metadata={"description": "one buyer org"})
    buyer_depth = StrictInteger(load_default=None, bound=100, validate=ma.validate.Range(1),
                                    metadata={"description": "a distributor level (depth)"})
    buyer_kind = ma.fields.Enum(OrgKind, load_default=None)
    effective_from = ma.fields.AwareDateTime(load_default=None)
    effective_to = ma.fields.AwareDateTime(load_default=None)


class PriceSchema(Schema):
    id = ma.fields.UUID()
    seller_org_id = ma.fields.UUID()
    sku_id = ma.fields.UUID()
    channel = ma.fields.Enum(PriceChannel)
    amount_minor = Money()
    buyer_org_id = ma.fields.UUID(allow_none=True)
    buyer_depth = ma.fields.Integer(allow_none=True)
    buyer_kind = ma.fields.Enum(OrgKind, allow_none=True)
    effective_from = ma.fields.DateTime()
    effective_to = ma.fields.DateTime(allow_none=True)


class PriceListQuery(PageQuery):
    seller_org_id = ma.fields.UUID(load_default=None)
    sku_id = ma.fields.UUID(load_default=None)
    channel = ma.fields.Enum(PriceChannel, load_default=None)


class AssortmentAddSchema(Schema):
    sku_id = ma.fields.UUID(required=True)


class AssortmentSchema(Schema):
    id = ma.fields.UUID()
    store_id = ma.fields.UUID()
    sku_id = ma.fields.UUID()
    created_at = ma.fields.DateTime()


class StockLevelSchema(Schema):
    org_id = ma.fields.UUID()
    sku_id = ma.fields.UUID()
    on_hand = Quantity()
    reserved = Quantity()
    available = ma.fields.Function(lambda level: level.on_hand - level.reserved)
    updated_at = ma.fields.DateTime()


class StockQuery(PageQuery):
    org_id = ma.fields.UUID(load_default=None)
    sku_id = ma.fields.UUID(load_default=None)


class MovementQuery(StockQuery):
    order_id = ma.fields.UUID(load_default=None)


class StocktakeSchema(Schema):
    org_id = ma.fields.UUID(required=True)
    sku_id = ma.fields.UUID(required=True)
    counted = Quantity(required=True, validate=ma.validate.Range(0))
    note = ma.fields.String(load_default=None, validate=ma.validate.Length(1, 500))


class MovementSchema(Schema):
    id = ma.fields.UUID()
    org_id = ma.fields.UUID()
    sku_id = ma.fields.UUID()
    reason = ma.fields.Enum(StockReason)
    qty = Quantity(metadata={"description": "change of on_hand"})
    reserved_delta = Quantity()
    on_hand_after = Quantity()
    reserved_after = Quantity()
    order_id = ma.fields.UUID(allow_none=True)
    actor_id = ma.fields.UUID(allow_none=True)
    note = ma.fields.String(allow_none=True)
    created_at = ma.fields.DateTime()


class ShelfItemSchema(Schema):
    sku_id = ma.fields.Function(lambda item: item.sku.id, metadata={"type": "string"})
    product_id = ma.fields.Function(lambda item: item.product.id)
    product_name = ma.fields.Function(lambda item: item.product.name)
    sku_name = ma.fields.Function(lambda item: item.sku.name)
    attributes = ma.fields.Function(lambda item: item.sku.attributes)
    image_url = ma.fields.Function(
        lambda item: item.sku.image_url or next(iter(item.product.image_urls or []), None))
    price_minor = Money()
