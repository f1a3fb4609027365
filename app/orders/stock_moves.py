"""Stock effects of orders, through the catalog's stock module, always under the tenant's system scope.

The caller may not see the other party's inventory (a store replenishing from its distributor,
a consumer buying at a store), so the order services decide *what* moves and this module moves
it with the system scope; the conditional UPDATEs in the catalog never oversell.
"""

import uuid
from collections.abc import Iterable

from sqlalchemy.orm import Session

from app.tenancy.orgs import org_by_id
from app.tenancy.rls import acting_as
from app.tenancy.scope import current_scope, system_scope

Move = tuple[uuid.UUID, int]  # (sku_id, qty)


def apply(session: Session, *, verb: str, tenant_id: uuid.UUID, org_id: uuid.UUID,
          moves: Iterable[Move], order_id: uuid.UUID) -> None:
    """Run stock.<verb> (reserve, release, ship, receive, restock) for each (sku, qty) > 0."""
    from app.catalog import stock  # noqa: PLC0415  (catalog is optional at import time)

    moves = sorted((sku_id, qty) for sku_id, qty in moves if qty > 0)  # fixed order: no deadlocks
    if not moves:
        return
    function = getattr(stock, verb)
    with as_system(session, tenant_id):
        org = org_by_id(session, tenant_id, org_id)
        for sku_id, qty in moves:
            function(session, tenant_id=tenant_id, org=org, sku_id=sku_id, qty=qty, order_id=order_id)
        session.flush()


class as_system:
    """acting_as(system) unless the caller already is the system (saves two round trips)."""

    def __init__(self, session: Session, tenant_id: uuid.UUID):
        scope = current_scope()
        self.needed = not (scope is not None and scope.tenant_id == tenant_id
                           and scope.org_path == "/" and scope.actor_kind.value == "system")
        self.context = acting_as(session, system_scope(tenant_id)) if self.needed else None

    def __enter__(self):
        if self.context is not None:
            self.context.__enter__()

    def __exit__(self, *exc):
        if self.context is not None:
            return self.context.__exit__(*exc)
        return False
