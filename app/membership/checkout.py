"""The waterfall at checkout, with the session: read the benefits, coupon and lots (one statement,
`checkout_reads`), the points terms and mall item, run `waterfall.run`, and once the order exists
use the coupon, spend the points, claim the mall stock and store each step as an
`order_adjustments` row (`checkout_writes`: one statement on PostgreSQL).

`_place` (app/orders/placement.py) calls `price(...)` before it writes the order and
`MemberPricing.record(...)` after its lines are in; supply orders get the neutral pricing.
"""

import uuid
from dataclasses import dataclass

from sqlalchemy import exists, select, update
from sqlalchemy.orm import Session

from app.db import utcnow
from app.membership import checkout_reads, checkout_writes, coupons, waterfall
from app.membership.checkout_errors import InvalidMallItem, PointsNotEnabled
from app.membership.checkout_models import AdjustmentStep, MallItem, OrderAdjustment
from app.orders.cache import TtlCache
from app.orders.models import Order, OrderLine
from app.orders.rules import PricedLine
from app.tenancy.models import Org, Tenant

_STACKING = TtlCache(seconds=60)
_LEVELS = TtlCache(seconds=60)
_PROGRAMS = TtlCache(seconds=60)


@dataclass
class MemberPricing:
    """What the waterfall decided; `record` makes it true once the order row exists."""

    lines: list[PricedLine]
    shipping_minor: int
    breakdown: waterfall.Breakdown | None = None
    consumer_id: uuid.UUID | None = None
    mall_item_id: uuid.UUID | None = None
    holdings: checkout_reads.Holdings = checkout_reads.NOTHING  # the member row and lots, as read

    def record(self, session: Session, order: Order, lines: list[OrderLine]) -> None:
        """Use the coupon, spend the points, claim mall stock, store the adjustments
        (one statement on PostgreSQL: `checkout_writes`)."""
        if self.breakdown is None or not self.breakdown.steps:
            return
        checkout_writes.record(session, order, lines, self)


def neutral(priced: list[PricedLine], shipping_minor: int) -> MemberPricing:
    return MemberPricing(lines=priced, shipping_minor=shipping_minor)


def price(session: Session, *, seller: Org, consumer_id: uuid.UUID | None,
          sku_qty: list[tuple[uuid.UUID, int]],
          unit_prices: dict[uuid.UUID, int], shipping_fee_minor: int, coupon_id: uuid.UUID | None = None,
          points: int = 0, mall_item_id: uuid.UUID | None = None,
          check_coupon: bool = False, read_lots: bool = True) -> MemberPricing:
    """The retail waterfall for a consumer at `seller` (docs/membership-checkout.md); refuses bad choices.

    `read_lots`: also read the lots that would pay the points (placement plans its takes with them;
    the quote, which takes nothing, does not)."""
    tenant_id = seller.tenant_id
    holdings = _holdings(session, tenant_id, consumer_id, coupon_id=coupon_id,
                         lots_for=points if read_lots and not mall_item_id else 0)
    benefits = holdings.benefits
    coupon_terms, categories = None, {}
    if coupon_id is not None:
        coupon, template = coupons.mine_at_store(holdings.coupon, holdings.template, consumer_id=consumer_id,
                                                 store_id=seller.id)
        if check_coupon:
            coupons.require_usable(coupon)
        coupon_terms = _terms_of(coupon, template)
        if template.category_id is not None:
            categories = _categories(session, tenant_id, [sku for sku, _ in sku_qty])
    items = [waterfall.Item(sku_id, unit_prices[sku_id], qty, categories.get(sku_id))
             for sku_id, qty in sku_qty]
    mall = _mall_terms(session, tenant_id, mall_item_id) if mall_item_id else None
    program = _program(session, tenant_id) if points else None
    if points and program is None:
        raise PointsNotEnabled("This brand has no points program.")
    breakdown = waterfall.run(
        items, level_code=benefits.level_code, level_discount_bp=benefits.discount_bp, coupon=coupon_terms,
        points=_points_terms(program, points) if points else None, mall=mall,
        shipping_fee_minor=shipping_fee_minor, free_shipping_min_minor=benefits.free_shipping_min_minor,
        stacking=_stacking(session, tenant_id))
    lines = [PricedLine(item.unit_price_minor, item.qty, discount)
             for item, discount in zip(items, breakdown.line_discounts, strict=True)]
    return MemberPricing(lines=lines, shipping_minor=breakdown.shipping_minor, breakdown=breakdown,
                         consumer_id=consumer_id, mall_item_id=mall_item_id, holdings=holdings)


def max_points(session: Session, tenant_id: uuid.UUID, breakdown: waterfall.Breakdown) -> int:
    """The most points this order could pay with, after the level discount and the coupon."""
    program = _program(session, tenant_id)
    if program is None:
        return 0
    before = sum(step.amount_minor for step in breakdown.steps
                 if step.step in (AdjustmentStep.level, AdjustmentStep.coupon))
    cap = min(breakdown.goods_minor * program.max_points_share_bp // waterfall.BP,
              breakdown.goods_minor - before)
    from app.membership.programs import points_for_minor  # noqa: PLC0415

    return points_for_minor(program, max(cap, 0))


def _holdings(session: Session, tenant_id: uuid.UUID, consumer_id: uuid.UUID | None, *,
              coupon_id: uuid.UUID | None, lots_for: int) -> checkout_reads.Holdings:
    """Level benefits, the coupon and the lots in one read; no statement when none is needed.
    The lots are read on PostgreSQL only (SQLite spends step by step and reads them then)."""
    if consumer_id is None:
        return checkout_reads.NOTHING
    levels = _levels_give_benefits(session, tenant_id)
    if session.get_bind().dialect.name != "postgresql":
        lots_for = 0
    if not (levels or coupon_id is not None or lots_for > 0):
        return checkout_reads.NOTHING
    return checkout_reads.read(session, tenant_id, consumer_id, levels=levels, coupon_id=coupon_id,
                               lots_for=lots_for)


def _levels_give_benefits(session: Session, tenant_id: uuid.UUID) -> bool:
    """Whether any level of the tenant discounts or ships free (cached a minute): a tenant without
    such levels pays no statement for benefits at checkout."""
    from app.membership.models import MemberLevel  # noqa: PLC0415

    def load():
        return bool(session.scalar(select(exists().where(
            MemberLevel.tenant_id == tenant_id,
            (MemberLevel.discount_bp > 0) | MemberLevel.free_shipping_min_minor.is_not(None)))))

    return _LEVELS.get(tenant_id, load)


@dataclass(frozen=True)
class _ProgramTerms:
    """What checkout reads of the program (cached a minute, like the tenant's order terms)."""

    tenant_id: uuid.UUID
    currency: str
    points_per_unit: int
    max_points_share_bp: int


def _program(session: Session, tenant_id: uuid.UUID) -> _ProgramTerms | None:
    from app.membership.programs import program_for  # noqa: PLC0415

    def load():
        program = program_for(session, tenant_id)
        if program is None or not program.active:
            return None
        return _ProgramTerms(tenant_id, program.currency, program.points_per_unit,
                             program.max_points_share_bp)

    return _PROGRAMS.get(tenant_id, load)


def _points_terms(program, points: int) -> waterfall.PointsTerms:
    from app.membership.programs import points_for_minor, points_value_minor  # noqa: PLC0415

    return waterfall.PointsTerms(points=points, max_share_bp=program.max_points_share_bp,
                                 value_minor=lambda n: points_value_minor(program, n),
                                 points_for=lambda minor: points_for_minor(program, minor))


def _stacking(session: Session, tenant_id: uuid.UUID) -> waterfall.Stacking:
    """The stacking matrix from the tenant's settings ("membership": {"stacking": {...}})."""
    def load():
        tenant = session.get(Tenant, tenant_id)
        return waterfall.Stacking.from_settings((tenant.settings or {}).get("membership"))

    return _STACKING.get(tenant_id, load)


def _terms_of(coupon, template) -> waterfall.CouponTerms:
    return waterfall.CouponTerms(
        coupon_id=coupon.id, kind=template.kind, amount_off_minor=template.amount_off_minor,
        percent_off_bp=template.percent_off_bp, max_off_minor=template.max_off_minor,
        min_goods_minor=template.min_goods_minor, applies_to=template.applies_to,
        category_id=template.category_id, sku_ids=frozenset(uuid.UUID(s) for s in template.sku_ids or []))


def _categories(session: Session, tenant_id: uuid.UUID, sku_ids: list[uuid.UUID]) -> dict:
    from app.catalog.models import Product, Sku  # noqa: PLC0415

    rows = session.execute(select(Sku.id, Product.category_id).join(
        Product, (Product.tenant_id == Sku.tenant_id) & (Product.id == Sku.product_id))
        .where(Sku.tenant_id == tenant_id, Sku.id.in_(sku_ids)))
    return dict(rows.all())


def _mall_terms(session: Session, tenant_id: uuid.UUID, item_id: uuid.UUID) -> waterfall.MallTerms:
    item = session.get(MallItem, (tenant_id, item_id))
    if item is None or not item.active:
        raise InvalidMallItem("No such points-mall item on offer.")
    return waterfall.MallTerms(item.id, item.sku_id, item.points_price, item.cash_minor)


def release_mall_stock(session: Session, *, tenant_id: uuid.UUID, order_id: uuid.UUID) -> int:
    """A cancelled mall order gives its units back to the item's stock, once (released_at)."""
    now = utcnow()
    released = session.execute(
        update(OrderAdjustment).where(
            OrderAdjustment.tenant_id == tenant_id, OrderAdjustment.order_id == order_id,
            OrderAdjustment.step == AdjustmentStep.points_mall, OrderAdjustment.released_at.is_(None))
        .values(released_at=now).returning(OrderAdjustment.source, OrderAdjustment.lines)
        .execution_options(synchronize_session=False)).all()
    for source, _ in released:
        qty = session.scalar(select(OrderLine.qty).where(OrderLine.tenant_id == tenant_id,
                                                         OrderLine.order_id == order_id))
        session.execute(update(MallItem).where(
            MallItem.tenant_id == tenant_id, MallItem.id == uuid.UUID(source["mall_item_id"]))
            .values(redeemed=MallItem.redeemed - qty).execution_options(synchronize_session=False))
    return len(released)
