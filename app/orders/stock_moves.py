"""Stock effects of orders, through the catalog's stock module, always under the tenant's system scope.

The caller may not see the other party's inventory (a store replenishing from its distributor,
a consumer buying at a store), so the order services decide *what* moves and this module moves
it with the system scope; the conditional UPDATEs in the catalog never oversell.
"""

import uuid
from collections.abc import Iterable

from sqlalchemy.orm import Session

from app.tenancy.elevation import Why, elevated
from app.tenancy.orgs import org_by_id
from app.tenancy.scope import system_scope

Move = tuple[uuid.UUID, int]  # (sku_id, qty)


def apply(session: Session, *, verb: str, tenant_id: uuid.UUID, org_id: uuid.UUID,
          moves: Iterable[Move], order_id: uuid.UUID) -> None:
    """Run stock.<verb> (reserve, release, ship, receive, restock) for each (sku, qty) > 0."""
    from app.catalog import stock  # noqa: PLC0415  (catalog is optional at import time)

    moves = sorted((sku_id, qty) for sku_id, qty in moves if qty > 0)  # fixed order: no deadlocks
    if not moves:
        return
    function = getattr(stock, verb)
    with elevated(session, Why.reserve_seller_stock, scope=system_scope(tenant_id)):
        org = org_by_id(session, tenant_id, org_id)
        if verb == "reserve":  # checkout: every line in one UPDATE and one INSERT
            stock.reserve_many(session, tenant_id=tenant_id, org=org, moves=moves, order_id=order_id)
        else:
            for sku_id, qty in moves:
                function(session, tenant_id=tenant_id, org=org, sku_id=sku_id, qty=qty, order_id=order_id)
        session.flush()

