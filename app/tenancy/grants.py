"""Data-sharing grants: list, set and revoke; only the grantor's owner/admin may change them."""

import uuid

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from app.platform.outbox import record_event
from app.tenancy.elevation import Why, elevated
from app.tenancy.enums import Dataset, Fidelity
from app.tenancy.errors import InvalidGrant
from app.tenancy.filters import get_visible, path_matches
from app.tenancy.models import Grant, Org
from app.tenancy.network import actor_payload
from app.tenancy.permissions import Action, require
from app.tenancy.scope import PathRule, Scope, system_scope


def list_grants(session: Session, scope: Scope) -> list[Grant]:
    """Grants made by the caller's subtree and grants made to the caller's org."""
    subtree = PathRule(scope.org_path or "", False, Fidelity.full)
    return list(session.scalars(
        select(Grant).where(
            Grant.tenant_id == scope.tenant_id,
            or_(path_matches(Grant.owner_path, subtree), Grant.grantee_org_id == scope.org_id),
        ).order_by(Grant.created_at)
    ))


def set_grant(session: Session, scope: Scope, *, grantor_org_id: uuid.UUID,
              grantee_org_id: uuid.UUID, dataset: Dataset, fidelity: Fidelity) -> Grant:
    """Create or change what `grantee` sees of `dataset` in the grantor's subtree."""
    require(scope, Action.grant_data)
    grantor = _managed_grantor(session, scope, grantor_org_id)
    with elevated(session, Why.find_grantee, scope=system_scope(scope.tenant_id)):
        grantee = session.get(Org, (scope.tenant_id, grantee_org_id))
    if grantee is None:
        raise InvalidGrant("The grantee org does not exist.")
    if grantee.id == grantor.id:
        raise InvalidGrant("An org always sees its own data; grant to another org.")
    grant = session.scalar(select(Grant).where(
        Grant.tenant_id == scope.tenant_id, Grant.grantor_org_id == grantor.id,
        Grant.grantee_org_id == grantee.id, Grant.dataset == dataset))
    before = grant.fidelity.value if grant else None
    if grant is None:
        grant = Grant(tenant_id=scope.tenant_id, grantor_org_id=grantor.id,
                      grantee_org_id=grantee.id, grantee_path=grantee.path,
                      owner_path=grantor.path, dataset=dataset, fidelity=fidelity)
        session.add(grant)
    grant.fidelity = fidelity
    session.flush()
    _record(session, scope, grant, "grant.changed", {"before": before, "after": fidelity.value})
    return grant


def revoke_grant(session: Session, scope: Scope, *, grant_id: uuid.UUID) -> None:
    """Remove a grant: the grantee falls back to the tenant default."""
    require(scope, Action.grant_data)
    grant = get_visible(session, Grant, scope, grant_id)
    _managed_grantor(session, scope, grant.grantor_org_id)
    _record(session, scope, grant, "grant.revoked", {"before": grant.fidelity.value, "after": None})
    session.delete(grant)
    session.flush()


def _managed_grantor(session: Session, scope: Scope, org_id: uuid.UUID) -> Org:
    grantor = get_visible(session, Org, scope, org_id)
    require(scope, Action.grant_data, on=grantor.path)  # own reach: the grantor's own staff
    return grantor


def _record(session: Session, scope: Scope, grant: Grant, type: str, details: dict) -> None:
    record_event(session, tenant_id=grant.tenant_id, owner_path=grant.owner_path, type=type,
                 subject_id=grant.id, payload={
                     "grantor_org_id": str(grant.grantor_org_id),
                     "grantee_org_id": str(grant.grantee_org_id),
                     "dataset": grant.dataset.value, **details, **actor_payload(scope)})
