"""A consumer's cart per store, and checkout of the whole cart into one retail order."""

import uuid

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from app.db import uuid7
from app.errors import DomainError
from app.orders.errors import CartEmpty, CartFull, InvalidSeller
from app.orders.models import CartItem
from app.orders.placement import OrderRequest, Placed, has_key, place_retail
from app.tenancy.elevation import Why, elevated
from app.tenancy.enums import OrgKind
from app.tenancy.filters import get_visible, scoped
from app.tenancy.models import Consumer, Org
from app.tenancy.scope import Scope, system_scope

MAX_ITEMS = 100


def _store(session: Session, scope: Scope, store_id: uuid.UUID | None) -> Org:
    consumer = get_visible(session, Consumer, scope, scope.consumer_id)
    with elevated(session, Why.read_store_shelf, scope=system_scope(scope.tenant_id)):
        store = session.get(Org, (scope.tenant_id, store_id or consumer.home_store_id))
    if store is None or store.kind is not OrgKind.store or not store.active:
        raise InvalidSeller("A cart belongs to an active store.")
    return store


def items(session: Session, scope: Scope, *, store_id: uuid.UUID | None = None) -> dict:
    """The cart at one store (the home store by default) with today's prices where known."""
    store = _store(session, scope, store_id)
    rows = list(session.scalars(scoped(CartItem, scope).where(
        CartItem.consumer_id == scope.consumer_id, CartItem.store_id == store.id)
        .order_by(CartItem.created_at)))
    prices = _prices(session, store, [row.sku_id for row in rows])
    lines = [{"sku_id": row.sku_id, "qty": row.qty, "unit_price_minor": prices.get(row.sku_id),
              "total_minor": prices[row.sku_id] * row.qty if row.sku_id in prices else None}
             for row in rows]
    known = [line["total_minor"] for line in lines if line["total_minor"] is not None]
    return {"store_id": store.id, "lines": lines, "goods_minor": sum(known)}


def _prices(session: Session, store: Org, sku_ids: list[uuid.UUID]) -> dict[uuid.UUID, int]:
    from app.catalog.pricing import quote  # noqa: PLC0415

    if not sku_ids:
        return {}
    with elevated(session, Why.read_store_shelf, scope=system_scope(store.tenant_id)):
        try:  # one quote for the whole cart; SKU by SKU only when one of them is off sale
            return quote(session, tenant_id=store.tenant_id, seller=store, buyer_org=None, sku_ids=sku_ids)
        except DomainError:
            pass
        prices = {}
        for sku_id in sku_ids:
            try:
                prices.update(quote(session, tenant_id=store.tenant_id, seller=store, buyer_org=None,
                                    sku_ids=[sku_id]))
            except DomainError:
                continue
    return prices


def set_item(session: Session, scope: Scope, *, sku_id: uuid.UUID, qty: int,
             store_id: uuid.UUID | None = None) -> dict:
    """Put `qty` of a SKU in the cart (0 removes it)."""
    store = _store(session, scope, store_id)
    row = session.scalar(scoped(CartItem, scope).where(
        CartItem.consumer_id == scope.consumer_id, CartItem.store_id == store.id,
        CartItem.sku_id == sku_id))
    if qty == 0:
        if row is not None:
            session.delete(row)
    elif row is not None:
        row.qty = qty
    else:
        count = len(session.scalars(select(CartItem.id).where(
            CartItem.tenant_id == scope.tenant_id, CartItem.consumer_id == scope.consumer_id,
            CartItem.store_id == store.id)).all())
        if count >= MAX_ITEMS:
            raise CartFull(f"A cart holds at most {MAX_ITEMS} SKUs.")
        session.add(CartItem(tenant_id=scope.tenant_id, id=uuid7(), consumer_id=scope.consumer_id,
                             store_id=store.id, sku_id=sku_id, qty=qty, owner_path=store.path))
    session.flush()
    return items(session, scope, store_id=store.id)


def checkout(session: Session, scope: Scope, *, request: OrderRequest,
             store_id: uuid.UUID | None = None) -> Placed:
    """The whole cart at one store becomes one retail order (pending payment); the cart empties."""
    store = _store(session, scope, store_id)
    rows = list(session.scalars(scoped(CartItem, scope).where(
        CartItem.consumer_id == scope.consumer_id, CartItem.store_id == store.id)
        .order_by(CartItem.created_at)))
    lines = [{"sku_id": row.sku_id, "qty": row.qty} for row in rows]
    # The key identifies the checkout, not the lines: a replay finds the cart already emptied.
    request = OrderRequest(lines=lines, delivery=request.delivery, ship_to=request.ship_to, note=request.note,
                      idempotency_key=request.idempotency_key, invoice=request.invoice,
                      coupon_id=request.coupon_id, points=request.points,
                      fingerprint={"checkout": str(store.id), "delivery": request.delivery,
                                   "ship_to": request.ship_to, "note": request.note,
                                   **({"invoice": request.invoice} if request.invoice else {})})
    if not rows and not (request.idempotency_key and has_key(session, scope, request.idempotency_key)):
        raise CartEmpty("The cart is empty.")
    placed = place_retail(session, scope, store_id=store.id, request=request)
    if placed.created:
        session.execute(delete(CartItem).where(
            CartItem.tenant_id == scope.tenant_id, CartItem.id.in_([row.id for row in rows]))
            .execution_options(synchronize_session=False))
    return placed
