"""Use cases on the org tree: create tenants and orgs, move subtrees, deactivate, staff users."""

import uuid

from sqlalchemy import func, literal, select, update
from sqlalchemy.orm import Session

from app.auth.passwords import hash_password
from app.db import Base, uuid7
from app.errors import Forbidden
from app.platform.outbox import record_event
from app.tenancy.elevation import Why, elevated, enter_scope
from app.tenancy.enums import ActorKind, OrgKind, Role
from app.tenancy.errors import DuplicateEmail, InvalidMove, InvalidParent, RoleAboveCaller
from app.tenancy.filters import get_visible
from app.tenancy.models import Org, Tenant, User
from app.tenancy.permissions import Action, grantable, require
from app.tenancy.scope import PLATFORM_SCOPE, Scope, system_scope

CHILD_KINDS = {
    OrgKind.brand: {OrgKind.distributor, OrgKind.store},
    OrgKind.distributor: {OrgKind.distributor, OrgKind.store},
    OrgKind.store: set(),
}


def create_tenant(session: Session, *, slug: str, name: str, currency: str = "CNY",
                  settings: dict | None = None) -> tuple[Tenant, Org]:
    """A new tenant and its brand root org; the session continues in the tenant's system scope."""
    tenant = Tenant(id=uuid7(), slug=slug, name=name, currency=currency, settings=settings or {})
    enter_scope(session, Why.create_tenant, scope=PLATFORM_SCOPE)
    session.add(tenant)
    session.flush()
    enter_scope(session, Why.create_tenant, scope=system_scope(tenant.id))
    brand_id = uuid7()
    brand = Org(tenant_id=tenant.id, id=brand_id, kind=OrgKind.brand, name=name,
                path=f"/{brand_id}/", depth=0)
    session.add(brand)
    session.flush()
    return tenant, brand


def require_grantable(scope: Scope, role: Role) -> None:
    """No escalation: users and keys get only roles at or below the caller's own."""
    if scope.actor_kind is not ActorKind.system and not grantable(scope.role, role):
        mine = scope.role.value if scope.role else "none"
        raise RoleAboveCaller(f"Your role ({mine}) cannot give the {role.value} role: "
                              "only roles at or below your own.")


def create_org(session: Session, scope: Scope, *, parent_id: uuid.UUID, kind: OrgKind,
               name: str, code: str | None = None) -> Org:
    """A distributor or store under an org the caller manages."""
    require(scope, Action.manage_network)
    parent = get_visible(session, Org, scope, parent_id)
    require(scope, Action.manage_network, on=parent.path)
    if kind not in CHILD_KINDS[parent.kind]:
        raise InvalidParent(f"A {parent.kind} cannot have a {kind} under it.")
    if not parent.active:
        raise InvalidParent("The parent org is deactivated.")
    org_id = uuid7()
    org = Org(tenant_id=scope.tenant_id, id=org_id, kind=kind, name=name, code=code,
              parent_id=parent.id, path=f"{parent.path}{org_id}/", depth=parent.depth + 1)
    session.add(org)
    _record(session, scope, org, "org.created", {"name": name, "kind": kind.value,
                                                 "parent_id": str(parent.id)})
    session.flush()
    return org


def move_subtree(session: Session, scope: Scope, *, org_id: uuid.UUID,
                 new_parent_id: uuid.UUID) -> Org:
    """Hang an org (and everything below it) under another parent; rewrites paths set-based.

    Rows that belong to an org (users, consumers, API keys, grants) follow it; history rows
    (orders, audit, events) keep their owner-path snapshot.
    """
    require(scope, Action.manage_network)
    org = get_visible(session, Org, scope, org_id)
    new_parent = get_visible(session, Org, scope, new_parent_id)
    require(scope, Action.manage_network, on=org.path)
    require(scope, Action.manage_network, on=new_parent.path)
    if org.kind is OrgKind.brand:
        raise InvalidMove("The brand root cannot move.")
    if new_parent.path.startswith(org.path):
        raise InvalidMove("An org cannot move under itself or its own subtree.")
    if org.kind not in CHILD_KINDS[new_parent.kind]:
        raise InvalidMove(f"A {new_parent.kind} cannot have a {org.kind} under it.")
    old_path, new_path = org.path, f"{new_parent.path}{org.id}/"
    depth_change = new_parent.depth + 1 - org.depth
    old_parent_id = org.parent_id
    with elevated(session, Why.rewrite_paths, scope=system_scope(scope.tenant_id)):
        _rewrite_paths(session, scope.tenant_id, old_path, new_path, depth_change)
    session.execute(update(Org).where(Org.tenant_id == scope.tenant_id, Org.id == org.id)
                    .values(parent_id=new_parent.id))
    _expire_moved(session, old_path)
    _record(session, scope, org, "org.moved", {
        "from_parent_id": str(old_parent_id), "to_parent_id": str(new_parent.id),
        "old_path": old_path, "new_path": new_path})
    session.flush()
    return org


def _rewrite_paths(session: Session, tenant_id: uuid.UUID, old: str, new: str,
                   depth_change: int) -> None:
    def rebased(column):
        return literal(new) + func.substr(column, len(old) + 1)

    def in_subtree(column):
        return (column >= old) & (column < old + "~")

    session.execute(
        update(Org).where(Org.tenant_id == tenant_id, in_subtree(Org.path))
        .values(path=rebased(Org.path), depth=Org.depth + depth_change)
        .execution_options(synchronize_session=False)
    )
    for model in _models_following_orgs():
        for column_name in ("owner_path", "grantee_path"):
            column = getattr(model, column_name, None)
            if column is None:
                continue
            session.execute(
                update(model).where(model.tenant_id == tenant_id, in_subtree(column))
                .values({column_name: rebased(column)})
                .execution_options(synchronize_session=False)
            )


def _expire_moved(session: Session, old_path: str) -> None:
    """Loaded rows whose paths the set-based update rewrote are reloaded on next access."""
    for obj in list(session.identity_map.values()):
        path = getattr(obj, "path", None) or getattr(obj, "owner_path", None)
        if isinstance(path, str) and path.startswith(old_path):
            session.expire(obj)


def _models_following_orgs() -> list[type]:
    return [m.class_ for m in Base.registry.mappers if getattr(m.class_, "__follows_org__", False)]


def deactivate_org(session: Session, scope: Scope, *, org_id: uuid.UUID) -> Org:
    """Switch an org and its subtree off: its staff can no longer sign in."""
    require(scope, Action.manage_network)
    org = get_visible(session, Org, scope, org_id)
    require(scope, Action.manage_network, on=org.path)
    if org.kind is OrgKind.brand:
        raise InvalidMove("The brand root cannot be deactivated.")
    if org.path == scope.org_path:
        raise Forbidden("An org cannot deactivate itself; ask the org above it.")
    session.execute(
        update(Org).where(Org.tenant_id == scope.tenant_id, Org.path >= org.path,
                          Org.path < org.path + "~").values(active=False)
        .execution_options(synchronize_session=False)
    )
    session.expire(org)
    _record(session, scope, org, "org.deactivated", {})
    session.flush()
    return org


def create_user(session: Session, scope: Scope, *, org_id: uuid.UUID, email: str, name: str,
                password: str, role: Role) -> User:
    """A staff member of an org the caller manages, with a role at or below the caller's."""
    require(scope, Action.manage_users)
    org = get_visible(session, Org, scope, org_id)
    require(scope, Action.manage_users, on=org.path)
    require_grantable(scope, role)
    email = email.strip().lower()
    taken = session.scalar(select(User.id).where(User.tenant_id == scope.tenant_id,
                                                  User.email == email))
    if taken:
        raise DuplicateEmail("A staff member with this email already exists.")
    user = User(tenant_id=scope.tenant_id, id=uuid7(), org_id=org.id, owner_path=org.path,
                email=email, name=name, password_hash=hash_password(password), role=role)
    session.add(user)
    _record(session, scope, org, "user.created", {"user_id": str(user.id), "role": role.value})
    session.flush()
    return user


def _record(session: Session, scope: Scope, org: Org, type: str, details: dict) -> None:
    record_event(session, tenant_id=org.tenant_id, owner_path=org.path, type=type,
                 subject_id=org.id, payload={**details, **actor_payload(scope)})


def actor_payload(scope: Scope) -> dict:
    """Who acted and from which org, as the fields an event (and so the audit trail) carries."""
    return {"actor_kind": scope.actor_kind.value,
            "actor_id": str(scope.actor_id) if scope.actor_id else None,
            "actor_org_id": str(scope.org_id) if scope.org_id else None}
