"""After the order row: use the coupon, spend the points, claim mall stock, store the adjustments.

On PostgreSQL a checkout's membership writes are ONE statement (`_AT_ONCE`, data-modifying CTEs)
instead of five: the coupon's conditional UPDATE, one UPDATE taking every planned lot (each
re-checked: `remaining >= take`, still usable), the member's conditional balance UPDATE, the
points moves and the adjustments. The takes are planned from the lots `checkout_reads` read
before the order, soonest expiry first, so the moves and the adjustments' `source.takes` are
built here with their ids (UUIDv7, made in Python) and sent as JSON.

Each step runs only when the one before did all it had to (a scalar subquery on its RETURNING),
which also fixes the lock order: the coupon, then the lots (locked FIFO, as `points.take_fifo` and
the lot-by-lot path take them: two checkouts of one member cannot deadlock on them), then the
member — as step by step.
- the coupon is gone (used by a parallel checkout, out of its dates): nothing else is written
  and the request fails with coupon_unavailable (its transaction rolls back);
- a planned lot was drained by a parallel spend since the read: the lots that held stay taken,
  the member, the moves and the adjustments are not written, and the points are completed step
  by step (`points.spend_at_checkout` with `already`), which re-reads the lots or answers
  insufficient_points.
SQLite (the demo, one writer at a time) and points-mall orders go step by step.
"""

import json
import uuid
from typing import TYPE_CHECKING

from sqlalchemy import text, update
from sqlalchemy.orm import Session

from app.db import utcnow, uuid7
from app.membership import coupons
from app.membership.checkout_errors import CouponUnavailable, MallItemSoldOut
from app.membership.checkout_models import AdjustmentStep, MallItem, OrderAdjustment
from app.membership.models import MoveKind
from app.membership.points import spend_at_checkout
from app.membership.waterfall import Step
from app.orders.models import Order, OrderLine

if TYPE_CHECKING:
    from app.membership.checkout import MemberPricing

Take = tuple[uuid.UUID, int]

_MOVES = ("tenant_id, id, owner_path, created_at, consumer_id, member_id, lot_id, kind, points, order_id,"
          " source_key, seq")
_ADJUSTMENTS = ("tenant_id, id, order_id, owner_path, seller_path, buyer_consumer_id, step, amount_minor,"
                " points, coupon_id, source, lines, created_at")

_AT_ONCE = text(f"""
WITH used AS (
  UPDATE coupons SET status = 'used', order_id = :order_id, used_at = :now
  WHERE tenant_id = :tenant_id AND id = CAST(:coupon_id AS uuid) AND status = 'available'
    AND valid_from <= :now AND valid_to > :now
  RETURNING id),
plan AS (
  SELECT * FROM jsonb_to_recordset(CAST(:plan AS jsonb)) AS plan(lot_id uuid, take bigint)),
locked AS (
  SELECT lot.id FROM points_lots AS lot JOIN plan ON plan.lot_id = lot.id
  WHERE lot.tenant_id = :tenant_id AND (SELECT count(*) FROM used) = :coupons
  ORDER BY lot.expires_at IS NULL, lot.expires_at, lot.id FOR UPDATE OF lot),
taken AS (
  UPDATE points_lots AS lot SET remaining = lot.remaining - plan.take
  FROM plan, locked
  WHERE lot.tenant_id = :tenant_id AND lot.id = locked.id AND lot.id = plan.lot_id
    AND lot.remaining >= plan.take
    AND lot.status = 'available' AND (lot.expires_at IS NULL OR lot.expires_at > :now)
  RETURNING lot.id, plan.take),
spent AS (
  UPDATE members SET points_available = points_available - CAST(:points AS bigint)
  WHERE tenant_id = :tenant_id AND id = CAST(:member_id AS uuid) AND CAST(:points AS bigint) > 0
    AND points_available >= CAST(:points AS bigint)
    AND (SELECT coalesce(sum(take), 0) FROM taken) = CAST(:points AS bigint)
  RETURNING id),
moves AS (
  INSERT INTO points_moves ({_MOVES})
  SELECT {_MOVES} FROM jsonb_populate_recordset(NULL::points_moves, CAST(:moves AS jsonb))
  WHERE EXISTS (SELECT FROM spent)),
adjusted AS (
  INSERT INTO order_adjustments ({_ADJUSTMENTS})
  SELECT {_ADJUSTMENTS} FROM jsonb_populate_recordset(NULL::order_adjustments, CAST(:adjustments AS jsonb))
  WHERE (SELECT count(*) FROM used) = :coupons AND (SELECT count(*) FROM spent) = :spends)
SELECT (SELECT count(*) FROM spent) AS spent, (SELECT count(*) FROM used) AS used,
       (SELECT array_agg(id) FROM taken) AS taken""")


def record(session: Session, order: Order, lines: list[OrderLine], pricing: "MemberPricing") -> None:
    """Make the waterfall true for `order` (a pricing with steps)."""
    steps = pricing.breakdown.steps
    mall = any(step.step is AdjustmentStep.points_mall for step in steps)
    plan = None if mall else _plan(steps, pricing.holdings.lots)
    if plan is None or session.get_bind().dialect.name != "postgresql":
        _step_by_step(session, order, lines, pricing)
        return
    held = _at_once(session, order, lines, pricing, plan)
    if held is not None:  # a lot was drained meanwhile: finish the points step by step
        _step_by_step(session, order, lines, pricing, coupon_used=True, already=held)


def _plan(steps: list[Step], lots: tuple[Take, ...]) -> list[Take] | None:
    """The takes that pay the order's points from the lots as read (FIFO); None when they fall short."""
    need = sum(step.points for step in steps)
    takes = []
    for lot_id, remaining in lots:
        if need == 0:
            break
        take = min(need, remaining)
        takes.append((lot_id, take))
        need -= take
    return takes if need == 0 else None


def _at_once(session: Session, order: Order, lines: list[OrderLine], pricing: "MemberPricing",
             plan: list[Take]) -> tuple[Take, ...] | None:
    """The one statement; None when everything is written, else the planned takes that held."""
    steps = pricing.breakdown.steps
    coupon_id = next((step.coupon_id for step in steps if step.coupon_id is not None), None)
    spend = next((step for step in steps if step.points), None)
    takes = {spend.step: plan} if spend else {}
    row = session.execute(_AT_ONCE, {
        "tenant_id": order.tenant_id, "order_id": order.id, "now": utcnow(), "coupon_id": coupon_id,
        "coupons": int(coupon_id is not None), "member_id": pricing.holdings.member_id,
        "points": spend.points if spend else 0, "spends": int(spend is not None),
        "plan": json.dumps([{"lot_id": str(lot_id), "take": take} for lot_id, take in plan]),
        "moves": json.dumps(_moves(order, pricing, spend, plan), default=str),
        "adjustments": json.dumps(_adjustments(order, lines, steps, takes), default=str)}).one()
    if coupon_id is not None and not row.used:
        raise CouponUnavailable(coupons.USED_OR_OUT_OF_DATES)
    if spend is None or row.spent:
        return None
    held = set(row.taken or ())
    return tuple((lot_id, take) for lot_id, take in plan if lot_id in held)


def _moves(order: Order, pricing: "MemberPricing", spend: Step | None, plan: list[Take]) -> list[dict]:
    if spend is None:
        return []
    now = utcnow()
    return [{"tenant_id": order.tenant_id, "id": uuid7(), "owner_path": pricing.holdings.member_path,
             "created_at": now, "consumer_id": pricing.consumer_id, "member_id": pricing.holdings.member_id,
             "lot_id": lot_id, "kind": MoveKind.spend, "points": -take, "order_id": order.id,
             "source_key": _source_key(order, spend), "seq": n}
            for n, (lot_id, take) in enumerate(plan)]


def _step_by_step(session: Session, order: Order, lines: list[OrderLine], pricing: "MemberPricing", *,
                  coupon_used: bool = False, already: tuple[Take, ...] = ()) -> None:
    """One statement per write (SQLite, points-mall orders, a lot drained since the read)."""
    steps = pricing.breakdown.steps
    takes = {}
    for step in steps:
        if step.coupon_id is not None and not coupon_used:
            coupons.use(session, tenant_id=order.tenant_id, coupon_id=step.coupon_id, order_id=order.id)
        if step.step is AdjustmentStep.points_mall:
            _claim_mall_stock(session, order.tenant_id, pricing.mall_item_id, lines[0].qty)
        if step.points:
            takes[step.step] = spend_at_checkout(
                session, tenant_id=order.tenant_id, consumer_id=pricing.consumer_id, points=step.points,
                order_id=order.id, source_key=_source_key(order, step), already=already)
    session.execute(OrderAdjustment.__table__.insert(), _adjustments(order, lines, steps, takes))


def _source_key(order: Order, step: Step) -> str:
    return f"order:{order.id}:{step.step.value}"


def _adjustments(order: Order, lines: list[OrderLine], steps: list[Step],
                 takes: dict[AdjustmentStep, list[Take]]) -> list[dict]:
    """One row per step with its source (the lots taken, for points) and its split over the lines."""
    rows = []
    for step in steps:
        source = dict(step.source)
        if step.step in takes:
            source["takes"] = [[str(lot_id), taken] for lot_id, taken in takes[step.step]]
        per_line = [{"line_id": str(line.id), "amount_minor": amount, "points": points}
                    for line, amount, points in zip(
                        lines, step.per_line, step.points_per_line or (0,) * len(lines), strict=True)]
        rows.append({"tenant_id": order.tenant_id, "id": uuid7(), "order_id": order.id,
                     "owner_path": order.owner_path, "seller_path": order.seller_path,
                     "buyer_consumer_id": order.buyer_consumer_id, "step": step.step.value,
                     "amount_minor": step.amount_minor, "points": step.points,
                     "coupon_id": step.coupon_id, "source": source, "lines": per_line,
                     "created_at": order.created_at})
    return rows


def _claim_mall_stock(session: Session, tenant_id: uuid.UUID, item_id: uuid.UUID, qty: int) -> None:
    claimed = session.execute(
        update(MallItem).where(MallItem.tenant_id == tenant_id, MallItem.id == item_id,
                               MallItem.redeemed + qty <= MallItem.stock)
        .values(redeemed=MallItem.redeemed + qty).returning(MallItem.redeemed)
        .execution_options(synchronize_session=False)).first()
    if claimed is None:
        raise MallItemSoldOut("This points-mall item is out of stock.")
