"""Pure membership rules: expiry dates, points as money, earning, cumulative reversal. No session."""

import re
from datetime import UTC, datetime, timedelta

from app.money import minor_digits

EXPIRY_RULE = re.compile(r"^(never|end_of_month|end_of_year|days:[1-9][0-9]{0,4})$")


def valid_expiry_rule(rule: str) -> bool:
    return bool(EXPIRY_RULE.match(rule or ""))


def expires_at(rule: str, start: datetime) -> datetime | None:
    """When points that become available at `start` expire (None: never).

    end_of_month / end_of_year: the first instant of the next month / year, in UTC (the moment
    they stop counting); days:N: N days after `start`.
    """
    if rule == "never":
        return None
    if rule.startswith("days:"):
        return start + timedelta(days=int(rule.split(":", 1)[1]))
    start = start.astimezone(UTC)
    if rule == "end_of_month":
        year, month = (start.year + 1, 1) if start.month == 12 else (start.year, start.month + 1)
        return datetime(year, month, 1, tzinfo=UTC)
    if rule == "end_of_year":
        return datetime(start.year + 1, 1, 1, tzinfo=UTC)
    raise ValueError(f"unknown points expiry rule {rule!r}")


def minor_per_unit(currency: str) -> int:
    return 10 ** minor_digits(currency)


def value_minor(points: int, *, points_per_unit: int, currency: str) -> int:
    """What `points` are worth in minor units (floor: a fraction of a fen is never paid)."""
    return points * minor_per_unit(currency) // points_per_unit


def points_worth(minor: int, *, points_per_unit: int, currency: str) -> int:
    """The most points whose value is at most `minor` (floor)."""
    return minor * points_per_unit // minor_per_unit(currency)


def earned_points(paid_goods_minor: int, *, earn_points_per_unit: int, multiplier_pct: int,
                  currency: str) -> int:
    """Points earned on goods paid: per major unit × the level's multiplier, floored once."""
    return paid_goods_minor * earn_points_per_unit * multiplier_pct // (minor_per_unit(currency) * 100)


def growth_for(spend_minor: int, *, growth_per_unit: int, currency: str) -> int:
    return spend_minor * growth_per_unit // minor_per_unit(currency)


def cumulative_share(total: int, part: int, whole: int) -> int:
    """floor(total × part / whole), with part capped at whole: refunds in any order and split
    reverse `target(after) - target(before)` each, which sums to exactly `total` at a full refund."""
    if whole <= 0:
        return 0
    return total * min(max(part, 0), whole) // whole
