"""DomainError and the one JSON error shape: {"code", "message", "errors"?}."""

from pathlib import Path

import marshmallow as ma
from flask import Blueprint, Flask, current_app, request
from flask_smorest import Api
from sqlalchemy.exc import DataError, IntegrityError, InterfaceError, OperationalError, SQLAlchemyError
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


class NotReady(DomainError):
    status, code = 503, "not_ready"


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
        self.register_field(ma.fields.URL, "string", "uri")  # OpenAPI's format is uri, not url
        app.register_blueprint(_swagger_ui_assets())
        self.ma_plugin.converter.add_attribute_function(_nullable_ref)
        self.ma_plugin.converter.add_attribute_function(_enumerated_keys)

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


def _swagger_ui_assets() -> Blueprint:
    """Swagger UI's JavaScript and CSS at /docs/assets/, from the pinned flask-swagger-ui wheel."""
    import flask_swagger_ui  # noqa: PLC0415

    dist = Path(flask_swagger_ui.__file__).parent / "dist"
    return Blueprint("api-docs-assets", __name__, static_folder=str(dist),
                     static_url_path="/docs/assets")


def _nullable_ref(converter, field, ret, **kwargs) -> dict:
    """A nullable nested schema is that schema or null (`allOf` + `nullable`), not also any object.

    apispec writes `anyOf: [{type: object, nullable: true}, {$ref}]` for OpenAPI 3.0, which lets
    any object through in generated clients; this rewrites it to the 3.0 idiom.
    """
    alternatives = ret.get("anyOf") or []
    refs = [option for option in alternatives if "$ref" in option]
    if len(alternatives) == 2 and len(refs) == 1 and {"type": "object", "nullable": True} in alternatives:
        del ret["anyOf"]
        return {"allOf": refs, "nullable": True}
    return {}


def _enumerated_keys(converter, field, ret, **kwargs) -> dict:
    """A Dict whose metadata lists its keys as `properties` takes no other key."""
    if isinstance(field, ma.fields.Dict) and "properties" in field.metadata:
        return {"additionalProperties": False}
    return {}


def _flatten_locations(errors: dict) -> dict:
    """webargs nests field errors by location ("json", "query"); one location needs no nesting."""
    if len(errors) == 1:
        (only,) = errors.values()
        if isinstance(only, dict):
            return only
    return errors


def _has_nul(value) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_has_nul(k) or _has_nul(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_has_nul(item) for item in value)
    return False


def register_error_handlers(app: Flask) -> None:
    @app.before_request
    def _refuse_nul_characters():
        """A NUL in text is invalid input (PostgreSQL cannot store it): 422, not a 409 later."""
        body = request.get_json(silent=True, cache=True) if request.is_json else None
        if _has_nul(body) or any(_has_nul(v) for v in request.args.values()):
            raise DomainError("Text may not contain NUL characters.", code="invalid_input",
                              status=422, errors={"json": ["NUL characters are not allowed."]})

    @app.errorhandler(RecursionError)
    def _too_deep(error: RecursionError):
        if request.is_json:  # the JSON parser gave up on a deeply nested body
            return {"code": "bad_request", "message": "The request body is nested too deeply."}, 400
        current_app.logger.error("recursion error", exc_info=error)
        return dict(_INTERNAL_ERROR), 500

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
        # The SQLSTATE and the constraint, never the message: its DETAIL quotes the row's values.
        diag = getattr(error.orig, "diag", None)
        current_app.logger.info("database refused a write: %s %s",
                                getattr(error.orig, "sqlstate", None) or type(error.orig).__name__,
                                getattr(diag, "constraint_name", None) or "")
        return {"code": "conflict", "message": "The change conflicts with existing data."}, 409

    @app.errorhandler(SQLAlchemyError)
    def _lock_conflict(error):
        """A deadlock or serialization failure that outlived its retries: try again, never a 500."""
        if not _is_lock_conflict(error):
            raise error
        return _lock_conflict_response()

    @app.errorhandler(OperationalError)
    @app.errorhandler(InterfaceError)
    def _database_unavailable(error):
        """A lost connection or a statement over its time budget: 503 in the one shape, logged once."""
        from app.extensions import db  # noqa: PLC0415

        if _is_lock_conflict(error):  # a deadlock is an OperationalError too, but it is a 409
            return _lock_conflict_response()
        original = getattr(error, "orig", None) or error
        timed_out = getattr(original, "sqlstate", None) == QUERY_CANCELED
        # One line naming the original error (no SQL, no parameters, no secondary rollback error).
        current_app.logger.error("%s %s: database %s: %s: %s", request.method, request.path,
                                 "statement timed out" if timed_out else "unavailable",
                                 type(original).__name__, (str(original).splitlines() or [""])[0])
        try:
            db.session.rollback()  # on a dead connection this only discards it from the pool
        except Exception:  # the original error is what matters, and it is logged above
            current_app.logger.debug("rollback after a database error failed too", exc_info=True)
        if timed_out:
            return ({"code": "request_timeout", "message": "The request took too long; try again."},
                    503, {"Retry-After": "1"})
        return ({"code": "database_unavailable", "message": "The database is unavailable; try again."},
                503, {"Retry-After": "1"})


QUERY_CANCELED = "57014"  # SQLSTATE of a statement cancelled by statement_timeout


def _is_lock_conflict(error) -> bool:
    from app.uow import is_lock_conflict  # noqa: PLC0415

    return is_lock_conflict(error)


def _lock_conflict_response():
    from app.extensions import db  # noqa: PLC0415

    db.session.rollback()
    current_app.logger.warning("a lock conflict outlived its retries")
    return ({"code": "lock_conflict", "message": "Another change to the same order won; try again."},
            409, {"Retry-After": "1"})
