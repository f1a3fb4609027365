"""Stock per org: conditional UPDATEs that never oversell, and a movement row for every change.

Scope: these functions key every statement explicitly by (tenant_id, org, sku) and never go
through the app filter, but RLS still applies on PostgreSQL: stock rows are owned by the
holding org (dataset inventory). Order services call them under `system_scope(tenant_id)`
(app.orders.stock_moves wraps the calls in `elevated(session, Why.reserve_seller_stock, ...)`),
because the caller (a buyer) usually may not see the seller's stock. Run under a narrower
scope, a row outside it looks missing and `reserve` answers insufficient_stock.

Invariant: on_hand == sum(movement.qty) and reserved == sum(movement.reserved_delta) per row.
"""

import json
import uuid

from sqlalchemy import insert, select, text, update
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


# Every line of an order in one statement: the CTE locks the rows in SKU order (LockRows above
# the Sort, the same order as one UPDATE per line in sorted order: no deadlock between two
# checkouts), the UPDATE re-checks availability on the latest row versions and holds only the
# lines it can, and the movements of those lines are written by the same statement (a
# data-modifying CTE runs whether or not the outer query reads it). One line short: the caller
# raises and its transaction rolls back the others. PostgreSQL only; SQLite takes the loop.
_RESERVE_MANY = text("""
WITH wanted AS (
  SELECT CAST(line ->> 'sku_id' AS uuid) AS sku_id, CAST(line ->> 'qty' AS integer) AS qty,
         CAST(line ->> 'movement_id' AS uuid) AS movement_id
  FROM jsonb_array_elements(CAST(:lines AS jsonb)) AS line),
locked AS (
  SELECT level.id FROM stock_levels AS level JOIN wanted ON wanted.sku_id = level.sku_id
  WHERE level.tenant_id = :tenant_id AND level.org_id = :org_id
  ORDER BY level.sku_id FOR UPDATE OF level),
held AS (
  UPDATE stock_levels AS level SET reserved = level.reserved + wanted.qty, updated_at = :now
  FROM wanted, locked
  WHERE level.tenant_id = :tenant_id AND level.id = locked.id AND level.sku_id = wanted.sku_id
    AND level.on_hand - level.reserved >= wanted.qty
  RETURNING level.sku_id, level.on_hand, level.reserved, wanted.qty, wanted.movement_id),
moved AS (
  INSERT INTO stock_movements (tenant_id, id, owner_path, org_id, sku_id, reason, qty, reserved_delta,
                               on_hand_after, reserved_after, order_id, created_at)
  SELECT :tenant_id, movement_id, :owner_path, :org_id, sku_id, 'reserve', 0, qty, on_hand, reserved,
         CAST(:order_id AS uuid), :now
  FROM held)
SELECT sku_id FROM held""")


def reserve_many(session: Session, *, tenant_id: uuid.UUID, org: Org, moves: list[tuple[uuid.UUID, int]],
                 order_id: uuid.UUID | None) -> None:
    """`reserve` for every (sku, qty) of an order in one statement (reservations and their
    movements) instead of two per line; all or nothing (one line short: insufficient_stock, and
    the caller's transaction rolls the others back, as it does after a failed `reserve`)."""
    if session.get_bind().dialect.name != "postgresql":
        for sku_id, qty in moves:
            reserve(session, tenant_id=tenant_id, org=org, sku_id=sku_id, qty=qty, order_id=order_id)
        return
    lines = json.dumps([{"sku_id": str(sku_id), "qty": qty, "movement_id": str(uuid7())}
                        for sku_id, qty in moves])
    held = set(session.scalars(_RESERVE_MANY, {
        "lines": lines, "tenant_id": tenant_id, "org_id": org.id, "owner_path": org.path,
        "order_id": order_id, "now": utcnow()}))
    short = [sku_id for sku_id, _ in moves if sku_id not in held]
    if short:
        raise InsufficientStock(f"Not enough stock of SKU {short[0]} at {org.name}.")


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


def return_out(session: Session, *, tenant_id: uuid.UUID, org: Org, sku_id: uuid.UUID, qty: int,
               order_id: uuid.UUID | None) -> None:
    """Goods a buyer org received go back to the seller: on_hand -= qty (never below what is reserved)."""
    after = _change(session, tenant_id, org, sku_id, on_hand=-qty, reserved=0,
                    condition=StockLevel.on_hand - StockLevel.reserved >= qty)
    if after is None:
        raise InsufficientStock(f"{org.name} does not hold {qty} free units of SKU {sku_id} to return.")
    _movement(session, tenant_id, org, sku_id, StockReason.return_out, -qty, 0, after, order_id)


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
