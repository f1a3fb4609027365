"""Authentication use cases: staff login, refresh rotation, logout, consumer login (ONE ID)."""

import uuid
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from app.auth.errors import InvalidCredentials, InvalidToken, RefreshTokenReused, StoreRequired
from app.auth.models import RefreshToken
from app.auth.passwords import hash_password, needs_rehash, verify_password
from app.auth.providers import LoginProvider
from app.auth.tokens import digest, issue_access_token, new_secret, split_compound
from app.db import utcnow, uuid7
from app.tenancy.elevation import Why, enter_scope
from app.tenancy.enums import IdentityKind, OrgKind
from app.tenancy.models import Consumer, ConsumerIdentity, Org, Tenant, User
from app.tenancy.scope import system_scope, tenant_lookup_scope

_BAD_CREDENTIALS = "Unknown tenant, email or password."


@dataclass(frozen=True)
class AuthSettings:
    secret_key: str
    access_ttl_seconds: int = 900
    refresh_ttl_days: int = 30
    max_failures: int = 5
    failure_window_seconds: int = 900


@dataclass(frozen=True)
class IssuedTokens:
    access_token: str
    refresh_token: str
    expires_in: int


# --- staff ---------------------------------------------------------------------------------

def find_tenant(session: Session, slug: str) -> Tenant:
    """The tenant with this slug; the session continues in its system scope."""
    enter_scope(session, Why.login, scope=tenant_lookup_scope(slug))
    tenant = session.scalar(select(Tenant).where(Tenant.slug == slug))
    if tenant is None:
        raise InvalidCredentials(_BAD_CREDENTIALS)
    enter_scope(session, Why.login, scope=system_scope(tenant.id))
    return tenant


def staff_login(session: Session, settings: AuthSettings, *, tenant_slug: str, email: str,
                password: str) -> IssuedTokens:
    """Check the password of an active staff member of an active org; open a token family."""
    try:
        tenant = find_tenant(session, tenant_slug)
    except InvalidCredentials:
        verify_password(None, password)  # an unknown tenant takes as long as a wrong password
        raise
    user = session.scalar(select(User).where(User.tenant_id == tenant.id,
                                             User.email == email.strip().lower()))
    # The hash is checked even for an unknown email so that both take the same time.
    valid = verify_password(user.password_hash if user else None, password)
    if not (valid and is_active_staff(session, user)):
        raise InvalidCredentials(_BAD_CREDENTIALS)
    if needs_rehash(user.password_hash):  # made at an older cost: the password is at hand now
        user.password_hash = hash_password(password)
    return _open_family(session, settings, tenant_id=tenant.id, user=user)


def is_active_staff(session: Session, user: User | None) -> bool:
    """The user exists, is active, and so is their org."""
    if user is None or not user.active:
        return False
    org = session.get(Org, (user.tenant_id, user.org_id))
    return org is not None and org.active


def _open_family(session: Session, settings: AuthSettings, *, tenant_id: uuid.UUID,
                 user: User | None = None, consumer: Consumer | None = None,
                 family_id: uuid.UUID | None = None) -> IssuedTokens:
    secret = new_secret()
    session.add(RefreshToken(
        tenant_id=tenant_id, id=uuid7(), family_id=family_id or uuid7(),
        user_id=user.id if user else None, consumer_id=consumer.id if consumer else None,
        token_hash=digest(secret), expires_at=utcnow() + timedelta(days=settings.refresh_ttl_days)))
    session.flush()
    if user is not None:
        access = issue_access_token(settings.secret_key, ttl_seconds=settings.access_ttl_seconds,
                                    tenant_id=tenant_id, subject=user.id, kind="staff",
                                    org_id=user.org_id, role=user.role.value)
    else:
        access = issue_access_token(settings.secret_key, ttl_seconds=settings.access_ttl_seconds,
                                    tenant_id=tenant_id, subject=consumer.id, kind="consumer")
    return IssuedTokens(access, f"{tenant_id}.{secret}", settings.access_ttl_seconds)


# --- refresh tokens ------------------------------------------------------------------------

def _refresh_row(session: Session, refresh_token: str) -> RefreshToken:
    tenant_part, secret = split_compound(refresh_token, 2)
    try:
        tenant_id = uuid.UUID(tenant_part)
    except ValueError as error:
        raise InvalidToken("The refresh token is malformed.") from error
    enter_scope(session, Why.authenticate, scope=system_scope(tenant_id))
    row = session.scalar(select(RefreshToken).where(
        RefreshToken.tenant_id == tenant_id, RefreshToken.token_hash == digest(secret)))
    if row is None:
        raise InvalidToken("The refresh token is not valid.")
    return row


def refresh(session: Session, settings: AuthSettings, *, refresh_token: str) -> IssuedTokens:
    """Rotate: the presented token is spent and a new one issued in the same family.

    Presenting a spent token means it was stolen (or replayed): the whole family is revoked,
    and the caller must commit that revocation even though the request fails.
    """
    row = _refresh_row(session, refresh_token)
    if row.used_at is not None:
        _reused(session, row)
    if row.revoked_at is not None or row.expires_at < utcnow():
        raise InvalidToken("The refresh token has expired or was revoked.")
    # Spend it with a conditional UPDATE: of two concurrent refreshes only one wins, and the
    # loser is treated as a replay.
    spent = session.execute(
        update(RefreshToken)
        .where(RefreshToken.tenant_id == row.tenant_id, RefreshToken.id == row.id,
               RefreshToken.used_at.is_(None), RefreshToken.revoked_at.is_(None))
        .values(used_at=utcnow()).execution_options(synchronize_session=False))
    if spent.rowcount != 1:
        _reused(session, row)
    user = session.get(User, (row.tenant_id, row.user_id)) if row.user_id else None
    consumer = session.get(Consumer, (row.tenant_id, row.consumer_id)) if row.consumer_id else None
    if row.user_id and not is_active_staff(session, user):
        raise InvalidToken("The account is deactivated.")
    if row.consumer_id and consumer is None:
        raise InvalidToken("The account no longer exists.")
    return _open_family(session, settings, tenant_id=row.tenant_id, user=user,
                        consumer=consumer, family_id=row.family_id)


def _reused(session: Session, row: RefreshToken) -> None:
    revoke_family(session, row)
    raise RefreshTokenReused("This refresh token was already used; the session is closed.")


def logout(session: Session, *, refresh_token: str) -> None:
    """Revoke the whole family of this refresh token (also when it was already spent)."""
    revoke_family(session, _refresh_row(session, refresh_token))


def revoke_family(session: Session, row: RefreshToken) -> None:
    session.execute(
        update(RefreshToken)
        .where(RefreshToken.tenant_id == row.tenant_id, RefreshToken.family_id == row.family_id,
               RefreshToken.revoked_at.is_(None))
        .values(revoked_at=utcnow()).execution_options(synchronize_session=False))
    session.flush()


# --- consumers -----------------------------------------------------------------------------

def consumer_login(session: Session, settings: AuthSettings, provider: LoginProvider, *,
                   tenant_slug: str, code: str, store_id: uuid.UUID | None = None) -> IssuedTokens:
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
