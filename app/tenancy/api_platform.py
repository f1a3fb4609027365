"""Platform operator endpoints (not a tenant's): create a tenant with its brand and first owner.

A platform operator is authenticated by `X-Platform-Token`, compared in constant time with the
PLATFORM_API_TOKEN setting (at least 32 characters). Without that setting every call is 401:
the platform API is off. Tenant staff tokens and API keys never reach it.
"""

import hmac

import marshmallow as ma
from flask import current_app, request

from app.blueprint import Blueprint, TransactionalView
from app.extensions import db
from app.schemas import Schema
from app.tenancy.errors import InvalidPlatformToken
from app.tenancy.onboarding import MIN_PASSWORD, SLUG_PATTERN, onboard_tenant
from app.tenancy.scope import PLATFORM_SCOPE, Scope

HEADER = "X-Platform-Token"
SECURITY = {"platformToken": {
    "type": "apiKey", "in": "header", "name": HEADER,
    "description": "The platform operator's token (PLATFORM_API_TOKEN); not a tenant credential"}}

blp = Blueprint("platform", __name__, url_prefix="/platform",
                description="Platform operators: tenants (needs X-Platform-Token)")


def platform_only() -> Scope:
    """The platform scope for a caller presenting the configured operator token; 401 otherwise."""
    expected = current_app.config.get("PLATFORM_API_TOKEN")
    presented = request.headers.get(HEADER, "")
    if not expected or not hmac.compare_digest(presented.encode(), expected.encode()):
        raise InvalidPlatformToken("Send the platform operator token in X-Platform-Token.")
    return PLATFORM_SCOPE


class TenantCreateSchema(Schema):
    slug = ma.fields.String(required=True, validate=ma.validate.Regexp(SLUG_PATTERN),
                            metadata={"example": "acme"})
    name = ma.fields.String(required=True, validate=ma.validate.Length(1, 200))
    currency = ma.fields.String(load_default="CNY", validate=ma.validate.Regexp(r"^[A-Z]{3}$"))
    owner_email = ma.fields.Email(required=True)
    owner_name = ma.fields.String(load_default="Owner", validate=ma.validate.Length(1, 200))
    owner_password = ma.fields.String(required=True, load_only=True,
                                      validate=ma.validate.Length(MIN_PASSWORD, 200))


class TenantCreatedSchema(Schema):
    tenant_id = ma.fields.UUID()
    slug = ma.fields.String()
    brand_org_id = ma.fields.UUID()
    owner_user_id = ma.fields.UUID()
    owner_email = ma.fields.String()


@blp.route("/tenants")
class Tenants(TransactionalView):
    @blp.doc(security=[{"platformToken": []}])
    @blp.arguments(TenantCreateSchema)
    @blp.response(201, TenantCreatedSchema)
    @blp.errors(401, 409)
    def post(self, body):
        """Create a tenant, its brand org and its first owner (platform operators only)."""
        made = onboard_tenant(db.session, platform_only(), via="platform_api", **body)
        return {"tenant_id": made.tenant.id, "slug": made.tenant.slug, "brand_org_id": made.brand.id,
                "owner_user_id": made.owner.id, "owner_email": made.owner.email}


def register(api) -> None:
    api.spec.components.security_scheme("platformToken", SECURITY["platformToken"])
    api.register_blueprint(blp)
