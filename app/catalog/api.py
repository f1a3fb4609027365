"""Catalog endpoints: brand catalog, price lists and bands, store assortments, stock, storefront."""


from app.auth.request import consumer_only, request_scope, staff_only
from app.blueprint import Blueprint, TransactionalView
from app.catalog import assortment, inventory, pricing, products
from app.catalog.schemas import (
    AssortmentAddSchema,
    AssortmentSchema,
    BandListQuery,
    BandSchema,
    BandSetSchema,
    CategoryCreateSchema,
    CategorySchema,
    MovementQuery,
    MovementSchema,
    PriceListQuery,
    PriceSchema,
    PriceSetSchema,
    ProductCreateSchema,
    ProductListQuery,
    ProductSchema,
    ProductUpdateSchema,
    ShelfItemSchema,
    SkuCreateSchema,
    SkuListQuery,
    SkuSchema,
    SkuUpdateSchema,
    StockLevelSchema,
    StockQuery,
    StocktakeSchema,
)
from app.extensions import db
from app.paging import PageQuery, page_of

blp = Blueprint("catalog", __name__, url_prefix="/catalog",
                description="Brand catalog, tier price lists (控价), assortments and stock")
storefront = Blueprint("catalog_storefront", __name__, url_prefix="/storefront",
                       description="What a consumer sees on a store's shelf")


@blp.route("/categories")
class Categories(TransactionalView):
    @blp.response(200, CategorySchema(many=True))
    @blp.errors(401)
    def get(self):
        """The brand's category tree, parents before children."""
        return products.list_categories(db.session, request_scope())

    @blp.arguments(CategoryCreateSchema)
    @blp.response(201, CategorySchema)
    @blp.errors(401, 403, 422)
    def post(self, body):
        """Add a category (brand owners and admins)."""
        return products.create_category(db.session, staff_only(), **body)


@blp.route("/products")
class Products(TransactionalView):
    @blp.arguments(ProductListQuery, location="query")
    @blp.response(200, page_of(ProductSchema))
    @blp.errors(401, 422)
    def get(self, query):
        """Products, filtered by category (with sub-categories), shelf status or name."""
        return products.list_products(db.session, request_scope(), **query)

    @blp.arguments(ProductCreateSchema)
    @blp.response(201, ProductSchema)
    @blp.errors(401, 403, 422)
    def post(self, body):
        """Create a product (brand owners and admins)."""
        return products.create_product(db.session, staff_only(), **body)


@blp.route("/products/<uuid:product_id>")
class ProductItem(TransactionalView):
    @blp.response(200, ProductSchema)
    @blp.errors(401, 404)
    def get(self, product_id):
        """One product."""
        return products.get_product(db.session, request_scope(), product_id)

    @blp.arguments(ProductUpdateSchema)
    @blp.response(200, ProductSchema)
    @blp.errors(401, 403, 404, 422)
    def patch(self, body, product_id):
        """Change a product, or put it on or off the shelf."""
        return products.update_product(db.session, staff_only(), product_id=product_id, **body)


@blp.route("/skus")
class Skus(TransactionalView):
    @blp.arguments(SkuListQuery, location="query")
    @blp.response(200, page_of(SkuSchema))
    @blp.errors(401, 422)
    def get(self, query):
        """SKUs, filtered by product, shelf status or barcode."""
        return products.list_skus(db.session, request_scope(), **query)

    @blp.arguments(SkuCreateSchema)
    @blp.response(201, SkuSchema)
    @blp.errors(401, 403, 404, 409, 422)
    def post(self, body):
        """Create a SKU; code and barcode are unique in the tenant."""
        return products.create_sku(db.session, staff_only(), **body)


@blp.route("/skus/<uuid:sku_id>")
class SkuItem(TransactionalView):
    @blp.response(200, SkuSchema)
    @blp.errors(401, 404)
    def get(self, sku_id):
        """One SKU."""
        return products.get_sku(db.session, request_scope(), sku_id)

    @blp.arguments(SkuUpdateSchema)
    @blp.response(200, SkuSchema)
    @blp.errors(401, 403, 404, 409, 422)
    def patch(self, body, sku_id):
        """Change a SKU, or put it on or off the shelf."""
        return products.update_sku(db.session, staff_only(), sku_id=sku_id, **body)


@blp.route("/price-bands")
class PriceBands(TransactionalView):
    @blp.arguments(BandListQuery, location="query")
    @blp.response(200, page_of(BandSchema))
    @blp.errors(401, 403, 422)
    def get(self, query):
        """The brand's floors and ceilings (控价), newest first."""
        return pricing.list_bands(db.session, staff_only(), **query)

    @blp.arguments(BandSetSchema)
    @blp.response(201, BandSchema)
    @blp.errors(401, 403, 404, 422)
    def post(self, body):
        """Set a SKU's supply or retail band from a date on (brand owners and admins)."""
        return pricing.set_band(db.session, staff_only(), **body)


@blp.route("/prices")
class Prices(TransactionalView):
    @blp.arguments(PriceListQuery, location="query")
    @blp.response(200, page_of(PriceSchema))
    @blp.errors(401, 403, 422)
    def get(self, query):
        """Price rows I see: my subtree's and my ancestors' lists, newest first."""
        return pricing.list_prices(db.session, staff_only(), **query)

    @blp.arguments(PriceSetSchema)
    @blp.response(201, PriceSchema)
    @blp.errors(401, 403, 404, 422)
    def post(self, body):
        """Set a price: brand or distributor supply prices, brand or store retail prices.

        A price outside the brand's band answers 422 price_out_of_band.
        """
        return pricing.set_price(db.session, staff_only(), **body)


@blp.route("/stores/<uuid:store_id>/assortment")
class Assortment(TransactionalView):
    @blp.arguments(PageQuery, location="query")
    @blp.response(200, page_of(AssortmentSchema))
    @blp.errors(401, 403, 404, 422)
    def get(self, query, store_id):
        """The SKUs a store sells."""
        return assortment.list_assortment(db.session, staff_only(), store_id=store_id, **query)

    @blp.arguments(AssortmentAddSchema)
    @blp.response(201, AssortmentSchema)
    @blp.errors(401, 403, 404, 422)
    def post(self, body, store_id):
        """Add a SKU to the store's assortment (idempotent)."""
        return assortment.add_sku(db.session, staff_only(), store_id=store_id, **body)


@blp.route("/stores/<uuid:store_id>/assortment/<uuid:sku_id>")
class AssortmentItem(TransactionalView):
    @blp.response(204)
    @blp.errors(401, 403, 404, 422)
    def delete(self, store_id, sku_id):
        """Take a SKU out of the store's assortment."""
        assortment.remove_sku(db.session, staff_only(), store_id=store_id, sku_id=sku_id)


@blp.route("/stock")
class StockLevels(TransactionalView):
    @blp.arguments(StockQuery, location="query")
    @blp.response(200, page_of(StockLevelSchema))
    @blp.errors(401, 403, 422)
    def get(self, query):
        """Stock levels of the orgs I see (inventory dataset)."""
        return inventory.list_levels(db.session, staff_only(), **query)


@blp.route("/stock/stocktake")
class Stocktake(TransactionalView):
    @blp.arguments(StocktakeSchema)
    @blp.response(200, StockLevelSchema)
    @blp.errors(401, 403, 404, 409, 422)
    def post(self, body):
        """Record a counted quantity; the difference becomes an 'adjust' movement."""
        return inventory.stocktake(db.session, staff_only(), **body)


@blp.route("/stock/movements")
class StockMovements(TransactionalView):
    @blp.arguments(MovementQuery, location="query")
    @blp.response(200, page_of(MovementSchema))
    @blp.errors(401, 403, 422)
    def get(self, query):
        """Stock movements of the orgs I see, newest first."""
        return inventory.list_movements(db.session, staff_only(), **query)


@storefront.route("/stores/<uuid:store_id>/catalog")
class StoreCatalog(TransactionalView):
    @storefront.arguments(PageQuery, location="query")
    @storefront.response(200, page_of(ShelfItemSchema))
    @storefront.errors(401, 403, 404, 422)
    def get(self, query, store_id):
        """A store's shelf: its on-shelf assortment with the retail price I pay there."""
        return assortment.storefront_catalog(db.session, consumer_only(), store_id=store_id,
                                             **query)


def register(api) -> None:
    """Both catalog blueprints (the staff one and the storefront shelf)."""
    api.register_blueprint(blp)
    api.register_blueprint(storefront)
