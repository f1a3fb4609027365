"""Org look-ups every domain needs: the tenant's brand root, and an org by id."""

import uuid

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.paging import CursorKey, Page, paginate
from app.tenancy.enums import OrgKind
from app.tenancy.filters import scoped
from app.tenancy.models import Org
from app.tenancy.scope import Scope


def brand_root(session: Session, tenant_id: uuid.UUID) -> Org:
    """The tenant's brand org (the root of its tree); tenant-wide rows belong to it."""
    return session.scalars(select(Org).where(Org.tenant_id == tenant_id, Org.parent_id.is_(None))).one()


def org_by_id(session: Session, tenant_id: uuid.UUID, org_id: uuid.UUID | None) -> Org | None:
    """The org by primary key (None for no id); the caller's scope decides what it may see."""
    return session.get(Org, (tenant_id, org_id)) if org_id else None


def list_orgs(session: Session, scope: Scope, *, kind: OrgKind | None = None, limit: int = 50,
              cursor: CursorKey | None = None) -> Page[Org]:
    """Orgs the scope sees (its subtree and the orgs above it), newest first."""
    statement = scoped(Org, scope)
    if kind is not None:
        statement = statement.where(Org.kind == kind)
    return paginate(session, statement, Org, limit=limit, cursor=cursor)
