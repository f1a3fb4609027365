"""Turns the request's credentials into its Scope, once, and makes it current."""

import uuid

from flask import Flask, current_app, g, request
from sqlalchemy import bindparam, select

from app.auth.api_keys import authenticate_api_key, note_api_key_use
from app.auth.errors import ConsumerOnly, InvalidToken, MissingCredentials, StaffOnly
from app.auth.services import AuthSettings, is_active_staff
from app.auth.tokens import decode_access_token
from app.extensions import db
from app.tenancy.elevation import Why, enter_scope, forget_scope
from app.tenancy.enums import ActorKind
from app.tenancy.models import Consumer, Org, Tenant, User
from app.tenancy.resolve import consumer_scope, staff_scope
from app.tenancy.scope import Scope, system_scope
from app.uow import unit_of_work


def auth_settings() -> AuthSettings:
    config = current_app.config
    return AuthSettings(
        secret_key=config["SECRET_KEY"], access_ttl_seconds=config["ACCESS_TOKEN_SECONDS"],
        refresh_ttl_days=config["REFRESH_TOKEN_DAYS"], max_failures=config["LOGIN_MAX_FAILURES"],
        failure_window_seconds=config["LOGIN_WINDOW_SECONDS"])


def request_scope() -> Scope:
    """The caller's scope (401 without valid credentials); resolved once per request."""
    if "scope" not in g:
        g.scope = _resolve()
        enter_scope(db.session, Why.request, scope=g.scope)
    return g.scope


def staff_only() -> Scope:
    scope = request_scope()
    if not scope.is_staff:
        raise StaffOnly("This endpoint is for staff and API keys.")
    return scope


def consumer_only() -> Scope:
    scope = request_scope()
    if scope.actor_kind is not ActorKind.consumer:
        raise ConsumerOnly("This endpoint is for signed-in consumers.")
    return scope


def _resolve() -> Scope:
    api_key = request.headers.get("X-Api-Key")
    if api_key:
        return _api_key_scope(api_key)
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise MissingCredentials("Sign in: send 'Authorization: Bearer <access token>'.")
    claims = decode_access_token(current_app.config["SECRET_KEY"], token.strip())
    tenant_id, subject = uuid.UUID(claims["tid"]), uuid.UUID(claims["sub"])
    enter_scope(db.session, Why.authenticate, scope=system_scope(tenant_id))
    if claims["knd"] == "consumer":
        # Like staff tokens: a consumer erased (or a tenant removed) loses access at once.
        # One statement: the consumer's row joined to its tenant's, with the home store. Kept on g
        # for the request (the identity map only holds weak references), a checkout finds both
        # with session.get and no round trip.
        g.consumer_rows = db.session.execute(
            _CONSUMER_WITH_HOME_STORE, {"tenant_id": tenant_id, "id": subject}).first()
        if g.consumer_rows is None:
            raise InvalidToken("The access token's consumer is unknown.")
        return consumer_scope(tenant_id, subject)
    # The token's role and org are read again: a demoted, moved or deactivated user loses
    # access at once, not when the token expires (one primary-key lookup each).
    tenant = db.session.get(Tenant, tenant_id)
    user = db.session.get(User, (tenant_id, subject))
    if tenant is None or not is_active_staff(db.session, user) or str(user.org_id) != claims["org"]:
        raise InvalidToken("The access token's user or org is unknown or deactivated.")
    org = db.session.get(Org, (tenant_id, user.org_id))
    return staff_scope(db.session, tenant=tenant, org=org, role=user.role,
                       actor_kind=ActorKind.staff, actor_id=subject)


_CONSUMER_WITH_HOME_STORE = (
    select(Consumer, Org).join(Tenant, Tenant.id == Consumer.tenant_id)
    .outerjoin(Org, (Org.tenant_id == Consumer.tenant_id) & (Org.id == Consumer.home_store_id))
    .where(Consumer.tenant_id == bindparam("tenant_id"), Consumer.id == bindparam("id")))


def _api_key_scope(presented: str) -> Scope:
    scope = authenticate_api_key(db.session, presented)
    # Its own unit of work: nothing else is written yet (the scope is resolved first), and the
    # stamp stays even if the request later fails.
    with unit_of_work():
        note_api_key_use(db.session, tenant_id=scope.tenant_id, key_id=scope.actor_id)
    return scope


def init_request_scope(app: Flask) -> None:
    """No scope leaks from one request into the next on the same thread."""

    @app.before_request
    def _clear() -> None:
        g.pop("scope", None)
        forget_scope()

    @app.teardown_request
    def _reset(_error) -> None:
        db.session.remove()
        forget_scope()
