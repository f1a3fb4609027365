"""The ONE checkout pricing waterfall: pure arithmetic, no session (docs/membership-checkout.md).

Order of the steps, each working on what the previous ones left of every line:
1. tier price — the catalog's quote (price bands apply here, before any member benefit);
2. level discount — the member level's `discount_bp` of the goods;
3. coupon — on the lines it covers, after the level discount (the 满 threshold too);
4. points as money — up to the program's `max_points_share_bp` of the goods;
5. shipping — the level's free-shipping threshold on the goods still to pay waives the fee.
A points-mall order has one step instead of 2–4: points pay the goods except the item's cash.

Every step is split over the lines by largest remainder, weighted by what each line still
costs, so no line is discounted below zero and the parts sum exactly to the step.
"""

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field

from app.membership.checkout_errors import CouponNotApplicable, InvalidMallItem, NotStackable, PointsOverLimit
from app.membership.checkout_models import AdjustmentStep
from app.membership.coupon_models import CouponKind, CouponScope
from app.money import allocate

BP = 10_000


@dataclass(frozen=True)
class Item:
    """One order line at its tier price."""

    sku_id: uuid.UUID
    unit_price_minor: int
    qty: int
    category_id: uuid.UUID | None = None

    @property
    def goods_minor(self) -> int:
        return self.unit_price_minor * self.qty


@dataclass(frozen=True)
class CouponTerms:
    coupon_id: uuid.UUID
    kind: CouponKind
    amount_off_minor: int = 0
    percent_off_bp: int = 0
    max_off_minor: int | None = None
    min_goods_minor: int = 0
    applies_to: CouponScope = CouponScope.all
    category_id: uuid.UUID | None = None
    sku_ids: frozenset = frozenset()

    def covers(self, item: Item) -> bool:
        if self.applies_to is CouponScope.category:
            return item.category_id is not None and item.category_id == self.category_id
        if self.applies_to is CouponScope.skus:
            return item.sku_id in self.sku_ids
        return True

    def off(self, base_minor: int) -> int:
        """What the coupon takes off `base_minor` (the covered lines after the level discount)."""
        if self.kind is not CouponKind.no_threshold and base_minor < self.min_goods_minor:
            raise CouponNotApplicable(f"This coupon needs {self.min_goods_minor} of covered goods;"
                                      f" the order has {base_minor}.")
        if self.kind is CouponKind.percent_off:
            off = base_minor * self.percent_off_bp // BP
            return min(off, self.max_off_minor) if self.max_off_minor is not None else off
        return min(self.amount_off_minor, base_minor)


@dataclass(frozen=True)
class PointsTerms:
    """Points the member offers, and the program's valuation (member-a's points functions)."""

    points: int
    max_share_bp: int
    value_minor: Callable[[int], int]  # points → money
    points_for: Callable[[int], int]  # money → the points worth it


@dataclass(frozen=True)
class MallTerms:
    item_id: uuid.UUID
    sku_id: uuid.UUID
    points_price: int  # per unit
    cash_minor: int  # per unit


@dataclass(frozen=True)
class Stacking:
    """The tenant's stacking matrix (program settings "stacking"); every pair combines by default.

    The level discount applies by itself, so when a pair with it is refused the member's explicit
    choice (coupon, points) wins and the level discount is skipped; coupon with points refused is
    an error the member sees in the quote.
    """

    level_with_coupon: bool = True
    level_with_points: bool = True
    coupon_with_points: bool = True

    @classmethod
    def from_settings(cls, settings: dict | None) -> "Stacking":
        matrix = (settings or {}).get("stacking", {}) or {}
        return cls(**{name: bool(matrix.get(name, True)) for name in
                      ("level_with_coupon", "level_with_points", "coupon_with_points")})


@dataclass(frozen=True)
class Step:
    step: AdjustmentStep
    amount_minor: int
    per_line: tuple[int, ...]
    points: int = 0
    points_per_line: tuple[int, ...] = ()
    coupon_id: uuid.UUID | None = None
    source: dict = field(default_factory=dict)


@dataclass(frozen=True)
class Breakdown:
    items: tuple[Item, ...]
    steps: tuple[Step, ...]
    shipping_fee_minor: int  # the fee before the free-shipping benefit
    shipping_minor: int  # what the order pays for shipping

    @property
    def line_discounts(self) -> list[int]:
        """Each line's discount: the sum of every goods step's share (shipping is not a line's)."""
        totals = [0] * len(self.items)
        for step in self.steps:
            if step.step is not AdjustmentStep.shipping:
                totals = [a + b for a, b in zip(totals, step.per_line, strict=True)]
        return totals

    @property
    def goods_minor(self) -> int:
        return sum(item.goods_minor for item in self.items)

    @property
    def discount_minor(self) -> int:
        return sum(self.line_discounts)

    @property
    def total_minor(self) -> int:
        return self.goods_minor - self.discount_minor + self.shipping_minor

    @property
    def points(self) -> int:
        return sum(step.points for step in self.steps)


def run(items: list[Item], *, level_code: str | None = None, level_discount_bp: int = 0,
        coupon: CouponTerms | None = None, points: PointsTerms | None = None,
        mall: MallTerms | None = None, shipping_fee_minor: int = 0,
        free_shipping_min_minor: int | None = None, stacking: Stacking = Stacking()) -> Breakdown:
    """Apply the waterfall to `items`; raises when an explicit choice cannot apply."""
    if coupon and points and points.points and not stacking.coupon_with_points:
        raise NotStackable("This brand does not combine a coupon with points on one order.")
    left = [item.goods_minor for item in items]
    steps: list[Step] = []

    def take(step: AdjustmentStep, amount: int, weights: list[int], **extra) -> Step:
        shares = allocate(amount, weights)
        for index, share in enumerate(shares):
            left[index] -= share
        made = Step(step, amount, tuple(shares), **extra)
        steps.append(made)
        return made

    if mall is not None:
        _mall_step(items, mall, take)
    else:
        if level_discount_bp and (coupon is None or stacking.level_with_coupon) and (
                points is None or not points.points or stacking.level_with_points):
            amount = sum(left) * level_discount_bp // BP
            if amount:
                take(AdjustmentStep.level, amount, list(left), source={"level": level_code,
                                                                       "discount_bp": level_discount_bp})
        if coupon is not None:
            covered = [value if coupon.covers(item) else 0 for item, value in zip(items, left, strict=True)]
            if not any(coupon.covers(item) for item in items):
                raise CouponNotApplicable("This coupon covers none of these goods.")
            take(AdjustmentStep.coupon, coupon.off(sum(covered)), covered, coupon_id=coupon.coupon_id,
                 source={"coupon_id": str(coupon.coupon_id), "kind": coupon.kind.value})
        if points is not None and points.points:
            _points_step(items, left, points, take)
    shipping = shipping_fee_minor
    if shipping and free_shipping_min_minor is not None and sum(left) >= free_shipping_min_minor:
        steps.append(Step(AdjustmentStep.shipping, shipping, (0,) * len(items),
                          source={"free_shipping_min_minor": free_shipping_min_minor}))
        shipping = 0
    return Breakdown(tuple(items), tuple(steps), shipping_fee_minor, shipping)


def _points_step(items, left, terms: PointsTerms, take) -> None:
    goods = sum(item.goods_minor for item in items)
    cap = min(goods * terms.max_share_bp // BP, sum(left))
    value = terms.value_minor(terms.points)
    if value > cap:
        raise PointsOverLimit(f"Points may pay {cap} of this order at most"
                              f" ({terms.points_for(cap)} points).")
    weights = list(left)
    money = allocate(value, weights)
    take(AdjustmentStep.points, value, weights, points=terms.points,
         points_per_line=tuple(allocate(terms.points, money if value else weights)))


def _mall_step(items, mall: MallTerms, take) -> None:
    if len(items) != 1 or items[0].sku_id != mall.sku_id:
        raise InvalidMallItem("A points-mall order holds exactly its item.")
    item = items[0]
    cash = min(mall.cash_minor, item.unit_price_minor) * item.qty
    amount = item.goods_minor - cash
    take(AdjustmentStep.points_mall, amount, [item.goods_minor], points=mall.points_price * item.qty,
         points_per_line=(mall.points_price * item.qty,),
         source={"mall_item_id": str(mall.item_id), "cash_minor": mall.cash_minor})


def give_back(line_share: int, line_qty: int, qty_before: int, qty: int) -> int:
    """A line's share of a step returned for `qty` units after `qty_before` were returned.

    Telescoping floors (as orders.rules.refundable_value): refunds of every unit, in any split
    and order, return exactly the share, and never more.
    """
    if qty < 0 or qty_before < 0 or qty_before + qty > line_qty:
        raise ValueError("cannot give back more units than the line has")
    return line_share * (qty_before + qty) // line_qty - line_share * qty_before // line_qty
