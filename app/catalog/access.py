"""Who may write what in the catalog, and the tenant-wide read filter for brand catalog rows."""

import uuid

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.catalog.errors import BrandManagersOnly
from app.catalog.rules import is_brand_path
from app.errors import NotFound
from app.tenancy.enums import MANAGER_ROLES
from app.tenancy.scope import Scope


def require_brand_manager(scope: Scope) -> None:
    """Only an owner or admin of the brand root edits the brand's catalog and bands."""
    if not (scope.is_staff and scope.role in MANAGER_ROLES and is_brand_path(scope.org_path)):
        raise BrandManagersOnly("Only an owner or admin of the brand may change the catalog.")


def get_catalog_row(session: Session, model, scope: Scope, row_id: uuid.UUID):
    """A brand catalog row (tenant-wide readable) by id, or 404."""
    row = session.scalars(
        select(model).where(model.tenant_id == scope.tenant_id, model.id == row_id)
    ).one_or_none()
    if row is None:
        raise NotFound(f"No {model.__tablename__[:-1].replace('_', ' ')} with that id.")
    return row

