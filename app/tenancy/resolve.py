"""Resolve a caller into its Scope once: org path, role, and a view per dataset."""

import uuid

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.tenancy.enums import DEFAULT_UPSTREAM_FIDELITY, ActorKind, Dataset, Fidelity, Role
from app.tenancy.models import Grant, Org, Tenant
from app.tenancy.scope import DatasetView, PathRule, Scope


def upstream_defaults(tenant: Tenant) -> dict[Dataset, Fidelity]:
    """What an org sees of its descendants' data unless a grant says otherwise (tenant policy)."""
    overrides = (tenant.settings or {}).get("data_sharing", {})
    return {dataset: Fidelity(overrides.get(dataset.value, DEFAULT_UPSTREAM_FIDELITY[dataset]))
            for dataset in Dataset}


def build_views(org_path: str, defaults: dict[Dataset, Fidelity],
                grants: list[tuple[str, Dataset, Fidelity]]) -> dict[Dataset, DatasetView]:
    """Own rows in full, descendants at the tenant default, then grants (grantor path) on top."""
    views = {}
    for dataset in Dataset:
        rules = [PathRule(org_path, True, Fidelity.full),
                 PathRule(org_path, False, defaults[dataset])]
        rules += [PathRule(path, False, fidelity) for path, granted, fidelity in grants
                  if granted is dataset and path != org_path]
        views[dataset] = DatasetView(tuple(rules))
    return views


def staff_scope(session: Session, *, tenant: Tenant, org: Org, role: Role,
                actor_kind: ActorKind, actor_id: uuid.UUID) -> Scope:
    """Scope of a staff user or API key; reads the grants made to its org."""
    grants = session.execute(
        select(Grant.owner_path, Grant.dataset, Grant.fidelity)
        .where(Grant.tenant_id == tenant.id, Grant.grantee_org_id == org.id)
    ).all()
    return Scope(
        tenant_id=tenant.id, actor_kind=actor_kind, actor_id=actor_id, org_id=org.id,
        org_path=org.path, role=role,
        views=build_views(org.path, upstream_defaults(tenant), [tuple(g) for g in grants]),
    )


def consumer_scope(tenant_id: uuid.UUID, consumer_id: uuid.UUID) -> Scope:
    """A consumer sees only their own rows."""
    return Scope(tenant_id=tenant_id, actor_kind=ActorKind.consumer, actor_id=consumer_id,
                 consumer_id=consumer_id)
