"""Stock per org: conditional UPDATEs that never oversell, and a movement row for every change.

Scope: these functions key every statement explicitly by (tenant_id, org, sku) and never go
through the app filter, but RLS still applies on PostgreSQL: stock rows are owned by the
holding org (dataset inventory). Order services call them under `system_scope(tenant_id)`
(app.orders.stock_moves wraps the calls in `elevated(session, Why.reserve_seller_stock, ...)`),
because the caller (a buyer) usually may not see the seller's stock. Run under a narrower
scope, a row outside it looks missing and `reserve` answers insufficient_stock.

Invariant: on_hand == sum(movement.qty) and reserved == sum(movement.reserved_delta) per row.
"""

import uuid

from sqlalchemy import insert, select, update
from sqlalchemy.orm import Session

from app.catalog.errors import InsufficientStock, StockConflict
from app.catalog.models import StockLevel, StockMovement, StockReason
from app.db import insert_or_ignore, utcnow, uuid7
from app.tenancy.models import Org


def reserve(session: Session, *, tenant_id: uuid.UUID, org: Org, sku_id: uuid.UUID, qty: int,
            order_id: uuid.UUID | None) -> None:
    """Hold qty for an order; refused (409 insufficient_stock) when fewer are available."""
    after = _change(session, tenant_id, org, sku_id, on_hand=0, reserved=qty,
                    condition=StockLevel.on_hand - StockLevel.reserved >= qty)
    if after is None:
        raise InsufficientStock(f"Not enough stock of SKU {sku_id} at {org.name}.")
    _movement(session, tenant_id, org, sku_id, StockReason.reserve, 0, qty, after, order_id)


def release(session: Session, *, tenant_id: uuid.UUID, org: Org, sku_id: uuid.UUID, qty: int,
            order_id: uuid.UUID | None) -> None:
    """Undo a reservation (an order cancelled)."""
    after = _change(session, tenant_id, org, sku_id, on_hand=0, reserved=-qty,
                    condition=StockLevel.reserved >= qty)
    if after is None:
        raise StockConflict(f"Cannot release {qty} of SKU {sku_id}: not that many reserved.")
    _movement(session, tenant_id, org, sku_id, StockReason.release, 0, -qty, after, order_id)


def ship(session: Session, *, tenant_id: uuid.UUID, org: Org, sku_id: uuid.UUID, qty: int,
         order_id: uuid.UUID | None) -> None:
    """Reserved goods leave the org: reserved -= qty and on_hand -= qty."""
    after = _change(session, tenant_id, org, sku_id, on_hand=-qty, reserved=-qty,
                    condition=StockLevel.reserved >= qty)
    if after is None:
        raise StockConflict(f"Cannot ship {qty} of SKU {sku_id}: not that many reserved.")
    _movement(session, tenant_id, org, sku_id, StockReason.ship, -qty, -qty, after, order_id)


def receive(session: Session, *, tenant_id: uuid.UUID, org: Org, sku_id: uuid.UUID, qty: int,
            order_id: uuid.UUID | None) -> None:
    """Goods arrive at the (buyer) org: on_hand += qty."""
    _add(session, tenant_id, org, sku_id, qty, StockReason.receive, order_id)


def restock(session: Session, *, tenant_id: uuid.UUID, org: Org, sku_id: uuid.UUID, qty: int,
            order_id: uuid.UUID | None) -> None:
    """Returned goods back on hand at the org that takes them back."""
    _add(session, tenant_id, org, sku_id, qty, StockReason.restock, order_id)


def add_initial(session: Session, *, tenant_id: uuid.UUID, org: Org, sku_id: uuid.UUID,
                qty: int, actor_id: uuid.UUID | None = None, note: str | None = None) -> None:
    """Opening stock (demo data, imports): on_hand += qty as an 'initial' movement."""
    _add(session, tenant_id, org, sku_id, qty, StockReason.initial, None, actor_id, note)


def count(session: Session, *, tenant_id: uuid.UUID, org: Org, sku_id: uuid.UUID,
          counted: int, actor_id: uuid.UUID | None = None, note: str | None = None,
          attempts: int = 5) -> StockLevel:
    """Stocktake: set on_hand to the counted quantity with one 'adjust' movement.

    Optimistic: the UPDATE only applies if on_hand is still what was read (no row lock).
    """
    if counted < 0:
        raise StockConflict("A counted quantity cannot be negative.")
    for _ in range(attempts):
        seen = _ensure_level(session, tenant_id, org, sku_id)
        if counted < seen.reserved:
            raise StockConflict(
                f"Counted {counted} is below the {seen.reserved} reserved for open orders.")
        delta = counted - seen.on_hand
        after = _change(session, tenant_id, org, sku_id, on_hand=delta, reserved=0,
                        condition=(StockLevel.on_hand == seen.on_hand)
                        & (StockLevel.reserved <= counted))
        if after is not None:
            _movement(session, tenant_id, org, sku_id, StockReason.adjust, delta, 0, after,
                      None, actor_id, note)
            session.expire(seen)
            return seen
        session.expire(seen)
    raise StockConflict("The stock changed while counting; try again.")


# --- the statements -------------------------------------------------------------------------

def _key(tenant_id, org: Org, sku_id):
    return ((StockLevel.tenant_id == tenant_id) & (StockLevel.org_id == org.id)
            & (StockLevel.sku_id == sku_id))


def _change(session: Session, tenant_id, org: Org, sku_id, *, on_hand: int, reserved: int,
            condition) -> tuple[int, int] | None:
    """One conditional UPDATE; (on_hand, reserved) after it, or None when the condition failed."""
    row = session.execute(
        update(StockLevel)
        .where(_key(tenant_id, org, sku_id), condition)
        .values(on_hand=StockLevel.on_hand + on_hand, reserved=StockLevel.reserved + reserved,
                updated_at=utcnow())
        .returning(StockLevel.on_hand, StockLevel.reserved)
        .execution_options(synchronize_session=False)
    ).first()
    return (row.on_hand, row.reserved) if row is not None else None


def _add(session, tenant_id, org: Org, sku_id, qty: int, reason: StockReason, order_id,
         actor_id=None, note=None) -> None:
    if qty <= 0:
        raise StockConflict("A quantity to add must be positive.")
    _ensure_level(session, tenant_id, org, sku_id)
    after = _change(session, tenant_id, org, sku_id, on_hand=qty, reserved=0,
                    condition=StockLevel.on_hand >= 0)
    _movement(session, tenant_id, org, sku_id, reason, qty, 0, after, order_id, actor_id, note)


def _ensure_level(session: Session, tenant_id, org: Org, sku_id) -> StockLevel:
    """The org's stock row for the SKU, created empty if missing (race-safe: ON CONFLICT)."""
    level = session.scalars(select(StockLevel).where(_key(tenant_id, org, sku_id))).one_or_none()
    if level is not None:
        return level
    values = {"tenant_id": tenant_id, "id": uuid7(), "owner_path": org.path, "org_id": org.id,
              "sku_id": sku_id, "on_hand": 0, "reserved": 0, "updated_at": utcnow()}
    session.execute(insert_or_ignore(session, StockLevel, conflict_on=["tenant_id", "org_id", "sku_id"])
                    .values(**values))
    return session.scalars(select(StockLevel).where(_key(tenant_id, org, sku_id))).one()


def _movement(session, tenant_id, org: Org, sku_id, reason, qty, reserved_delta, after,
              order_id, actor_id=None, note=None) -> None:
    session.execute(insert(StockMovement).values(
        tenant_id=tenant_id, id=uuid7(), owner_path=org.path, org_id=org.id, sku_id=sku_id,
        reason=reason, qty=qty, reserved_delta=reserved_delta, on_hand_after=after[0],
        reserved_after=after[1], order_id=order_id, actor_id=actor_id, note=note,
        created_at=utcnow()))
