"""Distributor portal and brand: the shared staff order actions, purchase orders, refund requests."""

from app.auth.request import staff_only
from app.blueprint import Blueprint, TransactionalView
from app.extensions import db
from app.orders import (
    aftersales,
    queries,
)
from app.orders.api_staff import ERRORS, Orders, register_staff_actions, supply_order
from app.orders.schemas import IdempotencyHeader, OrderOut, RefundIn, RefundOut, SupplyOrderIn

blp = Blueprint("portal_orders", __name__, url_prefix="/portal",
                description="Distributors and the brand: orders, shipping, after-sales")


@blp.route("/orders")
class PurchaseOrders(Orders):
    @blp.arguments(IdempotencyHeader, location="headers")
    @blp.arguments(SupplyOrderIn, example={
        "lines": [{"sku_id": "0196b7c2-5f7e-7c1a-9d3e-3f1b2a4c5d6e", "qty": 24}], "payment_method": "credit"})
    @blp.response(201, OrderOut)
    @blp.alt_response(200, schema=OrderOut, description="Replayed: the order this Idempotency-Key made")
    @blp.errors(*ERRORS)
    def post(self, headers, body):
        """Place a purchase order with my parent org."""
        return supply_order(headers, body)


@blp.route("/orders/<uuid:order_id>/refunds")
class RequestRefund(TransactionalView):
    @blp.arguments(RefundIn)
    @blp.response(201, RefundOut)
    @blp.errors(*ERRORS)
    def post(self, body, order_id):
        """Ask the seller for a refund on some units of a purchase order my org made."""
        refund = aftersales.request_refund(db.session, staff_only(), order_id=order_id, **body)
        return queries.refund_detail(db.session, refund)


register_staff_actions(blp)
