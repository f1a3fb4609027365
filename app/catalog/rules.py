"""Pure price rules: which price applies (most specific audience, then latest effective), bands."""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from app.tenancy.enums import OrgKind


@dataclass(frozen=True)
class Buyer:
    """What a price audience can name about the buyer org."""

    org_id: object
    depth: int
    kind: OrgKind


@dataclass(frozen=True)
class PriceCandidate:
    """A price row reduced to what selection needs; tier ranks the seller's own list highest."""

    amount_minor: int
    effective_from: datetime
    effective_to: datetime | None = None
    buyer_org_id: object | None = None
    buyer_depth: int | None = None
    buyer_kind: OrgKind | None = None
    tier: int = 0  # retail: a store's own price (1) beats the brand's list price (0)
    created_at: datetime | None = None


@dataclass(frozen=True)
class Band:
    floor_minor: int
    ceiling_minor: int | None
    effective_from: datetime
    effective_to: datetime | None = None

    def contains(self, amount_minor: int) -> bool:
        return amount_minor >= self.floor_minor and (
            self.ceiling_minor is None or amount_minor <= self.ceiling_minor)

    def describe(self) -> str:
        ceiling = "no ceiling" if self.ceiling_minor is None else str(self.ceiling_minor)
        return f"[{self.floor_minor}, {ceiling}]"


def in_force(effective_from: datetime, effective_to: datetime | None, at: datetime) -> bool:
    """Effective from `effective_from` (inclusive) until `effective_to` (exclusive)."""
    return effective_from <= at and (effective_to is None or at < effective_to)


def matches(candidate: PriceCandidate, buyer: Buyer | None) -> bool:
    """Whether the candidate's audience includes the buyer (retail candidates name nobody)."""
    if buyer is None:
        return (candidate.buyer_org_id, candidate.buyer_depth, candidate.buyer_kind) == (
            None, None, None)
    return ((candidate.buyer_org_id is None or candidate.buyer_org_id == buyer.org_id)
            and (candidate.buyer_depth is None or candidate.buyer_depth == buyer.depth)
            and (candidate.buyer_kind is None or candidate.buyer_kind == buyer.kind))


def specificity(candidate: PriceCandidate) -> tuple[int, bool, bool, bool]:
    """One org beats a distributor level, which beats a kind of buyer, which beats everyone."""
    return (candidate.tier, candidate.buyer_org_id is not None,
            candidate.buyer_depth is not None, candidate.buyer_kind is not None)


def band_in_force(bands: Iterable[Band], at: datetime) -> Band | None:
    """The band with the latest effective_from that is in force at `at`."""
    current = [band for band in bands if in_force(band.effective_from, band.effective_to, at)]
    return max(current, key=lambda band: band.effective_from, default=None)


def pick_price(candidates: Iterable[PriceCandidate], *, buyer: Buyer | None, at: datetime,
               band: Band | None = None, banded_tiers: frozenset[int] = frozenset({0, 1}),
               ) -> PriceCandidate | None:
    """The applicable price: most specific audience first, then the latest effective_from.

    A candidate in a banded tier that breaks the band in force is skipped (控价: a price the
    brand's band no longer allows never applies; the next candidate does).
    """
    usable = [
        c for c in candidates
        if in_force(c.effective_from, c.effective_to, at) and matches(c, buyer)
        and (band is None or c.tier not in banded_tiers or band.contains(c.amount_minor))
    ]
    if not usable:
        return None
    return max(usable, key=lambda c: (specificity(c), c.effective_from,
                                      c.created_at or c.effective_from))


def check_band(amount_minor: int, band: Band | None) -> str | None:
    """None when allowed, else a message naming the band."""
    if band is None or band.contains(amount_minor):
        return None
    return f"The price {amount_minor} is outside the brand's band {band.describe()}."


def is_brand_path(path: str | None) -> bool:
    """The brand root's path has exactly one segment: '/<id>/'."""
    return bool(path) and path.count("/") == 2
