"""Auth endpoints: staff login, refresh, logout, consumer login, API keys."""

from flask import current_app, request

from app.auth import api_keys, services, throttle
from app.auth.errors import InvalidCredentials, RefreshTokenReused, TooManyAttempts
from app.auth.providers import provider_from_config
from app.auth.request import auth_settings, staff_only
from app.auth.schemas import (
    ApiKeyCreateSchema,
    ApiKeySchema,
    ConsumerLoginSchema,
    LoginSchema,
    NewApiKeySchema,
    RefreshSchema,
    TokensSchema,
)
from app.blueprint import Blueprint, TransactionalView
from app.extensions import db
from app.uow import unit_of_work

blp = Blueprint("auth", __name__, url_prefix="/auth", description="Sign in and API keys")


def _tokens(result: services.IssuedTokens) -> dict:
    return {"access_token": result.access_token, "refresh_token": result.refresh_token,
            "token_type": "Bearer", "expires_in": result.expires_in}


def _throttled(tenant: str, identifier: str, attempt):
    """Run a login attempt, counted as a failure *before* it is evaluated (committed in its own
    unit of work): of N parallel guesses only the first `max_failures` to commit get evaluated."""
    settings = auth_settings()
    keys = throttle.throttle_keys(tenant, identifier, request.remote_addr)
    with unit_of_work():
        claim = throttle.record_failure(db.session, keys, window_seconds=settings.failure_window_seconds)
    try:
        throttle.check_throttle(db.session, keys, max_failures=settings.max_failures,
                                window_seconds=settings.failure_window_seconds, claimed=True)
    except TooManyAttempts:
        with unit_of_work():  # refused unevaluated: it does not extend the lock-out
            throttle.release_claim(db.session, claim)
        raise
    try:
        with unit_of_work():  # a refused attempt leaves nothing of what it wrote but its claim
            result = attempt(settings)
            throttle.clear_failures(db.session, keys)
            throttle.release_claim(db.session, claim)
    except InvalidCredentials:
        raise  # the claim stays: it was a failed sign-in
    except Exception:
        with unit_of_work():  # not a wrong credential (a store missing, WeChat down): not counted
            throttle.release_claim(db.session, claim)
        raise
    return _tokens(result)


@blp.route("/login")
class Login(TransactionalView):
    @blp.public
    @blp.arguments(LoginSchema)
    @blp.response(200, TokensSchema)
    @blp.errors(401, 429)
    def post(self, body):
        """Staff sign in with email and password."""
        return _throttled(body["tenant"], body["email"], lambda settings: services.staff_login(
            db.session, settings, tenant_slug=body["tenant"], email=body["email"],
            password=body["password"]))


@blp.route("/consumer/login")
class ConsumerLogin(TransactionalView):
    @blp.public
    @blp.arguments(ConsumerLoginSchema)
    @blp.response(200, TokensSchema)
    @blp.errors(401, 429, 502)
    def post(self, body):
        """Consumer sign in from the mini-program (wx.login code); enrols new members."""
        provider = provider_from_config(current_app.config)
        return _throttled(body["tenant"], body["code"], lambda settings: services.consumer_login(
            db.session, settings, provider, tenant_slug=body["tenant"], code=body["code"],
            store_id=body["store_id"]))


@blp.route("/refresh")
class Refresh(TransactionalView):
    @blp.public
    @blp.arguments(RefreshSchema)
    @blp.response(200, TokensSchema)
    @blp.errors(401)
    def post(self, body):
        """Trade a refresh token for new tokens; the old refresh token is spent."""
        # A reused token is refused, and the revocation of its family is kept.
        with unit_of_work(keep_on=(RefreshTokenReused,)):
            result = services.refresh(db.session, auth_settings(), refresh_token=body["refresh_token"])
        return _tokens(result)


@blp.route("/logout")
class Logout(TransactionalView):
    @blp.public
    @blp.arguments(RefreshSchema)
    @blp.response(204)
    @blp.errors(401)
    def post(self, body):
        """Revoke the session (the refresh token's whole family)."""
        services.logout(db.session, refresh_token=body["refresh_token"])


@blp.route("/api-keys")
class ApiKeys(TransactionalView):
    @blp.response(200, ApiKeySchema(many=True))
    @blp.errors(401, 403)
    def get(self):
        """API keys of my subtree."""
        return api_keys.list_api_keys(db.session, staff_only())

    @blp.arguments(ApiKeyCreateSchema)
    @blp.response(201, NewApiKeySchema)
    @blp.errors(401, 403, 404)
    def post(self, body):
        """Create an API key for an org I manage; the key is shown only in this answer."""
        key, plain = api_keys.create_api_key(db.session, staff_only(), **body)
        return {**{name: getattr(key, name) for name in ApiKeySchema().fields}, "key": plain}


@blp.route("/api-keys/<uuid:key_id>")
class ApiKeyItem(TransactionalView):
    @blp.response(200, ApiKeySchema)
    @blp.errors(401, 403, 404)
    def delete(self, key_id):
        """Revoke an API key."""
        return api_keys.revoke_api_key(db.session, staff_only(), key_id=key_id)
