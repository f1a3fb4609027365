"""Store ordering: replenish from my distributor, retail orders (in-store for members), ship and pick-up."""


from app.auth.request import staff_only
from app.blueprint import Blueprint, TransactionalView
from app.extensions import db
from app.orders import aftersales, fulfilment, queries
from app.orders.placement import OrderRequest, place_in_store, place_supply_order
from app.orders.schemas import (
    CancelIn,
    DecisionIn,
    IdempotencyHeader,
    InStoreOrderIn,
    OrderListQuery,
    OrderOut,
    OrderSummaryOut,
    RefundListQuery,
    RefundOut,
    ShipIn,
    ShipmentOut,
    SupplyOrderIn,
)

blp = Blueprint("store_orders", __name__, url_prefix="/store",
                description="Stores: replenishment, retail and in-store orders, shipping and pick-up")

ERRORS = (401, 403, 404, 409, 422)


def order_response(scope, order, *, lines=None, with_history=True):
    return queries.order_detail(db.session, scope, order, lines=lines, with_history=with_history)


@blp.route("/orders")
class Orders(TransactionalView):
    @blp.arguments(OrderListQuery, location="query")
    @blp.response(200, OrderSummaryOut(many=True))
    @blp.errors(401, 403)
    def get(self, query):
        """My store's orders: retail sales (side=to_me) and replenishments (side=from_me)."""
        return queries.list_orders(db.session, staff_only(), **query)


@blp.route("/replenishments")
class Replenishments(TransactionalView):
    @blp.arguments(IdempotencyHeader, location="headers")
    @blp.arguments(SupplyOrderIn, example={"lines": [{"sku_id": "0196b7c2-5f7e-7c1a-9d3e-3f1b2a4c5d6e",
                                                      "qty": 12}]})
    @blp.response(201, OrderOut)
    @blp.alt_response(200, schema=OrderOut, description="Replayed: the order this Idempotency-Key made")
    @blp.errors(*ERRORS)
    def post(self, headers, body):
        """Replenish my store from my distributor."""
        scope = staff_only()
        placed = place_supply_order(db.session, scope,
                                    request=OrderRequest(idempotency_key=headers["idempotency_key"], **body))
        return order_response(scope, placed.order, lines=placed.lines, with_history=False), (
            201 if placed.created else 200)


@blp.route("/orders/in-store")
class InStoreOrders(TransactionalView):
    @blp.arguments(IdempotencyHeader, location="headers")
    @blp.arguments(InStoreOrderIn, example={"member_id": "0196b7c2-7000-7000-8000-000000000009", "lines": [
        {"sku_id": "0196b7c2-5f7e-7c1a-9d3e-3f1b2a4c5d6e", "qty": 1}]})
    @blp.response(201, OrderOut)
    @blp.alt_response(200, schema=OrderOut, description="Replayed: the order this Idempotency-Key made")
    @blp.errors(*ERRORS)
    def post(self, headers, body):
        """A guide sells in the store to a member: a retail order credited to the guide."""
        scope = staff_only()
        member_id = body.pop("member_id")
        placed = place_in_store(db.session, scope, member_id=member_id,
                                request=OrderRequest(idempotency_key=headers["idempotency_key"], **body))
        return order_response(scope, placed.order, lines=placed.lines, with_history=False), (
            201 if placed.created else 200)


@blp.route("/orders/<uuid:order_id>")
class OrderItem(TransactionalView):
    @blp.response(200, OrderOut)
    @blp.errors(401, 403, 404)
    def get(self, order_id):
        """One of my store's orders."""
        scope = staff_only()
        return queries.order_detail(db.session, scope, queries.get_order(db.session, scope, order_id))


@blp.route("/orders/<uuid:order_id>/ship")
class Ship(TransactionalView):
    @blp.arguments(ShipIn, example={"carrier": "SF", "tracking_number": "SF1234567890"})
    @blp.response(201, ShipmentOut)
    @blp.errors(*ERRORS)
    def post(self, body, order_id):
        """Ship some or all open units of a retail order."""
        return fulfilment.ship(db.session, scope=staff_only(), order_id=order_id, **body)


@blp.route("/orders/<uuid:order_id>/pick-up")
class PickUp(TransactionalView):
    @blp.response(200, OrderOut)
    @blp.errors(*ERRORS)
    def post(self, order_id):
        """The member collected a paid order at the counter: shipped and completed."""
        scope = staff_only()
        return order_response(scope, fulfilment.pick_up(db.session, scope, order_id=order_id))


@blp.route("/orders/<uuid:order_id>/confirm-receipt")
class ConfirmReceipt(TransactionalView):
    @blp.response(200, OrderOut)
    @blp.errors(*ERRORS)
    def post(self, order_id):
        """My replenishment arrived: completed, goods into my store's stock."""
        scope = staff_only()
        return order_response(scope, fulfilment.complete(db.session, scope, order_id=order_id))


@blp.route("/orders/<uuid:order_id>/cancel")
class Cancel(TransactionalView):
    @blp.arguments(CancelIn)
    @blp.response(200, OrderOut)
    @blp.errors(*ERRORS)
    def post(self, body, order_id):
        """Cancel an unpaid order my store sells or buys."""
        scope = staff_only()
        return order_response(scope, fulfilment.cancel(db.session, scope, order_id=order_id, **body))


@blp.route("/refunds")
class Refunds(TransactionalView):
    @blp.arguments(RefundListQuery, location="query")
    @blp.response(200, RefundOut(many=True))
    @blp.errors(401, 403)
    def get(self, query):
        """Refund requests on my store's orders."""
        session = db.session
        return [queries.refund_detail(session, refund)
                for refund in queries.list_refunds(session, staff_only(), **query)]


@blp.route("/refunds/<uuid:refund_id>/approve")
class ApproveRefund(TransactionalView):
    @blp.arguments(DecisionIn)
    @blp.response(200, RefundOut)
    @blp.errors(*ERRORS)
    def post(self, body, refund_id):
        """Approve a member's refund request."""
        refund = aftersales.approve_refund(db.session, scope=staff_only(), refund_id=refund_id, **body)
        return queries.refund_detail(db.session, refund)


@blp.route("/refunds/<uuid:refund_id>/reject")
class RejectRefund(TransactionalView):
    @blp.arguments(DecisionIn)
    @blp.response(200, RefundOut)
    @blp.errors(*ERRORS)
    def post(self, body, refund_id):
        """Reject a member's refund request."""
        refund = aftersales.reject_refund(db.session, scope=staff_only(), refund_id=refund_id, **body)
        return queries.refund_detail(db.session, refund)
