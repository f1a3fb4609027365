"""Authentication use cases: staff login, refresh rotation, logout, API keys, consumer login."""

import hashlib
import hmac
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from app.auth.errors import InvalidCredentials, RefreshTokenReused, StoreRequired, TooManyAttempts
from app.auth.models import ApiKey, LoginAttempt, RefreshToken
from app.auth.passwords import verify_password
from app.auth.providers import LoginProvider
from app.auth.tokens import InvalidToken, digest, issue_access_token, new_secret, split_compound
from app.db import uuid7
from app.platform.outbox import record_event
from app.tenancy.enums import ActorKind, IdentityKind, OrgKind, Role
from app.tenancy.filters import get_visible, scoped
from app.tenancy.models import Consumer, ConsumerIdentity, Org, Tenant, User
from app.tenancy.network import actor_of, require_manager
from app.tenancy.resolve import staff_scope
from app.tenancy.rls import use_scope
from app.tenancy.scope import Scope, system_scope, tenant_lookup_scope


@dataclass(frozen=True)
class AuthSettings:
    secret_key: str
    access_ttl_seconds: int = 900
    refresh_ttl_days: int = 30
    max_failures: int = 5
    failure_window_seconds: int = 900


@dataclass(frozen=True)
class Session_:
    access_token: str
    refresh_token: str
    expires_in: int


def _now() -> datetime:
    return datetime.now(UTC)


# --- throttling ---------------------------------------------------------------------------

def throttle_keys(tenant_slug: str, identifier: str, client_address: str | None) -> list[str]:
    keys = [f"id:{tenant_slug}:{identifier.strip().lower()}"]
    if client_address:
        keys.append(f"ip:{client_address}")
    return [hashlib.sha256(key.encode()).hexdigest() for key in keys]


def check_throttle(session: Session, settings: AuthSettings, keys: list[str]) -> None:
    """Refuse a login once a key has failed too often inside the window."""
    since = _now() - timedelta(seconds=settings.failure_window_seconds)
    for key in keys:
        failures = session.scalar(select(func.count()).select_from(LoginAttempt).where(
            LoginAttempt.key_hash == key, LoginAttempt.failed_at >= since))
        if failures >= settings.max_failures:
            raise TooManyAttempts("Too many failed logins; try again later.")


def record_failure(session: Session, settings: AuthSettings, keys: list[str]) -> None:
    now = _now()
    session.execute(delete(LoginAttempt).where(
        LoginAttempt.failed_at < now - timedelta(seconds=settings.failure_window_seconds)))
    session.add_all(LoginAttempt(key_hash=key, failed_at=now) for key in keys)
    session.flush()


# --- staff ---------------------------------------------------------------------------------

def find_tenant(session: Session, slug: str) -> Tenant:
    use_scope(session, tenant_lookup_scope(slug))
    tenant = session.scalar(select(Tenant).where(Tenant.slug == slug))
    if tenant is None:
        raise InvalidCredentials("Unknown tenant, email or password.")
    use_scope(session, system_scope(tenant.id))
    return tenant


def staff_login(session: Session, settings: AuthSettings, *, tenant_slug: str, email: str,
                password: str) -> Session_:
    """Check the password of an active staff member of an active org; open a token family."""
    tenant = find_tenant(session, tenant_slug)
    user = session.scalar(select(User).where(User.tenant_id == tenant.id,
                                             User.email == email.strip().lower()))
    valid = verify_password(user.password_hash if user else None, password)
    if not (valid and user.active and _org(session, user.tenant_id, user.org_id).active):
        raise InvalidCredentials("Unknown tenant, email or password.")
    return _open_family(session, settings, tenant_id=tenant.id, user=user)


def _org(session: Session, tenant_id: uuid.UUID, org_id: uuid.UUID) -> Org:
    return session.get(Org, (tenant_id, org_id))


def _open_family(session: Session, settings: AuthSettings, *, tenant_id: uuid.UUID,
                 user: User | None = None, consumer: Consumer | None = None,
                 family_id: uuid.UUID | None = None) -> Session_:
    secret = new_secret()
    session.add(RefreshToken(
        tenant_id=tenant_id, id=uuid7(), family_id=family_id or uuid7(),
        user_id=user.id if user else None, consumer_id=consumer.id if consumer else None,
        token_hash=digest(secret), expires_at=_now() + timedelta(days=settings.refresh_ttl_days)))
    session.flush()
    if user is not None:
        access = issue_access_token(settings.secret_key, ttl_seconds=settings.access_ttl_seconds,
                                    tenant_id=tenant_id, subject=user.id, kind="staff",
                                    org_id=user.org_id, role=user.role.value)
    else:
        access = issue_access_token(settings.secret_key, ttl_seconds=settings.access_ttl_seconds,
                                    tenant_id=tenant_id, subject=consumer.id, kind="consumer")
    return Session_(access, f"{tenant_id}.{secret}", settings.access_ttl_seconds)


def _refresh_row(session: Session, refresh_token: str) -> RefreshToken:
    tenant_part, secret = split_compound(refresh_token, 2)
    try:
        tenant_id = uuid.UUID(tenant_part)
    except ValueError as error:
        raise InvalidToken("The refresh token is malformed.") from error
    use_scope(session, system_scope(tenant_id))
    row = session.scalar(select(RefreshToken).where(
        RefreshToken.tenant_id == tenant_id, RefreshToken.token_hash == digest(secret)))
    if row is None:
        raise InvalidToken("The refresh token is not valid.")
    return row


def refresh(session: Session, settings: AuthSettings, *, refresh_token: str) -> Session_:
    """Rotate: the presented token is spent and a new one issued in the same family.

    Presenting a spent token means it was stolen (or replayed): the whole family is revoked.
    """
    row = _refresh_row(session, refresh_token)
    if row.used_at is not None:
        revoke_family(session, row)
        raise RefreshTokenReused("This refresh token was already used; the session is closed.")
    if row.revoked_at is not None or row.expires_at < _now():
        raise InvalidToken("The refresh token has expired or was revoked.")
    row.used_at = _now()
    user = session.get(User, (row.tenant_id, row.user_id)) if row.user_id else None
    consumer = session.get(Consumer, (row.tenant_id, row.consumer_id)) if row.consumer_id else None
    if user is not None and not (user.active and _org(session, user.tenant_id, user.org_id).active):
        raise InvalidToken("The account is deactivated.")
    return _open_family(session, settings, tenant_id=row.tenant_id, user=user,
                        consumer=consumer, family_id=row.family_id)


def logout(session: Session, *, refresh_token: str) -> None:
    revoke_family(session, _refresh_row(session, refresh_token))


def revoke_family(session: Session, row: RefreshToken) -> None:
    session.execute(
        update(RefreshToken)
        .where(RefreshToken.tenant_id == row.tenant_id, RefreshToken.family_id == row.family_id,
               RefreshToken.revoked_at.is_(None))
        .values(revoked_at=_now()).execution_options(synchronize_session=False))
    session.flush()


# --- API keys ------------------------------------------------------------------------------

API_KEY_PREFIX = "tmk"


def create_api_key(session: Session, scope: Scope, *, org_id: uuid.UUID, name: str,
                   role: Role) -> tuple[ApiKey, str]:
    """A key for a server of an org the caller manages; the plain key is shown only once."""
    org = get_visible(session, Org, scope, org_id)
    require_manager(scope, org)
    secret = new_secret()
    key = ApiKey(tenant_id=scope.tenant_id, id=uuid7(), org_id=org.id, owner_path=org.path,
                 name=name, role=role, secret_hash=digest(secret), created_by=_user_id(scope))
    session.add(key)
    record_event(session, tenant_id=org.tenant_id, owner_path=org.path, type="api_key.created",
                 subject_id=key.id, payload={"name": name, "role": role.value, **actor_of(scope)})
    session.flush()
    return key, f"{API_KEY_PREFIX}.{scope.tenant_id.hex}.{key.id.hex}.{secret}"


def _user_id(scope: Scope) -> uuid.UUID | None:
    return scope.actor_id if scope.actor_kind is ActorKind.staff else None


def list_api_keys(session: Session, scope: Scope) -> list[ApiKey]:
    return list(session.scalars(scoped(ApiKey, scope).order_by(ApiKey.created_at)))


def revoke_api_key(session: Session, scope: Scope, *, key_id: uuid.UUID) -> ApiKey:
    key = get_visible(session, ApiKey, scope, key_id)
    require_manager(scope, _org(session, key.tenant_id, key.org_id))
    if key.revoked_at is None:
        key.revoked_at = _now()
        record_event(session, tenant_id=key.tenant_id, owner_path=key.owner_path,
                     type="api_key.revoked", subject_id=key.id, payload=actor_of(scope))
    session.flush()
    return key


def authenticate_api_key(session: Session, presented: str) -> Scope:
    """The scope of the org that owns this key (revoked or unknown keys: 401)."""
    prefix, tenant_hex, key_hex, secret = split_compound(presented, 4)
    try:
        tenant_id, key_id = uuid.UUID(hex=tenant_hex), uuid.UUID(hex=key_hex)
    except ValueError as error:
        raise InvalidToken("The API key is malformed.") from error
    if prefix != API_KEY_PREFIX:
        raise InvalidToken("The API key is malformed.")
    use_scope(session, system_scope(tenant_id))
    key = session.get(ApiKey, (tenant_id, key_id))
    if key is None or key.revoked_at or not hmac.compare_digest(key.secret_hash, digest(secret)):
        raise InvalidToken("The API key is not valid.")
    org = _org(session, tenant_id, key.org_id)
    if not org.active:
        raise InvalidToken("The API key's org is deactivated.")
    tenant = session.get(Tenant, tenant_id)
    return staff_scope(session, tenant=tenant, org=org, role=key.role,
                       actor_kind=ActorKind.api_key, actor_id=key.id)


# --- consumers -----------------------------------------------------------------------------

def consumer_login(session: Session, settings: AuthSettings, provider: LoginProvider, *,
                   tenant_slug: str, code: str, store_id: uuid.UUID | None = None) -> Session_:
    """ONE ID: find the consumer behind the openid (or unionid), or enrol them at a store."""
    tenant = find_tenant(session, tenant_slug)
    identity = provider.exchange(tenant, code)
    known = [(IdentityKind.wechat_openid, identity.openid)]
    if identity.unionid:
        known.append((IdentityKind.wechat_unionid, identity.unionid))
    consumer = _consumer_by_identity(session, tenant.id, known)
    if consumer is None:
        consumer = _enrol(session, tenant.id, store_id)
    _link_identities(session, consumer, known)
    return _open_family(session, settings, tenant_id=tenant.id, consumer=consumer)


def _consumer_by_identity(session: Session, tenant_id: uuid.UUID,
                          known: list[tuple[IdentityKind, str]]) -> Consumer | None:
    for kind, value in known:
        consumer = session.scalar(
            select(Consumer).join(ConsumerIdentity, (ConsumerIdentity.tenant_id == Consumer.tenant_id)
                                  & (ConsumerIdentity.consumer_id == Consumer.id))
            .where(ConsumerIdentity.tenant_id == tenant_id, ConsumerIdentity.kind == kind,
                   ConsumerIdentity.value == value))
        if consumer is not None:
            return consumer
    return None


def _enrol(session: Session, tenant_id: uuid.UUID, store_id: uuid.UUID | None) -> Consumer:
    store = session.get(Org, (tenant_id, store_id)) if store_id else None
    if store is None or store.kind is not OrgKind.store or not store.active:
        raise StoreRequired("A new member enrols at a store: pass the store_id of the QR code.")
    consumer = Consumer(tenant_id=tenant_id, id=uuid7(), home_store_id=store.id,
                        owner_path=store.path)
    session.add(consumer)
    session.flush()
    return consumer


def _link_identities(session: Session, consumer: Consumer,
                     known: list[tuple[IdentityKind, str]]) -> None:
    for kind, value in known:
        exists = session.scalar(select(ConsumerIdentity.id).where(
            ConsumerIdentity.tenant_id == consumer.tenant_id, ConsumerIdentity.kind == kind,
            ConsumerIdentity.value == value))
        if exists is None:
            session.add(ConsumerIdentity(tenant_id=consumer.tenant_id, consumer_id=consumer.id,
                                         owner_path=consumer.owner_path, kind=kind, value=value))
    session.flush()

