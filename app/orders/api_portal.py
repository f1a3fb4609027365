"""Distributor portal and brand: orders to me and from me, shipping, refund decisions, purchase orders."""


from app.auth.request import staff_only
from app.blueprint import Blueprint, TransactionalView
from app.extensions import db
from app.orders import (
    aftersales,
    fulfilment,
    queries,
    tasks,  # noqa: F401  (registers the timeout tasks and their beat entries)
)
from app.orders.placement import OrderRequest, place_supply_order
from app.orders.schemas import (
    CancelIn,
    DecisionIn,
    IdempotencyHeader,
    OrderListQuery,
    OrderOut,
    OrderSummaryOut,
    RefundIn,
    RefundListQuery,
    RefundOut,
    ShipIn,
    ShipmentOut,
    SupplyOrderIn,
)

blp = Blueprint("portal_orders", __name__, url_prefix="/portal",
                description="Distributors and the brand: orders, shipping, after-sales")

ERRORS = (401, 403, 404, 409, 422)


def order_response(scope, order, *, lines=None, with_history=True):
    return queries.order_detail(db.session, scope, order, lines=lines, with_history=with_history)


@blp.route("/orders")
class Orders(TransactionalView):
    @blp.arguments(OrderListQuery, location="query")
    @blp.response(200, OrderSummaryOut(many=True))
    @blp.errors(401, 403)
    def get(self, query):
        """Orders in my scope: sold by my subtree, bought by it, or its stores' retail orders."""
        return queries.list_orders(db.session, staff_only(), **query)

    @blp.arguments(IdempotencyHeader, location="headers")
    @blp.arguments(SupplyOrderIn, example={
        "lines": [{"sku_id": "0196b7c2-5f7e-7c1a-9d3e-3f1b2a4c5d6e", "qty": 24}], "payment_method": "credit"})
    @blp.response(201, OrderOut)
    @blp.alt_response(200, schema=OrderOut, description="Replayed: the order this Idempotency-Key made")
    @blp.errors(*ERRORS)
    def post(self, headers, body):
        """Place a purchase order with my parent org."""
        scope = staff_only()
        placed = place_supply_order(db.session, scope,
                                    request=OrderRequest(idempotency_key=headers["idempotency_key"], **body))
        return order_response(scope, placed.order, lines=placed.lines, with_history=False), (
            201 if placed.created else 200)


@blp.route("/orders/<uuid:order_id>")
class OrderItem(TransactionalView):
    @blp.response(200, OrderOut)
    @blp.errors(401, 403, 404)
    def get(self, order_id):
        """One order, consumer data at the fidelity I am granted."""
        scope = staff_only()
        return queries.order_detail(db.session, scope, queries.get_order(db.session, scope, order_id))


@blp.route("/orders/<uuid:order_id>/ship")
class Ship(TransactionalView):
    @blp.arguments(ShipIn, example={"carrier": "SF", "tracking_number": "SF1234567890"})
    @blp.response(201, ShipmentOut)
    @blp.errors(*ERRORS)
    def post(self, body, order_id):
        """Ship some or all open units of an order I sell."""
        return fulfilment.ship(db.session, scope=staff_only(), order_id=order_id, **body)


@blp.route("/orders/<uuid:order_id>/cancel")
class Cancel(TransactionalView):
    @blp.arguments(CancelIn)
    @blp.response(200, OrderOut)
    @blp.errors(*ERRORS)
    def post(self, body, order_id):
        """Cancel an unpaid order I sell or buy."""
        scope = staff_only()
        return order_response(scope, fulfilment.cancel(db.session, scope, order_id=order_id, **body))


@blp.route("/orders/<uuid:order_id>/confirm-receipt")
class ConfirmReceipt(TransactionalView):
    @blp.response(200, OrderOut)
    @blp.errors(*ERRORS)
    def post(self, order_id):
        """My org received a purchase order: completed, goods into my stock."""
        scope = staff_only()
        return order_response(scope, fulfilment.complete(db.session, scope, order_id=order_id))


@blp.route("/orders/<uuid:order_id>/refunds")
class RequestRefund(TransactionalView):
    @blp.arguments(RefundIn)
    @blp.response(201, RefundOut)
    @blp.errors(*ERRORS)
    def post(self, body, order_id):
        """Ask the seller for a refund on some units of a purchase order my org made."""
        refund = aftersales.request_refund(db.session, scope=staff_only(), order_id=order_id, **body)
        return queries.refund_detail(db.session, refund)


@blp.route("/refunds")
class Refunds(TransactionalView):
    @blp.arguments(RefundListQuery, location="query")
    @blp.response(200, RefundOut(many=True))
    @blp.errors(401, 403)
    def get(self, query):
        """Refunds on orders in my scope, newest first."""
        session = db.session
        return [queries.refund_detail(session, refund)
                for refund in queries.list_refunds(session, staff_only(), **query)]


@blp.route("/refunds/<uuid:refund_id>/approve")
class ApproveRefund(TransactionalView):
    @blp.arguments(DecisionIn)
    @blp.response(200, RefundOut)
    @blp.errors(*ERRORS)
    def post(self, body, refund_id):
        """Approve a refund on an order I sell; the payment is refunded next."""
        refund = aftersales.approve_refund(db.session, scope=staff_only(), refund_id=refund_id, **body)
        return queries.refund_detail(db.session, refund)


@blp.route("/refunds/<uuid:refund_id>/reject")
class RejectRefund(TransactionalView):
    @blp.arguments(DecisionIn)
    @blp.response(200, RefundOut)
    @blp.errors(*ERRORS)
    def post(self, body, refund_id):
        """Reject a refund on an order I sell."""
        refund = aftersales.reject_refund(db.session, scope=staff_only(), refund_id=refund_id, **body)
        return queries.refund_detail(db.session, refund)
