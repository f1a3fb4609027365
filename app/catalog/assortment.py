"""Store assortments (which SKUs a store sells) and the consumer storefront that lists them.

The storefront decision: a consumer scope has no org path, so RLS would hide the store's
assortment and price rows from it. `storefront_catalog` therefore reads under
`system_scope(tenant_id)` but only the rows of the one store asked for (its assortment, the
brand's on-shelf SKUs, and retail prices via `pricing.quote`) and returns nothing else. A
store's shelf and its retail prices are public to every consumer of the tenant.
"""

import uuid
from dataclasses import dataclass

from sqlalchemy import exists, select
from sqlalchemy.orm import Session

from app.catalog import pricing
from app.catalog.access import get_catalog_row
from app.catalog.errors import NotAStore
from app.catalog.models import PriceChannel, PriceEntry, Product, ShelfStatus, Sku, StoreAssortment
from app.db import utcnow
from app.errors import NotFound
from app.paging import CursorKey, Page, paginate
from app.tenancy.elevation import Why, elevated
from app.tenancy.enums import OrgKind
from app.tenancy.filters import get_visible, scoped
from app.tenancy.models import Org
from app.tenancy.permissions import Action, require
from app.tenancy.scope import Scope, system_scope


def add_sku(session: Session, scope: Scope, *, store_id: uuid.UUID,
            sku_id: uuid.UUID) -> StoreAssortment:
    """Put a SKU on the store's shelf (idempotent); managers of the store or above."""
    require(scope, Action.edit_assortment)
    store = _managed_store(session, scope, store_id)
    get_catalog_row(session, Sku, scope, sku_id)
    existing = _row(session, scope.tenant_id, store.id, sku_id)
    if existing is not None:
        return existing
    row = StoreAssortment(tenant_id=scope.tenant_id, owner_path=store.path, store_id=store.id,
                          sku_id=sku_id)
    session.add(row)
    session.flush()
    return row


def remove_sku(session: Session, scope: Scope, *, store_id: uuid.UUID, sku_id: uuid.UUID) -> None:
    """Take a SKU off the store's shelf; 404 when it was not there."""
    require(scope, Action.edit_assortment)
    store = _managed_store(session, scope, store_id)
    row = _row(session, scope.tenant_id, store.id, sku_id)
    if row is None:
        raise NotFound("That SKU is not in the store's assortment.")
    session.delete(row)
    session.flush()


def list_assortment(session: Session, scope: Scope, *, store_id: uuid.UUID,
                    limit: int = 50, cursor: CursorKey | None = None) -> Page[StoreAssortment]:
    """A store's assortment as its staff (or the orgs above it) see it, in the order it was added."""
    store = get_visible(session, Org, scope, store_id)
    statement = scoped(StoreAssortment, scope).where(StoreAssortment.store_id == store.id)
    return paginate(session, statement, StoreAssortment, limit=limit, cursor=cursor, newest_first=False)


def _managed_store(session: Session, scope: Scope, store_id: uuid.UUID) -> Org:
    store = get_visible(session, Org, scope, store_id)
    require(scope, Action.edit_assortment, on=store.path)
    if store.kind is not OrgKind.store:
        raise NotAStore("Only stores have an assortment.")
    return store


def _row(session: Session, tenant_id, store_id, sku_id) -> StoreAssortment | None:
    return session.scalars(select(StoreAssortment).where(
        StoreAssortment.tenant_id == tenant_id, StoreAssortment.store_id == store_id,
        StoreAssortment.sku_id == sku_id)).one_or_none()


# --- storefront -----------------------------------------------------------------------------

@dataclass(frozen=True)
class ShelfItem:
    sku: Sku
    product: Product
    price_minor: int


def storefront_catalog(session: Session, scope: Scope, *, store_id: uuid.UUID,
                       limit: int = 50, cursor: CursorKey | None = None) -> Page[ShelfItem]:
    """The store's on-shelf assortment with the retail price a consumer pays there now, in the
    order the store added it (paged by the assortment row)."""
    tenant_id, now = scope.tenant_id, utcnow()
    with elevated(session, Why.read_store_shelf, scope=system_scope(tenant_id)):
        store = session.get(Org, (tenant_id, store_id))
        if store is None or store.kind is not OrgKind.store or not store.active:
            raise NotFound("No store with that id.")
        statement = (
            select(Sku, Product, StoreAssortment)
            .join(StoreAssortment, (StoreAssortment.tenant_id == Sku.tenant_id)
                  & (StoreAssortment.sku_id == Sku.id))
            .join(Product, (Product.tenant_id == Sku.tenant_id) & (Product.id == Sku.product_id))
            .where(StoreAssortment.tenant_id == tenant_id, StoreAssortment.store_id == store.id,
                   Sku.status == ShelfStatus.on_shelf, Product.status == ShelfStatus.on_shelf,
                   _priced_for_retail(tenant_id, store, now)))
        page = paginate(session, statement, StoreAssortment, limit=limit, cursor=cursor,
                        newest_first=False, key=lambda row: row[2])
        prices = pricing.price_map(session, tenant_id=tenant_id, seller=store, buyer_org=None,
                                   sku_ids=[sku.id for sku, _, _ in page.items], at=now)
    # A SKU nobody priced yet is not sellable: the query leaves it out. A price the brand's band
    # rules out is only known to pricing; such a SKU is dropped here (the page comes out short).
    return (page.where(lambda row: prices.get(row[0].id) is not None)
            .map(lambda row: ShelfItem(sku=row[0], product=row[1], price_minor=prices[row[0].id])))


def _priced_for_retail(tenant_id: uuid.UUID, store: Org, at):
    """EXISTS a retail price in force for the SKU from the store or its brand (any consumer)."""
    return exists().where(
        PriceEntry.tenant_id == tenant_id, PriceEntry.sku_id == Sku.id,
        PriceEntry.seller_org_id.in_([store.id, pricing.brand_id_of(store)]),
        PriceEntry.channel == PriceChannel.retail, PriceEntry.buyer_org_id.is_(None),
        PriceEntry.effective_from <= at,
        (PriceEntry.effective_to.is_(None)) | (PriceEntry.effective_to > at))
