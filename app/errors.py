"""DomainError and the one JSON error shape: {"code", "message", "errors"?}."""

import marshmallow as ma
from flask import Flask, current_app
from flask_smorest import Api
from sqlalchemy.exc import DataError, IntegrityError, SQLAlchemyError
from werkzeug.exceptions import HTTPException


class DomainError(Exception):
    """A refused request: a snake_case code, a message and an HTTP status."""

    status = 400
    code = "bad_request"

    def __init__(self, message: str, *, code: str | None = None, status: int | None = None,
                 errors: dict | None = None, headers: dict[str, str] | None = None,
                 extra: dict | None = None):
        super().__init__(message)
        self.message = message
        self.code = code or self.code
        self.status = status or self.status
        self.errors = errors
        self.headers = headers or {}
        self.extra = extra or {}  # more documented members of the body (e.g. `permission`)


class NotFound(DomainError):
    status, code = 404, "not_found"


class Unauthorized(DomainError):
    status, code = 401, "unauthorized"


class Forbidden(DomainError):
    status, code = 403, "forbidden"


class Conflict(DomainError):
    status, code = 409, "conflict"


class TooManyRequests(DomainError):
    status, code = 429, "too_many_requests"


class ErrorSchema(ma.Schema):
    """The one error body every endpoint answers with."""

    code = ma.fields.String(required=True, metadata={
        "description": "snake_case, stable: branch on this, not on the message",
        "example": "not_found"})
    message = ma.fields.String(required=True, metadata={
        "description": "For people; may change", "example": "No org with that id."})
    errors = ma.fields.Dict(metadata={
        "description": "Field errors, for validation_error: field name → messages",
        "example": {"email": ["Not a valid email address."]}})
    permission = ma.fields.String(metadata={
        "description": "For 403 forbidden: the permission (action) the caller lacks",
        "example": "refund.approve"})


_HTTP_CODES = {
    400: "bad_request", 401: "unauthorized", 403: "forbidden", 404: "not_found",
    405: "method_not_allowed", 409: "conflict", 413: "payload_too_large",
    415: "unsupported_media_type", 422: "validation_error", 429: "too_many_requests",
}

_INTERNAL_ERROR = {"code": "internal_error", "message": "Something went wrong on our side."}


SECURITY_SCHEMES = {
    "bearer": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT",
               "description": "Access token from POST /auth/login or /auth/consumer/login"},
    "apiKey": {"type": "apiKey", "in": "header", "name": "X-Api-Key",
               "description": "An org's API key from POST /auth/api-keys"},
}


class TiermallApi(Api):
    """flask-smorest Api that renders every error in the one shape and documents credentials."""

    ERROR_SCHEMA = ErrorSchema

    def init_app(self, app, *, spec_kwargs=None):
        # Every operation needs a token or a key unless its view is marked @blp.public.
        security = [{name: []} for name in SECURITY_SCHEMES]
        super().init_app(app, spec_kwargs={"security": security, **(spec_kwargs or {})})
        for name, scheme in SECURITY_SCHEMES.items():
            self.spec.components.security_scheme(name, scheme)

    def handle_http_exception(self, error: HTTPException):
        data = getattr(error, "data", None) or {}
        status = error.code or 500
        # Keep werkzeug's own headers (Allow on 405, Retry-After on 429/503), not its HTML type.
        headers = {name: value for name, value in error.get_headers()
                   if name.lower() != "content-type"} | (data.get("headers") or {})
        if status >= 500:
            # Never a stack trace or an exception text: Flask has logged it already.
            return dict(_INTERNAL_ERROR), status, headers
        body = {"code": _HTTP_CODES.get(status, "error"), "message": error.description}
        errors = data.get("errors") or data.get("messages")
        if status == 400 and errors:
            body["message"] = "The request body is not valid JSON."
        elif status == 422 and errors:
            body["message"] = "The request is not valid."
            body["errors"] = _flatten_locations(errors)
        return body, status, headers


def _flatten_locations(errors: dict) -> dict:
    """webargs nests field errors by location ("json", "query"); one location needs no nesting."""
    if len(errors) == 1:
        (only,) = errors.values()
        if isinstance(only, dict):
            return only
    return errors


def register_error_handlers(app: Flask) -> None:
    @app.errorhandler(DomainError)
    def _domain_error(error: DomainError):
        from app.extensions import db  # noqa: PLC0415

        db.session.rollback()
        body = {"code": error.code, "message": error.message}
        if error.errors:
            body["errors"] = error.errors
        body.update(error.extra)
        return body, error.status, error.headers

    @app.errorhandler(IntegrityError)
    @app.errorhandler(DataError)
    def _database_refusal(error):
        from app.extensions import db  # noqa: PLC0415

        db.session.rollback()
        current_app.logger.info("database refused a write: %s", error.orig)
        return {"code": "conflict", "message": "The change conflicts with existing data."}, 409

    @app.errorhandler(SQLAlchemyError)
    def _lock_conflict(error):
        """A deadlock or serialization failure that outlived its retries: try again, never a 500."""
        from app.extensions import db  # noqa: PLC0415
        from app.uow import is_lock_conflict  # noqa: PLC0415

        if not is_lock_conflict(error):
            raise error
        db.session.rollback()
        current_app.logger.warning("a lock conflict outlived its retries")
        return ({"code": "lock_conflict", "message": "Another change to the same order won; try again."},
                409, {"Retry-After": "1"})
