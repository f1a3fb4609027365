"""Settlement rules as plain values: the tenant's settings, period boundaries, fee rules."""

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from app.distribution.withholding import Deduction, bps_of

WEEKLY, MONTHLY = "weekly", "monthly"


@dataclass(frozen=True)
class SettlementSettings:
    """tenant.settings["distribution"]; every figure in minor units or basis points."""

    period: str = WEEKLY
    min_payout_minor: int = 1_000  # below it a statement is carried into the next one
    gateway_fee_bps: int = 60  # the store's share of the gateway fee on its retail takings
    withdrawal_fee_bps: int = 100
    withdrawal_fee_min_minor: int = 100
    withdrawal_min_minor: int = 1_000
    deduction: Deduction = field(default_factory=Deduction)

    @classmethod
    def from_tenant(cls, tenant_settings: dict | None) -> "SettlementSettings":
        raw = dict((tenant_settings or {}).get("distribution") or {})
        deduction = Deduction.from_settings(raw.pop("withholding_deduction", None))
        known = {name: int(value) if name != "period" else str(value)
                 for name, value in raw.items() if name in cls.__dataclass_fields__ and name != "deduction"}
        settings = cls(deduction=deduction, **known)
        if settings.period not in (WEEKLY, MONTHLY):
            raise ValueError(f"unknown settlement period {settings.period!r}")
        return settings


def period_containing(moment: datetime, period: str) -> tuple[datetime, datetime]:
    """[start, end) of the weekly (Monday 00:00 UTC) or monthly period that contains `moment`."""
    moment = moment.astimezone(UTC)
    if period == WEEKLY:
        start = datetime(moment.year, moment.month, moment.day, tzinfo=UTC) - timedelta(days=moment.weekday())
        return start, start + timedelta(days=7)
    start = datetime(moment.year, moment.month, 1, tzinfo=UTC)
    end = datetime(moment.year + (moment.month == 12), moment.month % 12 + 1, 1, tzinfo=UTC)
    return start, end


def last_closed_period(now: datetime, period: str) -> tuple[datetime, datetime]:
    """The latest period that has ended by `now` (the one a scheduled run settles)."""
    start, _ = period_containing(now, period)
    return period_containing(start - timedelta(microseconds=1), period)


def run_key(period: str, start: datetime) -> str:
    return f"{period}:{start.date().isoformat()}"


def withdrawal_fee(amount_minor: int, settings: SettlementSettings) -> int:
    """The fee for withdrawing `amount_minor` now: a rate with a floor, never more than the amount."""
    if amount_minor <= 0:
        return 0
    return min(max(bps_of(amount_minor, settings.withdrawal_fee_bps), settings.withdrawal_fee_min_minor),
               amount_minor)


def gateway_fee_share(paid_minor: int, settings: SettlementSettings) -> int:
    """The part of the gateway fee a store bears on a retail payment it took."""
    return bps_of(max(paid_minor, 0), settings.gateway_fee_bps)
