"""Request and response bodies of the auth endpoints."""

import marshmallow as ma

from app.schemas import Schema
from app.tenancy.enums import Role


class LoginSchema(Schema):
    tenant = ma.fields.String(required=True, validate=ma.validate.Length(1, 63),
                              metadata={"example": "acme"})
    email = ma.fields.Email(required=True, metadata={"example": "owner@acme.example"})
    password = ma.fields.String(required=True, validate=ma.validate.Length(1, 200),
                                load_only=True, metadata={"example": "demo-password"})


class ConsumerLoginSchema(Schema):
    tenant = ma.fields.String(required=True, validate=ma.validate.Length(1, 63),
                              metadata={"example": "acme"})
    code = ma.fields.String(required=True, validate=ma.validate.Length(1, 256),
                            metadata={"description": "wx.login() code (demo: 'dev-<name>')",
                                      "example": "dev-alice"})
    store_id = ma.fields.UUID(load_default=None,
                              metadata={"description": "Store of the QR code; enrols new members"})


class RefreshSchema(Schema):
    refresh_token = ma.fields.String(required=True, validate=ma.validate.Length(1, 200), metadata={
        "description": "From the last sign-in or refresh; works once",
        "example": "01936f4e-0000-7000-8000-000000000000.q9Zk3…"})


class TokensSchema(Schema):
    access_token = ma.fields.String(metadata={"description": "JWT; send as 'Authorization: Bearer'"})
    refresh_token = ma.fields.String(metadata={"description": "Opaque; trade it at /auth/refresh"})
    token_type = ma.fields.String(dump_default="Bearer")
    expires_in = ma.fields.Integer(metadata={"description": "Seconds the access token lives",
                                             "example": 900})


class ApiKeyCreateSchema(Schema):
    org_id = ma.fields.UUID(required=True)
    name = ma.fields.String(required=True, validate=ma.validate.Length(1, 100),
                            metadata={"example": "ERP sync"})
    role = ma.fields.Enum(Role, load_default=Role.viewer,
                          metadata={"description": "Owner keys only by owners"})


class ApiKeySchema(Schema):
    id = ma.fields.UUID()
    org_id = ma.fields.UUID()
    name = ma.fields.String()
    role = ma.fields.Enum(Role)
    created_at = ma.fields.DateTime()
    last_used_at = ma.fields.DateTime(allow_none=True)
    revoked_at = ma.fields.DateTime(allow_none=True)


class NewApiKeySchema(ApiKeySchema):
    key = ma.fields.String(metadata={"description": "Shown once; send it as X-Api-Key",
                                     "example": "tmk.<tenant hex>.<key hex>.<secret>"})
