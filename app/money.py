"""Money in integer minor units (fen, cents) and largest-remainder allocation."""

from collections.abc import Sequence
from decimal import ROUND_HALF_UP, Decimal

from iso4217 import Currency


def minor_digits(currency: str) -> int:
    """Decimal places of the currency's minor unit, from ISO 4217 (CNY 2, JPY 0, KWD 3).

    Unknown codes and units without a minor unit (gold, SDR) are refused: a guess would
    silently scale an amount by 10 or 100.
    """
    try:
        exponent = Currency(currency.upper()).exponent
    except ValueError:
        raise ValueError(f"{currency!r} is not an ISO 4217 currency code") from None
    if exponent is None:
        raise ValueError(f"{currency.upper()} has no minor unit")
    return exponent


def to_minor(amount: str | Decimal, currency: str) -> int:
    """'12.34' CNY → 1234; rounds half up at the currency's precision (never through float)."""
    exponent = Decimal(1).scaleb(-minor_digits(currency))
    return int((Decimal(amount).quantize(exponent, rounding=ROUND_HALF_UP)) / exponent)


def format_minor(amount_minor: int, currency: str) -> str:
    """1234, 'CNY' → '12.34 CNY'."""
    digits = minor_digits(currency)
    value = Decimal(amount_minor).scaleb(-digits)
    return f"{value:.{digits}f} {currency.upper()}"


def allocate(total: int, weights: Sequence[int]) -> list[int]:
    """Split `total` into parts proportional to `weights` that sum exactly to `total`.

    Largest remainder: every part is the floor of its exact share, and the units still missing
    go to the largest remainders (ties to the earliest). All-zero weights split evenly.
    """
    if total < 0:
        raise ValueError("allocate() takes a non-negative total")
    if any(weight < 0 for weight in weights):
        raise ValueError("allocate() takes non-negative weights")
    if not weights:
        if total:
            raise ValueError("cannot allocate a non-zero total over no weights")
        return []
    if not any(weights):
        weights = [1] * len(weights)
    weight_sum = sum(weights)
    parts = [total * weight // weight_sum for weight in weights]
    remainders = [total * weight % weight_sum for weight in weights]
    missing = total - sum(parts)
    by_remainder = sorted(range(len(weights)), key=lambda i: (-remainders[i], i))
    for index in by_remainder[:missing]:
        parts[index] += 1
    return parts
