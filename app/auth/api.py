"""Auth endpoints: staff login, refresh, logout, consumer login, API keys."""

from flask import current_app, request
from flask.views import MethodView

from app.auth import services
from app.auth.errors import InvalidCredentials
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
from app.blueprint import Blueprint
from app.extensions import db

blp = Blueprint("auth", __name__, url_prefix="/auth", description="Sign in and API keys")


def _tokens(result: services.Session_) -> dict:
    return {"access_token": result.access_token, "refresh_token": result.refresh_token,
            "token_type": "Bearer", "expires_in": result.expires_in}


def _throttled(tenant: str, identifier: str, attempt):
    """Run a login attempt; failures are counted (and committed) before the 401 goes out."""
    settings = auth_settings()
    keys = services.throttle_keys(tenant, identifier, request.remote_addr)
    services.check_throttle(db.session, settings, keys)
    try:
        result = attempt(settings)
    except InvalidCredentials:
        db.session.rollback()
        services.record_failure(db.session, settings, keys)
        db.session.commit()
        raise
    db.session.commit()
    return _tokens(result)


@blp.route("/login")
class Login(MethodView):
    @blp.arguments(LoginSchema)
    @blp.response(200, TokensSchema)
    @blp.errors(401, 429)
    def post(self, body):
        """Staff sign in with email and password."""
        return _throttled(body["tenant"], body["email"], lambda settings: services.staff_login(
            db.session, settings, tenant_slug=body["tenant"], email=body["email"],
            password=body["password"]))


@blp.route("/consumer/login")
class ConsumerLogin(MethodView):
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
class Refresh(MethodView):
    @blp.arguments(RefreshSchema)
    @blp.response(200, TokensSchema)
    @blp.errors(401)
    def post(self, body):
        """Trade a refresh token for new tokens; the old refresh token is spent."""
        try:
            result = services.refresh(db.session, auth_settings(), refresh_token=body["refresh_token"])
        except services.RefreshTokenReused:
            db.session.commit()  # keep the family revoked
            raise
        db.session.commit()
        return _tokens(result)


@blp.route("/logout")
class Logout(MethodView):
    @blp.arguments(RefreshSchema)
    @blp.response(204)
    @blp.errors(401)
    def post(self, body):
        """Revoke the session (the refresh token's whole family)."""
        services.logout(db.session, refresh_token=body["refresh_token"])
        db.session.commit()


@blp.route("/api-keys")
class ApiKeys(MethodView):
    @blp.response(200, ApiKeySchema(many=True))
    @blp.errors(401, 403)
    def get(self):
        """API keys of my subtree."""
        return services.list_api_keys(db.session, staff_only())

    @blp.arguments(ApiKeyCreateSchema)
    @blp.response(201, NewApiKeySchema)
    @blp.errors(401, 403, 404)
    def post(self, body):
        """Create an API key for an org I manage; the key is shown only in this answer."""
        key, plain = services.create_api_key(db.session, staff_only(), **body)
        db.session.commit()
        return {**ApiKeySchema().dump(key), "key": plain}


@blp.route("/api-keys/<uuid:key_id>")
class ApiKeyItem(MethodView):
    @blp.response(200, ApiKeySchema)
    @blp.errors(401, 403, 404)
    def delete(self, key_id):
        """Revoke an API key."""
        key = services.revoke_api_key(db.session, staff_only(), key_id=key_id)
        db.session.commit()
        return key
