"""Store ordering: the shared staff order actions, replenishment, in-store sales, pick-up."""

from app.auth.request import staff_only
from app.blueprint import Blueprint, TransactionalView
from app.extensions import db
from app.orders import fulfilment
from app.orders.api_staff import (
    ERRORS,
    Orders,
    order_response,
    placed_response,
    register_staff_actions,
    supply_order,
)
from app.orders.placement import OrderRequest, place_in_store
from app.orders.schemas import IdempotencyHeader, InStoreOrderIn, OrderOut, SupplyOrderIn

blp = Blueprint("store_orders", __name__, url_prefix="/store",
                description="Stores: replenishment, retail and in-store orders, shipping and pick-up")

blp.route("/orders")(Orders)


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
        return supply_order(headers, body)


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
        request = OrderRequest(idempotency_key=headers["idempotency_key"], **body)
        return placed_response(scope, place_in_store(db.session, scope, member_id=member_id, request=request))


@blp.route("/orders/<uuid:order_id>/pick-up")
class PickUp(TransactionalView):
    @blp.response(200, OrderOut)
    @blp.errors(*ERRORS)
    def post(self, order_id):
        """The member collected a paid order at the counter: shipped and completed."""
        scope = staff_only()
        return order_response(scope, fulfilment.pick_up(db.session, scope, order_id=order_id))


register_staff_actions(blp)
