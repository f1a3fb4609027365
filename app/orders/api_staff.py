"""Order actions staff take from the portal and the store alike: one module, on both blueprints.

Lists and details, shipping, cancelling, confirming receipt and deciding refunds are the same
use cases whoever sells: `register_staff_actions` adds these views to a blueprint, and the
portal and store blueprints each add their own flows (purchase, replenishment, in-store, pick-up).
"""

from app.auth.request import staff_only
from app.blueprint import Blueprint, TransactionalView
from app.extensions import db
from app.orders import aftersales, fulfilment, queries
from app.orders.placement import OrderRequest, Placed, place_supply_order
from app.orders.schemas import (
    CancelIn,
    DecisionIn,
    OrderListQuery,
    OrderOut,
    OrderSummaryOut,
    RefundListQuery,
    RefundOut,
    ShipIn,
    ShipmentOut,
)
from app.paging import page_of

# Never registered itself: its decorators document the views; the blueprints below route them.
docs = Blueprint("staff_order_actions", __name__)

ERRORS = (401, 403, 404, 409, 422)


def order_response(scope, order, *, lines=None, with_history=True) -> dict:
    return queries.order_detail(db.session, scope, order, lines=lines, with_history=with_history)


def placed_response(scope, placed: Placed) -> tuple[dict, int]:
    """201 for a new order, 200 when an Idempotency-Key replays an earlier one."""
    return (order_response(scope, placed.order, lines=placed.lines, with_history=False),
            201 if placed.created else 200)


def supply_order(headers: dict, body: dict) -> tuple[dict, int]:
    """My org buys from its parent: a purchase order (portal) or a replenishment (store)."""
    scope = staff_only()
    request = OrderRequest(idempotency_key=headers["idempotency_key"], **body)
    return placed_response(scope, place_supply_order(db.session, scope, request=request))


class Orders(TransactionalView):
    @docs.arguments(OrderListQuery, location="query")
    @docs.response(200, page_of(OrderSummaryOut))
    @docs.errors(401, 403)
    def get(self, query):
        """Orders in my scope: sold by my org or subtree (side=to_me), bought by it (side=from_me)."""
        return queries.list_orders(db.session, staff_only(), **query)


class OrderItem(TransactionalView):
    @docs.response(200, OrderOut)
    @docs.errors(401, 403, 404)
    def get(self, order_id):
        """One order, consumer data at the fidelity I am granted."""
        scope = staff_only()
        return queries.order_detail(db.session, scope, queries.get_order(db.session, scope, order_id))


class Ship(TransactionalView):
    @docs.arguments(ShipIn, example={"carrier": "SF", "tracking_number": "SF1234567890"})
    @docs.response(201, ShipmentOut)
    @docs.errors(*ERRORS)
    def post(self, body, order_id):
        """Ship some or all open units of an order my org sells."""
        return fulfilment.ship(db.session, staff_only(), order_id=order_id, **body)


class Cancel(TransactionalView):
    @docs.arguments(CancelIn)
    @docs.response(200, OrderOut)
    @docs.errors(*ERRORS)
    def post(self, body, order_id):
        """Cancel an unpaid order my org sells or buys; its stock is released."""
        scope = staff_only()
        return order_response(scope, fulfilment.cancel(db.session, scope, order_id=order_id, **body))


class ConfirmReceipt(TransactionalView):
    @docs.response(200, OrderOut)
    @docs.errors(*ERRORS)
    def post(self, order_id):
        """An order my org bought arrived: completed, the goods go into my org's stock."""
        scope = staff_only()
        return order_response(scope, fulfilment.complete(db.session, scope, order_id=order_id))


class Refunds(TransactionalView):
    @docs.arguments(RefundListQuery, location="query")
    @docs.response(200, page_of(RefundOut))
    @docs.errors(401, 403)
    def get(self, query):
        """Refunds on orders in my scope, newest first."""
        page = queries.list_refunds(db.session, staff_only(), **query)
        return queries.refund_page_details(db.session, page)  # the lines of the page in one statement


class ApproveRefund(TransactionalView):
    @docs.arguments(DecisionIn)
    @docs.response(200, RefundOut)
    @docs.errors(*ERRORS)
    def post(self, body, refund_id):
        """Approve a refund on an order my org sells; the payment is refunded next."""
        refund = aftersales.approve_refund(db.session, staff_only(), refund_id=refund_id, **body)
        return queries.refund_detail(db.session, refund)


class RejectRefund(TransactionalView):
    @docs.arguments(DecisionIn)
    @docs.response(200, RefundOut)
    @docs.errors(*ERRORS)
    def post(self, body, refund_id):
        """Reject a refund on an order my org sells."""
        refund = aftersales.reject_refund(db.session, staff_only(), refund_id=refund_id, **body)
        return queries.refund_detail(db.session, refund)


ROUTES = (
    ("/orders/<uuid:order_id>", OrderItem),
    ("/orders/<uuid:order_id>/ship", Ship),
    ("/orders/<uuid:order_id>/cancel", Cancel),
    ("/orders/<uuid:order_id>/confirm-receipt", ConfirmReceipt),
    ("/refunds", Refunds),
    ("/refunds/<uuid:refund_id>/approve", ApproveRefund),
    ("/refunds/<uuid:refund_id>/reject", RejectRefund),
)


def register_staff_actions(blp: Blueprint) -> None:
    """Route the shared staff actions on `blp` (its own `/orders` view comes from `Orders`)."""
    for rule, view in ROUTES:
        blp.route(rule)(view)
