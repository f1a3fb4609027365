"""The app gunicorn serves in bench/checkout.py, plus the ceiling endpoint (only with TIERMALL_BENCH=1).

Two ceilings write what a 3-line checkout writes (the stock of 3 lines reserved with their
movements, the order, its lines, one history row, one outbox row) in one transaction, with the same
auth and RLS settings and no business logic: what the framework, driver and database cost on their
own. `/bench/ceiling` is the issue's (one UPDATE and one INSERT per line: 12 statements);
`/bench/ceiling-lean` reserves with checkout's own one-statement CTE (7 statements), so that a
checkout leaner than the issue's ceiling is still compared with the fewest statements possible.
"""

import json
import os
import uuid

from flask import request
from flask.views import MethodView
from sqlalchemy import insert, text

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

# The ceiling (issue 13): one conditional UPDATE and one movement INSERT per line.
RESERVE = text(
    "UPDATE stock_levels SET reserved = reserved + :qty, updated_at = now()"
    " WHERE tenant_id = :t AND org_id = :org AND sku_id = :sku AND on_hand - reserved >= :qty"
    " RETURNING on_hand, reserved")
MOVEMENT = text(
    "INSERT INTO stock_movements (tenant_id, id, owner_path, org_id, sku_id, reason, qty, reserved_delta,"
    " on_hand_after, reserved_after, order_id, created_at)"
    " VALUES (:t, :id, :path, :org, :sku, 'reserve', 0, :qty, :on_hand, :reserved, :order_id, now())")


def reserve_per_line(session, tenant_id, store_id, path, order_id, lines) -> None:
    for line in sorted(lines, key=lambda line: line["sku_id"]):  # lock order, as placement
        params = {"t": tenant_id, "org": store_id, "sku": uuid.UUID(line["sku_id"]), "qty": line["qty"]}
        after = session.execute(RESERVE, params).one()
        session.execute(MOVEMENT, {**params, "id": uuid7(), "path": path, "on_hand": after.on_hand,
                                   "reserved": after.reserved, "order_id": order_id})


def reserve_at_once(session, tenant_id, store_id, path, order_id, lines) -> None:
    """Checkout's own one-statement reservation (stock.reserve_many's CTE): the fewest round
    trips these writes can take."""
    wanted = json.dumps([{"sku_id": line["sku_id"], "qty": line["qty"], "movement_id": str(uuid7())}
                         for line in lines])
    held = session.execute(stock._RESERVE_MANY, {  # noqa: SLF001  (the very statement, on purpose)
        "lines": wanted, "tenant_id": tenant_id, "org_id": store_id, "owner_path": path,
        "order_id": order_id, "now": utcnow()}).all()
    assert len(held) == len(lines), "bench stock ran out"


def write_order(reserve) -> tuple[dict, int]:
    """The same writes as a 3-line retail checkout, without business logic."""
    scope = consumer_only()
    enter_scope(db.session, Why.reserve_seller_stock, scope=system_scope(scope.tenant_id))  # as placement
    body = request.get_json()
    tenant_id, store_id = scope.tenant_id, uuid.UUID(body["store_id"])
    path, order_id, now = body["store_path"], uuid7(), utcnow()
    session = db.session
    reserve(session, tenant_id, store_id, path, order_id, body["lines"])
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


@blp.route("/ceiling")
class Ceiling(MethodView):
    @blp.response(201)
    def post(self):
        """The issue's ceiling: the writes of a checkout, the stock one line at a time (12 statements)."""
        return write_order(reserve_per_line)


@blp.route("/ceiling-lean")
class LeanCeiling(MethodView):
    @blp.response(201)
    def post(self):
        """The same writes in the fewest statements: the stock in checkout's one CTE (7 statements)."""
        return write_order(reserve_at_once)


app = create_app()
freeze_startup_objects()  # as wsgi.py does
api.register_blueprint(blp)
