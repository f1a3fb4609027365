"""Tier price lists (控价): set prices and bands, and quote what a buyer pays a seller.

Who reads what:
- Price rows use the "downward" RLS kind: an org sees rows owned in its subtree and by its
  ancestors. A per-buyer override is owned by the buyer's path, so siblings never see it.
- `quote` always reads under `system_scope(tenant_id)` (restoring the caller's scope after),
  but only the rows keyed by this seller, this buyer and these SKUs. So it works from any
  scope: a store replenishing from its distributor, a consumer at a store (a consumer scope has
  no org path and RLS would hide every price row), or a task. It returns only what this buyer
  pays, which the buyer is entitled to know.
"""

import functools
import uuid
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import BigInteger, Integer, bindparam, literal, null, or_, select, union_all
from sqlalchemy.orm import Session

from app.catalog import rules
from app.catalog.access import get_catalog_row, require_brand_staff
from app.catalog.errors import (
    InvalidBand,
    InvalidPriceAudience,
    InvalidPricePeriod,
    NoPrice,
    PriceOutOfBand,
    SkuUnavailable,
)
from app.catalog.models import (
    PriceBand,
    PriceChannel,
    PriceEntry,
    Product,
    ShelfStatus,
    Sku,
    StoreAssortment,
)
from app.db import utcnow
from app.paging import CursorKey, Page, paginate
from app.platform.audit import audit
from app.tenancy.elevation import Why, elevated
from app.tenancy.enums import OrgKind
from app.tenancy.filters import get_visible, scoped
from app.tenancy.models import Org
from app.tenancy.permissions import Action, require
from app.tenancy.scope import Scope, system_scope

RETAIL_SELLERS = {OrgKind.brand, OrgKind.store}
SUPPLY_SELLERS = {OrgKind.brand, OrgKind.distributor}


# --- quoting ------------------------------------------------------------------------------

def quote(session: Session, *, tenant_id: uuid.UUID, seller: Org, buyer_org: Org | None,
          sku_ids: list[uuid.UUID], at: datetime | None = None) -> dict[uuid.UUID, int]:
    """Unit price (minor units) per SKU for this seller → buyer at `at` (default now).

    buyer_org None: a retail consumer buying from `seller` (a store, or the brand).
    Raises SkuUnavailable (unknown, off shelf, or not in the store's assortment for retail)
    and NoPrice. One statement: what is on sale, the candidate prices and the bands.
    """
    at = at or utcnow()
    wanted = list(dict.fromkeys(sku_ids))
    with elevated(session, Why.quote_prices, scope=system_scope(tenant_id)):
        found = _price_rows(session, tenant_id, seller, buyer_org, wanted, at, check_sellable=True)
    missing = [sku_id for sku_id in wanted if sku_id not in found.sellable]
    if missing:
        raise SkuUnavailable(f"SKU {missing[0]} is not on sale here.")
    prices = _choose(found, buyer_org, wanted, at)
    for sku_id in wanted:
        if prices[sku_id] is None:
            raise NoPrice(f"No price for SKU {sku_id} from this seller.")
    return prices


def price_map(session: Session, *, tenant_id: uuid.UUID, seller: Org, buyer_org: Org | None,
              sku_ids: list[uuid.UUID], at: datetime) -> dict[uuid.UUID, int | None]:
    """The applicable price per SKU (None when there is none); reads in the caller's scope."""
    found = _price_rows(session, tenant_id, seller, buyer_org, sku_ids, at, check_sellable=False)
    return _choose(found, buyer_org, sku_ids, at)


def _choose(found: "_PriceRows", buyer_org: Org | None, sku_ids: list[uuid.UUID],
            at: datetime) -> dict[uuid.UUID, int | None]:
    buyer = (rules.Buyer(buyer_org.id, buyer_org.depth, buyer_org.kind)
             if buyer_org is not None else None)
    prices: dict[uuid.UUID, int | None] = {}
    for sku_id in sku_ids:
        band = rules.band_in_force(found.bands.get(sku_id, []), at)
        chosen = rules.pick_price(found.candidates.get(sku_id, []), buyer=buyer, at=at, band=band)
        prices[sku_id] = chosen.amount_minor if chosen is not None else None
    return prices


def brand_id_of(org: Org) -> uuid.UUID:
    """The brand root's id: the first segment of every path of its tree (no look-up needed)."""
    return uuid.UUID(org.path.split("/")[1])


@dataclass
class _PriceRows:
    sellable: set[uuid.UUID] = field(default_factory=set)
    candidates: dict[uuid.UUID, list[rules.PriceCandidate]] = field(default_factory=dict)
    bands: dict[uuid.UUID, list[rules.Band]] = field(default_factory=dict)


def _price_rows(session, tenant_id, seller: Org, buyer_org: Org | None, sku_ids, at, *,
                check_sellable: bool) -> _PriceRows:
    """The candidate prices, the bands and (when asked) which SKUs are on sale: one statement."""
    retail = buyer_org is None
    sellers = [seller.id]
    if retail and seller.kind is OrgKind.store:
        sellers.append(brand_id_of(seller))  # the brand's list price
    # 控价 binds what distributors and stores ask; the brand's own supply list is its call.
    banded = retail or seller.kind is not OrgKind.brand
    sellable = (None if not check_sellable
                else "assortment" if retail and seller.kind is OrgKind.store else "shelf")
    statement = _price_statement(for_buyer=not retail, banded=banded, sellable=sellable)
    params = {"tenant_id": tenant_id, "seller_ids": sellers, "sku_ids": sku_ids, "at": at,
              "channel": PriceChannel.retail if retail else PriceChannel.supply,
              "buyer_org_id": None if retail else buyer_org.id, "store_id": seller.id}
    found = _PriceRows()
    for row in session.execute(statement, params):
        if row.row_kind == "sellable":
            found.sellable.add(row.sku_id)
        elif row.row_kind == "band":
            found.bands.setdefault(row.sku_id, []).append(
                rules.Band(row.floor_minor, row.ceiling_minor, row.effective_from, row.effective_to))
        else:
            found.candidates.setdefault(row.sku_id, []).append(rules.PriceCandidate(
                amount_minor=row.amount_minor, effective_from=row.effective_from,
                effective_to=row.effective_to, buyer_org_id=row.buyer_org_id,
                buyer_depth=row.buyer_depth, buyer_kind=_kind(row.buyer_kind),
                tier=1 if row.seller_org_id == seller.id else 0, created_at=row.created_at))
    return found


@functools.cache
def _price_statement(*, for_buyer: bool, banded: bool, sellable: str | None):
    """The UNION ALL of prices, bands and on-sale SKUs, built once per shape (checkout runs it on
    every order: building and compiling it per call cost more CPU than PostgreSQL spends on it).

    sellable: None (no check), "shelf" (SKU and product on shelf) or "assortment" (and in the
    store's assortment, for a store's retail)."""
    tenant, skus, at = bindparam("tenant_id"), bindparam("sku_ids", expanding=True), bindparam("at")
    channel = bindparam("channel", type_=PriceEntry.channel.type)
    no_int, no_time = null().cast(BigInteger), null().cast(PriceEntry.created_at.type)
    # buyer org, depth, kind and seller: price rows only
    no_audience = (null().cast(PriceEntry.buyer_org_id.type), null().cast(Integer),
                   null().cast(PriceEntry.buyer_kind.type), null().cast(PriceEntry.seller_org_id.type))
    entries = select(
        literal("price").label("row_kind"), PriceEntry.sku_id, PriceEntry.amount_minor,
        no_int.label("floor_minor"), no_int.label("ceiling_minor"),
        PriceEntry.effective_from, PriceEntry.effective_to, PriceEntry.buyer_org_id,
        PriceEntry.buyer_depth, PriceEntry.buyer_kind, PriceEntry.seller_org_id, PriceEntry.created_at,
    ).where(PriceEntry.tenant_id == tenant,
            PriceEntry.seller_org_id.in_(bindparam("seller_ids", expanding=True)),
            PriceEntry.channel == channel, PriceEntry.sku_id.in_(skus), PriceEntry.effective_from <= at)
    if for_buyer:
        entries = entries.where(or_(PriceEntry.buyer_org_id.is_(None),
                                    PriceEntry.buyer_org_id == bindparam("buyer_org_id")))
    parts = [entries]
    if banded:
        parts.append(select(
            literal("band"), PriceBand.sku_id, no_int, PriceBand.floor_minor,
            PriceBand.ceiling_minor, PriceBand.effective_from, PriceBand.effective_to, *no_audience, no_time,
        ).where(PriceBand.tenant_id == tenant, PriceBand.channel == channel,
                PriceBand.sku_id.in_(skus), PriceBand.effective_from <= at))
    if sellable:
        on_sale = select(
            literal("sellable"), Sku.id, no_int, no_int, no_int, no_time, no_time, *no_audience, no_time,
        ).join(Product, (Product.tenant_id == Sku.tenant_id) & (Product.id == Sku.product_id)).where(
            Sku.tenant_id == tenant, Sku.id.in_(skus),
            Sku.status == ShelfStatus.on_shelf, Product.status == ShelfStatus.on_shelf)
        if sellable == "assortment":
            on_sale = on_sale.join(StoreAssortment, (StoreAssortment.tenant_id == Sku.tenant_id)
                                   & (StoreAssortment.sku_id == Sku.id)
                                   & (StoreAssortment.store_id == bindparam("store_id")))
        parts.append(on_sale)
    return union_all(*parts) if len(parts) > 1 else entries


def _bands(session, tenant_id, channel, sku_ids, at) -> dict[uuid.UUID, list[rules.Band]]:
    result: dict[uuid.UUID, list[rules.Band]] = {}
    for row in session.scalars(select(PriceBand).where(
            PriceBand.tenant_id == tenant_id, PriceBand.channel == channel,
            PriceBand.sku_id.in_(sku_ids), PriceBand.effective_from <= at)):
        result.setdefault(row.sku_id, []).append(
            rules.Band(row.floor_minor, row.ceiling_minor, row.effective_from, row.effective_to))
    return result


def _kind(value) -> OrgKind | None:
    return OrgKind(value) if value is not None and not isinstance(value, OrgKind) else value


# --- writing price lists --------------------------------------------------------------------

def set_band(session: Session, scope: Scope, *, sku_id: uuid.UUID, channel: PriceChannel,
             floor_minor: int, ceiling_minor: int | None = None,
             effective_from: datetime | None = None,
             effective_to: datetime | None = None) -> PriceBand:
    """The brand's floor and ceiling for a SKU's supply (between orgs) or retail prices."""
    require_brand_staff(scope, Action.edit_price_bands)
    get_catalog_row(session, Sku, scope, sku_id)
    if ceiling_minor is not None and ceiling_minor < floor_minor:
        raise InvalidBand("The ceiling is below the floor.")
    effective_from, effective_to = _period(effective_from, effective_to)
    band = PriceBand(tenant_id=scope.tenant_id, owner_path=scope.org_path, sku_id=sku_id,
                     channel=channel, floor_minor=floor_minor, ceiling_minor=ceiling_minor,
                     effective_from=effective_from, effective_to=effective_to)
    session.add(band)
    session.flush()
    audit(session, scope, "price_bands.edit", owner_path=band.owner_path, subject_id=band.id,
          subject_type="price_band", sku_id=sku_id, floor_minor=floor_minor, ceiling_minor=ceiling_minor)
    return band


def set_price(session: Session, scope: Scope, *, seller_org_id: uuid.UUID, sku_id: uuid.UUID,
              channel: PriceChannel, amount_minor: int, buyer_org_id: uuid.UUID | None = None,
              buyer_depth: int | None = None, buyer_kind: OrgKind | None = None,
              effective_from: datetime | None = None,
              effective_to: datetime | None = None) -> PriceEntry:
    """A price the seller asks, effective-dated; managers of the seller (or above) set it."""
    require(scope, Action.edit_price_lists)
    seller = get_visible(session, Org, scope, seller_org_id)
    require(scope, Action.edit_price_lists, on=seller.path)
    get_catalog_row(session, Sku, scope, sku_id)
    buyer = _check_audience(session, scope, seller, channel, buyer_org_id, buyer_depth,
                            buyer_kind)
    effective_from, effective_to = _period(effective_from, effective_to)
    if channel is PriceChannel.retail or seller.kind is not OrgKind.brand:
        _check_band(session, scope.tenant_id, sku_id, channel, amount_minor, effective_from)
    entry = PriceEntry(
        tenant_id=scope.tenant_id, owner_path=buyer.path if buyer else seller.path,
        seller_org_id=seller.id, sku_id=sku_id, channel=channel, buyer_org_id=buyer_org_id,
        buyer_depth=buyer_depth, buyer_kind=buyer_kind, amount_minor=amount_minor,
        effective_from=effective_from, effective_to=effective_to, created_by=scope.actor_id)
    session.add(entry)
    session.flush()
    audit(session, scope, "price_lists.edit", owner_path=entry.owner_path, subject_id=entry.id,
          subject_type="price", sku_id=sku_id, seller_org_id=seller.id, amount_minor=amount_minor)
    return entry


def _period(effective_from, effective_to) -> tuple[datetime, datetime | None]:
    """Default the start to now; an end must come after the start."""
    effective_from = effective_from or utcnow()
    if effective_to is not None and effective_to <= effective_from:
        raise InvalidPricePeriod("effective_to must be after effective_from.")
    return effective_from, effective_to


def _check_audience(session, scope, seller: Org, channel, buyer_org_id, buyer_depth,
                    buyer_kind) -> Org | None:
    if channel is PriceChannel.retail:
        if seller.kind not in RETAIL_SELLERS:
            raise InvalidPriceAudience("Retail prices are set by the brand or by a store.")
        if (buyer_org_id, buyer_depth, buyer_kind) != (None, None, None):
            raise InvalidPriceAudience("A retail price names no buyer org, level or kind.")
        return None
    if seller.kind not in SUPPLY_SELLERS:
        raise InvalidPriceAudience("Supply prices are set by the brand or by a distributor.")
    if buyer_depth is not None and buyer_depth <= seller.depth:
        raise InvalidPriceAudience("The buyer level must be below the seller.")
    if buyer_kind is OrgKind.brand:
        raise InvalidPriceAudience("The brand buys from nobody.")
    if buyer_org_id is None:
        return None
    buyer = get_visible(session, Org, scope, buyer_org_id)
    if buyer.id == seller.id or not buyer.path.startswith(seller.path):
        raise InvalidPriceAudience("The buyer must be an org below the seller.")
    return buyer


def _check_band(session, tenant_id, sku_id, channel, amount_minor, at) -> None:
    with elevated(session, Why.quote_prices, scope=system_scope(tenant_id)):  # bands: brand's
        bands = _bands(session, tenant_id, channel, [sku_id], at).get(sku_id, [])
    message = rules.check_band(amount_minor, rules.band_in_force(bands, at))
    if message:
        raise PriceOutOfBand(message)


# --- reading price lists --------------------------------------------------------------------

def list_prices(session: Session, scope: Scope, *, seller_org_id: uuid.UUID | None = None,
                sku_id: uuid.UUID | None = None, channel: PriceChannel | None = None,
                limit: int = 50, cursor: CursorKey | None = None) -> Page[PriceEntry]:
    """Price rows the scope sees: its subtree's and its ancestors' (newest first)."""
    statement = scoped(PriceEntry, scope)
    if seller_org_id is not None:
        statement = statement.where(PriceEntry.seller_org_id == seller_org_id)
    if sku_id is not None:
        statement = statement.where(PriceEntry.sku_id == sku_id)
    if channel is not None:
        statement = statement.where(PriceEntry.channel == channel)
    return paginate(session, statement, PriceEntry, limit=limit, cursor=cursor)


def list_bands(session: Session, scope: Scope, *, sku_id: uuid.UUID | None = None,
               limit: int = 50, cursor: CursorKey | None = None) -> Page[PriceBand]:
    """The brand's bands, newest first (every org sees its ancestors' rows)."""
    statement = scoped(PriceBand, scope)
    if sku_id is not None:
        statement = statement.where(PriceBand.sku_id == sku_id)
    return paginate(session, statement, PriceBand, limit=limit, cursor=cursor)
