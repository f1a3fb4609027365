"""Who may write what in the catalog, and the tenant-wide read filter for brand catalog rows."""

import uuid

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.catalog.errors import BrandManagersOnly
from app.catalog.rules import is_brand_path
from app.db import utcnow
from app.errors import NotFound
from app.tenancy.enums import MANAGER_ROLES
from app.tenancy.models import Org
from app.tenancy.scope import Scope


def require_brand_manager(scope: Scope) -> None:
    """Only an owner or admin of the brand root edits the brand's catalog and bands."""
    if not (scope.is_staff and scope.role in MANAGER_ROLES and is_brand_path(scope.org_path)):
        raise BrandManagersOnly("Only an owner or admin of the brand may change the catalog.")


def brand_path(scope: Scope) -> str:
    return scope.org_path


def get_catalog_row(session: Session, model, scope: Scope, row_id: uuid.UUID):
    """A brand catalog row (tenant-wide readable) by id, or 404."""
    row = session.scalars(
        select(model).where(model.tenant_id == scope.tenant_id, model.id == row_id)
    ).one_or_none()
    if row is None:
        raise NotFound(f"No {model.__tablename__[:-1].replace('_', ' ')} with that id.")
    return row


def brand_org(session: Session, tenant_id: uuid.UUID) -> Org:
    return session.scalars(
        select(Org).where(Org.tenant_id == tenant_id, Org.parent_id.is_(None))
    ).one()


def as_aware(value):
    """SQLite hands back naive datetimes: they were stored as UTC."""
    if value is not None and value.tzinfo is None:
        from datetime import UTC  # noqa: PLC0415

        return value.replace(tzinfo=UTC)
    return value


def now_or(at):
    return as_aware(at) if at is not None else utcnow()
