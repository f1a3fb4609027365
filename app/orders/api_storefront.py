"""Storefront (mini-program consumers): cart, checkout, my orders, cancel, refunds, confirm receipt."""


from app.auth.request import consumer_only
from app.blueprint import Blueprint, TransactionalView
from app.extensions import db
from app.orders import aftersales, cart, fulfilment, queries
from app.orders.api_staff import placed_response  # the one 201/200-replayed answer
from app.orders.placement import OrderRequest, place_retail
from app.orders.schemas import (
    CancelIn,
    CartItemIn,
    CartOut,
    CartQuery,
    CheckoutIn,
    IdempotencyHeader,
    MyOrdersQuery,
    OrderOut,
    OrderSummaryOut,
    RefundIn,
    RefundOut,
    RetailOrderIn,
)
from app.paging import page_of

blp = Blueprint("storefront_orders", __name__, url_prefix="/storefront",
                description="Consumers: cart, checkout and my orders")

ERRORS = (401, 403, 404, 409, 422)


@blp.route("/cart")
class Cart(TransactionalView):
    @blp.arguments(CartQuery, location="query")
    @blp.response(200, CartOut)
    @blp.errors(401, 403, 422)
    def get(self, query):
        """My cart at a store (my home store by default), with today's prices."""
        return cart.items(db.session, consumer_only(), **query)


@blp.route("/cart/items")
class CartItems(TransactionalView):
    @blp.arguments(CartItemIn, example={"sku_id": "0196b7c2-5f7e-7c1a-9d3e-3f1b2a4c5d6e", "qty": 2})
    @blp.response(200, CartOut)
    @blp.errors(401, 403, 422)
    def put(self, body):
        """Set the quantity of a SKU in my cart (0 removes it)."""
        return cart.set_item(db.session, consumer_only(), **body)


@blp.route("/cart/checkout")
class Checkout(TransactionalView):
    @blp.arguments(IdempotencyHeader, location="headers")
    @blp.arguments(CheckoutIn, example={"delivery": "ship", "ship_to": {
        "name": "王小明", "phone": "13800138000", "address": "上海市静安区南京西路 1 号"}})
    @blp.response(201, OrderOut)
    @blp.alt_response(200, schema=OrderOut, description="Replayed: the order this Idempotency-Key made")
    @blp.errors(*ERRORS)
    def post(self, headers, body):
        """Check out my cart at one store: a retail order waiting for payment."""
        scope = consumer_only()
        placed = cart.checkout(db.session, scope, store_id=body.pop("store_id"),
                               request=OrderRequest(lines=[], idempotency_key=headers["idempotency_key"],
                                                    **body))
        return placed_response(scope, placed)


@blp.route("/orders")
class MyOrders(TransactionalView):
    @blp.arguments(MyOrdersQuery, location="query")
    @blp.response(200, page_of(OrderSummaryOut))
    @blp.errors(401, 403)
    def get(self, query):
        """My orders, newest first."""
        return queries.list_orders(db.session, consumer_only(), **query)

    @blp.arguments(IdempotencyHeader, location="headers")
    @blp.arguments(RetailOrderIn, example={
        "lines": [{"sku_id": "0196b7c2-5f7e-7c1a-9d3e-3f1b2a4c5d6e", "qty": 1}], "delivery": "pickup"})
    @blp.response(201, OrderOut)
    @blp.alt_response(200, schema=OrderOut, description="Replayed: the order this Idempotency-Key made")
    @blp.errors(*ERRORS)
    def post(self, headers, body):
        """Buy these SKUs now (without the cart): a retail order waiting for payment."""
        scope = consumer_only()
        placed = place_retail(db.session, scope, store_id=body.pop("store_id"),
                              request=OrderRequest(idempotency_key=headers["idempotency_key"], **body))
        return placed_response(scope, placed)


@blp.route("/orders/<uuid:order_id>")
class MyOrder(TransactionalView):
    @blp.response(200, OrderOut)
    @blp.errors(401, 403, 404)
    def get(self, order_id):
        """One of my orders with its lines, history, shipments and refunds."""
        scope = consumer_only()
        return queries.order_detail(db.session, scope, queries.get_order(db.session, scope, order_id))


@blp.route("/orders/<uuid:order_id>/cancel")
class CancelMyOrder(TransactionalView):
    @blp.arguments(CancelIn)
    @blp.response(200, OrderOut)
    @blp.errors(*ERRORS)
    def post(self, body, order_id):
        """Cancel my unpaid order; its stock is released."""
        scope = consumer_only()
        order = fulfilment.cancel(db.session, scope, order_id=order_id, **body)
        return queries.order_detail(db.session, scope, order)


@blp.route("/orders/<uuid:order_id>/confirm-receipt")
class ConfirmReceipt(TransactionalView):
    @blp.response(200, OrderOut)
    @blp.errors(*ERRORS)
    def post(self, order_id):
        """I received my parcel: the order completes."""
        scope = consumer_only()
        order = fulfilment.complete(db.session, scope, order_id=order_id)
        return queries.order_detail(db.session, scope, order)


@blp.route("/orders/<uuid:order_id>/refunds")
class RequestRefund(TransactionalView):
    @blp.arguments(RefundIn, example={"kind": "refund_only", "lines": [
        {"line_id": "0196b7c2-6a00-7000-8000-000000000001", "qty": 1}], "reason": "Changed my mind"})
    @blp.response(201, RefundOut)
    @blp.errors(*ERRORS)
    def post(self, body, order_id):
        """Ask for a refund on some units of some lines (the store decides)."""
        refund = aftersales.request_refund(db.session, consumer_only(), order_id=order_id, **body)
        return queries.refund_detail(db.session, refund)

