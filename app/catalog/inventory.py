"""Stock as staff see it: levels and movements in scope (dataset inventory), and stocktakes."""

import uuid

from sqlalchemy.orm import Session

from app.catalog import stock
from app.catalog.access import get_catalog_row
from app.catalog.models import Sku, StockLevel, StockMovement
from app.paging import CursorKey, Page, paginate
from app.platform.audit import audit
from app.tenancy.filters import get_visible, scoped
from app.tenancy.models import Org
from app.tenancy.permissions import Action, require
from app.tenancy.scope import Scope


def list_levels(session: Session, scope: Scope, *, org_id: uuid.UUID | None = None,
                sku_id: uuid.UUID | None = None, limit: int = 50,
                cursor: CursorKey | None = None) -> Page[StockLevel]:
    """Stock levels of the orgs the scope sees in the inventory dataset, newest first
    (keyed by id alone: a level has no created_at, and its UUIDv7 id is time-ordered)."""
    statement = scoped(StockLevel, scope)
    if org_id is not None:
        statement = statement.where(StockLevel.org_id == org_id)
    if sku_id is not None:
        statement = statement.where(StockLevel.sku_id == sku_id)
    return paginate(session, statement, StockLevel, limit=limit, cursor=cursor, by_id=True)


def list_movements(session: Session, scope: Scope, *, org_id: uuid.UUID | None = None,
                   sku_id: uuid.UUID | None = None, order_id: uuid.UUID | None = None,
                   limit: int = 50, cursor: CursorKey | None = None) -> Page[StockMovement]:
    """Stock movements in scope, newest first."""
    statement = scoped(StockMovement, scope)
    for column, value in ((StockMovement.org_id, org_id), (StockMovement.sku_id, sku_id),
                          (StockMovement.order_id, order_id)):
        if value is not None:
            statement = statement.where(column == value)
    return paginate(session, statement, StockMovement, limit=limit, cursor=cursor)


def stocktake(session: Session, scope: Scope, *, org_id: uuid.UUID, sku_id: uuid.UUID,
              counted: int, note: str | None = None) -> StockLevel:
    """The org's own staff with stock.adjust record a count; the difference is an 'adjust'."""
    require(scope, Action.adjust_stock)
    org = get_visible(session, Org, scope, org_id)
    require(scope, Action.adjust_stock, on=org.path)
    get_catalog_row(session, Sku, scope, sku_id)
    level = stock.count(session, tenant_id=scope.tenant_id, org=org, sku_id=sku_id,
                        counted=counted, actor_id=scope.actor_id, note=note)
    audit(session, scope, "stock.adjust", owner_path=org.path, subject_id=sku_id, subject_type="sku",
          org_id=org.id, counted=counted)
    return level
