"""Tax withheld from an individual's payout (劳务报酬): a configurable deduction and rate table.

Pure rules, no session. The settlement run computes the same figure in SQL over the tenant's
`withholding_brackets` rows (app/distribution/statements.py); tests hold both to each other.

China's schedule for remuneration for personal services is the default: income up to 4,000
yuan less 800, above that less 20%; the taxable part at 20%, 30% above 20,000 (quick deduction
2,000), 40% above 50,000 (quick deduction 7,000). With quick deductions a progressive schedule's
tax is the largest of `taxable × rate − quick` over its brackets, which is what the SQL takes.
Organisations (stores, distributors) withhold nothing: they invoice and pay their own taxes.
"""

from dataclasses import dataclass


@dataclass(frozen=True)
class Bracket:
    above_minor: int  # the bracket applies to taxable income above this
    rate_bps: int
    quick_deduction_minor: int


@dataclass(frozen=True)
class Deduction:
    """Income up to threshold: minus fixed; above it: minus rate_bps of the income."""

    threshold_minor: int = 400_000
    fixed_minor: int = 80_000
    rate_bps: int = 2_000

    @classmethod
    def from_settings(cls, settings: dict | None) -> "Deduction":
        settings = settings or {}
        return cls(**{name: int(settings[name]) for name in ("threshold_minor", "fixed_minor", "rate_bps")
                      if name in settings})


DEFAULT_BRACKETS = (
    Bracket(0, 2_000, 0),
    Bracket(2_000_000, 3_000, 200_000),
    Bracket(5_000_000, 4_000, 700_000),
)


def bps_of(amount_minor: int, rate_bps: int) -> int:
    """amount × rate / 10,000 rounded half up, in integers (amount ≥ 0)."""
    return (amount_minor * rate_bps + 5_000) // 10_000


def taxable(gross_minor: int, deduction: Deduction) -> int:
    if gross_minor <= 0:
        return 0
    if gross_minor <= deduction.threshold_minor:
        return max(gross_minor - deduction.fixed_minor, 0)
    return gross_minor - bps_of(gross_minor, deduction.rate_bps)


def withholding(gross_minor: int, brackets: tuple[Bracket, ...] | list[Bracket],
                deduction: Deduction = Deduction()) -> int:
    """Tax to withhold from a payout of `gross_minor` to an individual; never negative, never above it."""
    income = taxable(gross_minor, deduction)
    applicable = [b for b in brackets if income > b.above_minor]
    if income <= 0 or not applicable:
        return 0
    tax = max(bps_of(income, b.rate_bps) - b.quick_deduction_minor
              for b in applicable)
    return min(max(tax, 0), gross_minor)
