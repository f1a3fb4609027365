"""The app gunicorn serves in bench/checkout.py, plus the ceiling endpoint (only with TIERMALL_BENCH=1).

The ceiling writes what a 3-line checkout writes (the stock of 3 lines reserved with their
movements, the order, its lines, one history row, one outbox row) in one transaction, with the same
auth and RLS settings, in the fewest statements (the reservation is checkout's own one-statement
CTE), and no business logic: what the framework, driver and database cost on their own.
"""

import json
import os
import uuid

from flask import request
from flask.views import MethodView
from sqlalchemy import insert

from app import create_app
from app.auth.request import consumer_only
from app.blueprint import Blueprint
from app.catalog import stock
from app.db import utcnow, uuid7
from app.extensions import api, db
from app.orders.models import Order, OrderHistory, OrderLine
from app.platform.models import OutboxEvent
from app.platform.startup import freeze_startup_objects
from app.tenancy.elevation import Why, enter_scope
from app.tenancy.scope import system_scope

if os.environ.get("TIERMALL_BENCH") != "1":
    raise RuntimeError("bench/checkout_app.py serves a benchmark-only endpoint: set TIERMALL_BENCH=1")

blp = Blueprint("bench", __name__, url_prefix="/bench", description="Benchmark only")

# The same reservation statement checkout sends (stock.reserve_many): the fewest round trips the
# writes can take, so that the ceiling stays a ceiling.
RESERVE_MANY = stock._RESERVE_MANY


@blp.route("/ceiling")
class Ceiling(MethodView):
    @blp.response(201)
    def post(self):
        """The same writes as a 3-line retail checkout, without business logic."""
        scope = consumer_only()
        enter_scope(db.session, Why.reserve_seller_stock, scope=system_scope(scope.tenant_id))  # as placement
        body = request.get_json()
        tenant_id, store_id = scope.tenant_id, uuid.UUID(body["store_id"])
        path, order_id, now = body["store_path"], uuid7(), utcnow()
        session = db.session
        lines = json.dumps([{"sku_id": line["sku_id"], "qty": line["qty"], "movement_id": str(uuid7())}
                            for line in body["lines"]])
        held = session.execute(RESERVE_MANY, {"lines": lines, "tenant_id": tenant_id, "org_id": store_id,
                                              "owner_path": path, "order_id": order_id, "now": now}).all()
        assert len(held) == len(body["lines"]), "bench stock ran out"
        common = {"tenant_id": tenant_id, "owner_path": path, "seller_path": path,
                  "buyer_consumer_id": scope.consumer_id}
        goods = sum(100 * line["qty"] for line in body["lines"])
        session.execute(insert(Order), [{
            **common, "id": order_id, "flow": "retail", "status": "pending_payment",
            "seller_org_id": store_id,
            "currency": "CNY", "goods_minor": goods, "discount_minor": 0, "shipping_minor": 0,
            "total_minor": goods, "refunded_minor": 0, "delivery": "pickup", "placed_by_kind": "consumer",
            "placed_by_id": scope.consumer_id, "created_at": now, "updated_at": now}])
        session.execute(insert(OrderLine), [{
            **common, "id": uuid7(), "order_id": order_id, "line_no": n, "sku_id": uuid.UUID(line["sku_id"]),
            "unit_price_minor": 100, "qty": line["qty"], "goods_minor": 100 * line["qty"],
            "discount_minor": 0, "total_minor": 100 * line["qty"], "shipped_qty": 0, "released_qty": 0,
            "refunded_qty": 0, "refunded_minor": 0} for n, line in enumerate(body["lines"], start=1)])
        session.execute(insert(OrderHistory), [{
            **common, "id": uuid7(), "order_id": order_id, "action": "place", "to_status": "pending_payment",
            "actor_kind": "consumer", "actor_id": scope.consumer_id, "created_at": now}])
        session.execute(insert(OutboxEvent), [{
            "tenant_id": tenant_id, "id": uuid7(), "owner_path": path, "type": "bench.ceiling",
            "subject_id": order_id, "payload": {}, "attempts": 0, "created_at": now}])
        session.commit()
        return {"id": str(order_id)}, 201


app = create_app()
freeze_startup_objects()  # as wsgi.py does
api.register_blueprint(blp)
