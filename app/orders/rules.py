"""Pure order arithmetic: line totals, discount spread, shipping fee, refundable values."""

from dataclasses import dataclass

from app.money import allocate


@dataclass(frozen=True)
class PricedLine:
    unit_price_minor: int
    qty: int
    discount_minor: int = 0

    @property
    def goods_minor(self) -> int:
        return self.unit_price_minor * self.qty

    @property
    def total_minor(self) -> int:
        return self.goods_minor - self.discount_minor


@dataclass(frozen=True)
class Totals:
    goods_minor: int
    discount_minor: int
    shipping_minor: int

    @property
    def total_minor(self) -> int:
        return self.goods_minor - self.discount_minor + self.shipping_minor


def price_lines(prices: list[tuple[int, int]], discount_minor: int = 0) -> list[PricedLine]:
    """(unit price, qty) pairs → lines, an order discount spread over them by goods value."""
    if any(qty <= 0 for _, qty in prices) or any(price < 0 for price, _ in prices):
        raise ValueError("quantities must be positive and prices non-negative")
    goods = [price * qty for price, qty in prices]
    discount_minor = min(discount_minor, sum(goods))
    shares = allocate(discount_minor, goods)
    return [PricedLine(price, qty, share) for (price, qty), share in zip(prices, shares, strict=True)]


def shipping_fee(goods_minor: int, *, delivery: str, settings: dict) -> int:
    """Retail shipping: a flat fee (tenant settings), free from a threshold, none for pick-up."""
    if delivery == "pickup":
        return 0
    flat = int(settings.get("shipping_flat_minor", 0))
    free_from = settings.get("free_shipping_from_minor")
    if free_from is not None and goods_minor >= int(free_from):
        return 0
    return flat


def totals(lines: list[PricedLine], shipping_minor: int) -> Totals:
    return Totals(goods_minor=sum(line.goods_minor for line in lines),
                  discount_minor=sum(line.discount_minor for line in lines),
                  shipping_minor=shipping_minor)


def refundable_value(line_total_minor: int, line_qty: int, claimed_qty: int, qty: int) -> int:
    """What `qty` more units of a line are worth after `claimed_qty` were already claimed.

    Telescoping floors: claiming every unit, in any number of steps, sums exactly to the line
    total, so per-unit rounding never leaks a cent.
    """
    if qty < 0 or claimed_qty < 0 or claimed_qty + qty > line_qty:
        raise ValueError("cannot claim more units than the line has")
    before = line_total_minor * claimed_qty // line_qty
    after = line_total_minor * (claimed_qty + qty) // line_qty
    return after - before


def split_refund(amount_minor: int, values: list[int]) -> list[int]:
    """A refund amount over lines in proportion to the value of what each line gives back."""
    if amount_minor > sum(values):
        raise ValueError("the refund exceeds the value of the lines")
    return allocate(amount_minor, values)
