"""Who may write what in the catalog, and the tenant-wide read filter for brand catalog rows."""

import uuid

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.catalog.errors import BrandManagersOnly
from app.catalog.rules import is_brand_path
from app.errors import NotFound
from app.tenancy.permissions import Action, require
from app.tenancy.scope import Scope


def require_brand_staff(scope: Scope, action: Action) -> None:
    """`action` on the brand's catalog or bands: the role must hold it, and sit at the brand root."""
    require(scope, action)
    if not (scope.is_staff and is_brand_path(scope.org_path)):
        raise BrandManagersOnly("Only the brand's own staff may change the catalog and its bands.")


def get_catalog_row(session: Session, model, scope: Scope, row_id: uuid.UUID):
    """A brand catalog row (tenant-wide readable) by id, or 404."""
    row = session.scalars(
        select(model).where(model.tenant_id == scope.tenant_id, model.id == row_id)
    ).one_or_none()
    if row is None:
        raise NotFound(f"No {model.__tablename__[:-1].replace('_', ' ')} with that id.")
    return row

