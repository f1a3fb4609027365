"""The points mall (积分商城): brand items for points plus optional cash, redeemed as retail orders.

Redeeming places a normal retail order at the member's home store (the store hands over or ships
the goods from its stock and is the seller of record, as for any mini-program order), with one
line for the item at its tier price and a `points_mall` adjustment that pays all of it but the
item's cash with points. So the order is paid (the cash and shipping), ships, refunds and journals
like any other; the item's own stock (a brand-wide cap) is claimed by a conditional UPDATE.
"""

import uuid

from sqlalchemy.orm import Session

from app.catalog.access import get_catalog_row, require_brand_staff
from app.db import uuid7
from app.membership.checkout_errors import InvalidMallItem
from app.membership.checkout_models import MallItem
from app.orders.placement import OrderRequest, Placed, place_retail
from app.paging import CursorKey, Page, paginate
from app.tenancy.filters import scoped
from app.tenancy.permissions import Action
from app.tenancy.scope import Scope


def create_item(session: Session, scope: Scope, *, sku_id: uuid.UUID, name: str, points_price: int,
                cash_minor: int = 0, stock: int) -> MallItem:
    """The brand offers a SKU in the points mall."""
    require_brand_staff(scope, Action.manage_mall)
    from app.catalog.models import Sku  # noqa: PLC0415

    get_catalog_row(session, Sku, scope, sku_id)
    if points_price <= 0 or cash_minor < 0 or stock < 0:
        raise InvalidMallItem("A mall item costs positive points, non-negative cash, and has stock.")
    item = MallItem(tenant_id=scope.tenant_id, id=uuid7(), owner_path=scope.org_path, sku_id=sku_id,
                    name=name, points_price=points_price, cash_minor=cash_minor, stock=stock, redeemed=0,
                    active=True)
    session.add(item)
    session.flush()
    return item


def list_items(session: Session, scope: Scope, *, limit: int = 50,
               cursor: CursorKey | None = None) -> Page[MallItem]:
    """Items on offer, newest first."""
    query = scoped(MallItem, scope).where(MallItem.active.is_(True))
    return paginate(session, query, MallItem, limit=limit, cursor=cursor)


def redeem(session: Session, scope: Scope, *, item_id: uuid.UUID, qty: int = 1, delivery: str = "ship",
           ship_to: dict | None = None, note: str | None = None,
           idempotency_key: str | None = None) -> Placed:
    """A member redeems an item: a retail order at the home store, paid in points but the item's cash."""
    item = session.scalar(scoped(MallItem, scope).where(MallItem.id == item_id, MallItem.active.is_(True)))
    if item is None:
        raise InvalidMallItem("No such points-mall item on offer.")
    request = OrderRequest(lines=[{"sku_id": item.sku_id, "qty": qty}], delivery=delivery, ship_to=ship_to,
                           note=note, idempotency_key=idempotency_key, mall_item_id=item.id)
    return place_retail(session, scope, request=request)
