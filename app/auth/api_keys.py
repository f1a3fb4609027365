"""Per-org API keys for servers (an ERP): created by managers, shown once, stored as SHA-256."""

import hmac
import uuid
from datetime import timedelta

from sqlalchemy import or_, update
from sqlalchemy.orm import Session

from app.auth.errors import InvalidToken
from app.auth.models import ApiKey
from app.auth.tokens import digest, new_secret, split_compound
from app.db import utcnow, uuid7
from app.platform.outbox import record_event
from app.tenancy.elevation import Why, enter_scope
from app.tenancy.enums import ActorKind, Role
from app.tenancy.filters import get_visible, scoped
from app.tenancy.models import Org, Tenant
from app.tenancy.network import actor_payload, require_grantable
from app.tenancy.permissions import Action, require
from app.tenancy.resolve import staff_scope
from app.tenancy.scope import Scope, system_scope

API_KEY_PREFIX = "tmk"
# last_used_at is a hint for people, not an audit: one write a minute per key is enough.
LAST_USED_RESOLUTION = timedelta(minutes=1)


def create_api_key(session: Session, scope: Scope, *, org_id: uuid.UUID, name: str,
                   role: Role) -> tuple[ApiKey, str]:
    """A key for a server of an org the caller manages; the plain key is shown only once."""
    require(scope, Action.manage_api_keys)
    org = get_visible(session, Org, scope, org_id)
    require(scope, Action.manage_api_keys, on=org.path)
    require_grantable(scope, role)
    secret = new_secret()
    key = ApiKey(tenant_id=scope.tenant_id, id=uuid7(), org_id=org.id, owner_path=org.path,
                 name=name, role=role, secret_hash=digest(secret), created_by=_user_id(scope))
    session.add(key)
    record_event(session, tenant_id=org.tenant_id, owner_path=org.path, type="api_key.created",
                 subject_id=key.id, payload={"name": name, "role": role.value, **actor_payload(scope)})
    session.flush()
    return key, f"{API_KEY_PREFIX}.{scope.tenant_id.hex}.{key.id.hex}.{secret}"


def _user_id(scope: Scope) -> uuid.UUID | None:
    return scope.actor_id if scope.actor_kind is ActorKind.staff else None


def list_api_keys(session: Session, scope: Scope) -> list[ApiKey]:
    """Keys of the caller's subtree, oldest first."""
    return list(session.scalars(scoped(ApiKey, scope).order_by(ApiKey.created_at, ApiKey.id)))


def revoke_api_key(session: Session, scope: Scope, *, key_id: uuid.UUID) -> ApiKey:
    require(scope, Action.manage_api_keys)
    key = get_visible(session, ApiKey, scope, key_id)
    require(scope, Action.manage_api_keys, on=key.owner_path)
    if key.revoked_at is None:
        key.revoked_at = utcnow()
        record_event(session, tenant_id=key.tenant_id, owner_path=key.owner_path,
                     type="api_key.revoked", subject_id=key.id, payload=actor_payload(scope))
    session.flush()
    return key


def authenticate_api_key(session: Session, presented: str) -> Scope:
    """The scope of the org that owns this key (malformed, unknown or revoked keys: 401)."""
    prefix, tenant_hex, key_hex, secret = split_compound(presented, 4)
    try:
        tenant_id, key_id = uuid.UUID(hex=tenant_hex), uuid.UUID(hex=key_hex)
    except ValueError as error:
        raise InvalidToken("The API key is malformed.") from error
    if prefix != API_KEY_PREFIX:
        raise InvalidToken("The API key is malformed.")
    enter_scope(session, Why.authenticate, scope=system_scope(tenant_id))
    key = session.get(ApiKey, (tenant_id, key_id))
    if key is None or key.revoked_at or not hmac.compare_digest(key.secret_hash, digest(secret)):
        raise InvalidToken("The API key is not valid.")
    org = session.get(Org, (tenant_id, key.org_id))
    if not org.active:
        raise InvalidToken("The API key's org is deactivated.")
    tenant = session.get(Tenant, tenant_id)
    return staff_scope(session, tenant=tenant, org=org, role=key.role,
                       actor_kind=ActorKind.api_key, actor_id=key.id)


def note_api_key_use(session: Session, *, tenant_id: uuid.UUID, key_id: uuid.UUID) -> bool:
    """Stamp last_used_at unless it is fresher than a minute; True when a row was written."""
    now = utcnow()
    known = session.get(ApiKey, (tenant_id, key_id))  # from the identity map: no query
    if known is not None and known.last_used_at and known.last_used_at > now - LAST_USED_RESOLUTION:
        return False
    result = session.execute(
        update(ApiKey)
        .where(ApiKey.tenant_id == tenant_id, ApiKey.id == key_id,
               or_(ApiKey.last_used_at.is_(None), ApiKey.last_used_at < now - LAST_USED_RESOLUTION))
        .values(last_used_at=now).execution_options(synchronize_session=False))
    return result.rowcount > 0
