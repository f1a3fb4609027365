"""Pure price rules: the most specific, latest effective price wins; bands bind."""

import uuid
from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from app.catalog.rules import (
    Band,
    Buyer,
    PriceCandidate,
    band_in_force,
    check_band,
    in_force,
    is_brand_path,
    pick_price,
    specificity,
)
from app.tenancy.enums import OrgKind

T0 = datetime(2026, 1, 5, tzinfo=UTC)
EAST = uuid.UUID(int=1)
WEST = uuid.UUID(int=2)
EAST_BUYER = Buyer(EAST, 1, OrgKind.distributor)


def day(n: int) -> datetime:
    return T0 + timedelta(days=n)


def price(amount, start=0, end=None, **audience) -> PriceCandidate:
    return PriceCandidate(amount_minor=amount, effective_from=day(start),
                          effective_to=day(end) if end is not None else None, **audience)


def test_a_price_for_one_org_beats_a_price_for_its_level_which_beats_the_default():
    candidates = [price(100), price(90, buyer_depth=1), price(80, buyer_org_id=EAST)]
    assert pick_price(candidates, buyer=EAST_BUYER, at=day(1)).amount_minor == 80
    assert pick_price(candidates[:2], buyer=EAST_BUYER, at=day(1)).amount_minor == 90


def test_a_price_for_another_org_or_level_never_applies():
    candidates = [price(80, buyer_org_id=WEST), price(70, buyer_depth=2), price(100)]
    assert pick_price(candidates, buyer=EAST_BUYER, at=day(1)).amount_minor == 100


def test_a_price_for_a_kind_of_buyer_applies_only_to_that_kind():
    candidates = [price(100), price(95, buyer_kind=OrgKind.store)]
    store = Buyer(uuid.UUID(int=3), 2, OrgKind.store)
    assert pick_price(candidates, buyer=store, at=day(1)).amount_minor == 95
    assert pick_price(candidates, buyer=EAST_BUYER, at=day(1)).amount_minor == 100


def test_a_price_scheduled_for_next_monday_applies_from_then_on():
    candidates = [price(100, start=0), price(120, start=7)]
    assert pick_price(candidates, buyer=None, at=day(6)).amount_minor == 100
    assert pick_price(candidates, buyer=None, at=day(7)).amount_minor == 120


def test_an_expired_price_no_longer_applies():
    candidates = [price(100, start=0), price(80, start=2, end=4)]
    assert pick_price(candidates, buyer=None, at=day(3)).amount_minor == 80
    assert pick_price(candidates, buyer=None, at=day(4)).amount_minor == 100


def test_no_candidate_means_no_price():
    assert pick_price([price(100, start=3)], buyer=None, at=day(1)) is None


def test_a_stores_own_retail_price_beats_the_brand_list_price():
    candidates = [price(100, tier=0), price(110, tier=1, start=-5)]
    assert pick_price(candidates, buyer=None, at=day(1)).amount_minor == 110


def test_retail_candidates_naming_a_buyer_do_not_apply_to_consumers():
    assert pick_price([price(100, buyer_depth=1)], buyer=None, at=day(1)) is None


def test_a_price_outside_the_band_in_force_is_skipped_for_the_next_one():
    band = Band(100, 150, day(0))
    candidates = [price(100, tier=0), price(90, tier=1)]
    assert pick_price(candidates, buyer=None, at=day(1), band=band).amount_minor == 100


def test_the_band_check_names_the_band():
    band = Band(100, 150, day(0))
    assert check_band(120, band) is None
    assert check_band(99, band) == "The price 99 is outside the brand's band [100, 150]."
    assert "no ceiling" in check_band(5, Band(10, None, day(0)))
    assert check_band(5, None) is None


def test_the_latest_band_in_force_wins():
    bands = [Band(100, 150, day(0)), Band(110, 160, day(3)), Band(200, None, day(9))]
    assert band_in_force(bands, day(4)).floor_minor == 110
    assert band_in_force(bands, day(-1)) is None


def test_only_the_root_path_is_the_brand():
    assert is_brand_path("/a/")
    assert not is_brand_path("/a/b/")
    assert not is_brand_path(None)


# --- properties ------------------------------------------------------------------------------

audiences = st.fixed_dictionaries({}, optional={
    "buyer_org_id": st.sampled_from([EAST, WEST]),
    "buyer_depth": st.integers(1, 2),
    "buyer_kind": st.sampled_from([OrgKind.distributor, OrgKind.store]),
})
candidates_strategy = st.lists(
    st.builds(lambda amount, start, length, audience: price(
        amount, start, start + length if length else None, **audience),
        st.integers(0, 10_000), st.integers(-10, 10), st.integers(0, 5), audiences),
    max_size=12)


@given(candidates_strategy, st.integers(-12, 16))
def test_the_chosen_price_is_in_force_and_nothing_applicable_is_more_specific_or_later(
        candidates, at_day):
    at = day(at_day)
    chosen = pick_price(candidates, buyer=EAST_BUYER, at=at)
    applicable = [c for c in candidates if in_force(c.effective_from, c.effective_to, at)
                  and c.buyer_org_id in (None, EAST) and c.buyer_depth in (None, 1)
                  and c.buyer_kind in (None, OrgKind.distributor)]
    if not applicable:
        assert chosen is None
        return
    assert chosen in applicable
    best = max((specificity(c), c.effective_from) for c in applicable)
    assert (specificity(chosen), chosen.effective_from) == best


@given(st.integers(0, 1000), st.one_of(st.none(), st.integers(0, 1000)), st.integers(0, 2000))
def test_the_band_check_accepts_exactly_the_prices_between_floor_and_ceiling(
        floor, ceiling, amount):
    if ceiling is not None and ceiling < floor:
        floor, ceiling = ceiling, floor
    band = Band(floor, ceiling, T0)
    inside = floor <= amount and (ceiling is None or amount <= ceiling)
    assert (check_band(amount, band) is None) == inside


@given(candidates_strategy, st.integers(0, 500), st.integers(0, 500), st.integers(-12, 16))
def test_a_banded_choice_always_lies_inside_the_band(candidates, low, high, at_day):
    band = Band(min(low, high), max(low, high), day(-20))
    chosen = pick_price(candidates, buyer=EAST_BUYER, at=day(at_day), band=band)
    assert chosen is None or band.contains(chosen.amount_minor)
