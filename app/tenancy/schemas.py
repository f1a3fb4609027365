"""Request and response bodies of the network, grants and consumers endpoints."""

import marshmallow as ma

from app.paging import PageQuery
from app.schemas import Schema
from app.tenancy import consumers
from app.tenancy.enums import ActorKind, Dataset, Fidelity, OrgKind, Role
from app.tenancy.masking import MaskedName, MaskedPhone, RowFidelity, ScopedSchema


class OrgSchema(Schema):
    id = ma.fields.UUID(dump_only=True)
    kind = ma.fields.Enum(OrgKind)
    name = ma.fields.String()
    code = ma.fields.String(allow_none=True)
    parent_id = ma.fields.UUID(allow_none=True)
    path = ma.fields.String()
    depth = ma.fields.Integer()
    active = ma.fields.Boolean()
    created_at = ma.fields.DateTime()


class OrgCreateSchema(Schema):
    parent_id = ma.fields.UUID(required=True)
    kind = ma.fields.Enum(OrgKind, required=True, metadata={"example": "store"})
    name = ma.fields.String(required=True, validate=ma.validate.Length(1, 200))
    code = ma.fields.String(load_default=None, validate=ma.validate.Length(1, 64))


class OrgMoveSchema(Schema):
    new_parent_id = ma.fields.UUID(required=True)


class OrgListQuery(PageQuery):
    kind = ma.fields.Enum(OrgKind, load_default=None)


class UserCreateSchema(Schema):
    email = ma.fields.Email(required=True)
    name = ma.fields.String(required=True, validate=ma.validate.Length(1, 200))
    password = ma.fields.String(required=True, load_only=True, validate=ma.validate.Length(10, 200))
    role = ma.fields.Enum(Role, required=True)


class UserSchema(Schema):
    id = ma.fields.UUID()
    org_id = ma.fields.UUID()
    email = ma.fields.String()
    name = ma.fields.String()
    role = ma.fields.Enum(Role)
    active = ma.fields.Boolean()


class GrantSetSchema(Schema):
    grantor_org_id = ma.fields.UUID(required=True)
    grantee_org_id = ma.fields.UUID(required=True)
    dataset = ma.fields.Enum(Dataset, required=True)
    fidelity = ma.fields.Enum(Fidelity, required=True)


class GrantSchema(GrantSetSchema):
    id = ma.fields.UUID()
    updated_at = ma.fields.DateTime()


class ConsumerSchema(ScopedSchema):
    row_fidelity = staticmethod(consumers.fidelity_of)

    id = ma.fields.UUID()
    name = MaskedName()
    phone = MaskedPhone()
    home_store_id = ma.fields.UUID()
    guide_id = ma.fields.UUID(allow_none=True)
    referrer_id = ma.fields.UUID(allow_none=True)
    created_at = ma.fields.DateTime()
    fidelity = RowFidelity()


class ConsumerSummarySchema(Schema):
    home_store_id = ma.fields.UUID()
    consumers = ma.fields.Integer()


class MeSchema(Schema):
    tenant_id = ma.fields.UUID()
    actor_kind = ma.fields.String()
    actor_id = ma.fields.UUID(allow_none=True)
    org_id = ma.fields.UUID(allow_none=True)
    org_path = ma.fields.String(allow_none=True)
    role = ma.fields.String(allow_none=True)
    fidelity = ma.fields.Dict(keys=ma.fields.String(), values=ma.fields.String(),
                              metadata={"description": "Best fidelity per dataset"})
    permissions = ma.fields.Dict(
        keys=ma.fields.String(), values=ma.fields.String(),
        metadata={"description": "What I may do: permission → reach (own, subtree, own rows)",
                  "example": {"refund.approve": "subtree", "order.ship": "own"}})


class PolicySchema(Schema):
    # A Dict loads the keys as Dataset members; its documentation enumerates those keys.
    defaults = ma.fields.Dict(
        keys=ma.fields.Enum(Dataset), values=ma.fields.Enum(Fidelity), required=True,
        metadata={"description": "What an org sees of its descendants' data, per dataset",
                  "example": {"consumers": "masked", "orders": "full"},
                  "properties": {dataset.value: {"type": "string", "enum": [f.value for f in Fidelity]}
                                 for dataset in Dataset}})


class AuditEntrySchema(Schema):
    id = ma.fields.UUID()
    created_at = ma.fields.DateTime()
    actor_kind = ma.fields.String()
    actor_id = ma.fields.UUID(allow_none=True, metadata={"description": "The user, API key or consumer"})
    actor_org_id = ma.fields.UUID(allow_none=True, metadata={"description": "The org it acted from"})
    action = ma.fields.String()
    subject_type = ma.fields.String()
    subject_id = ma.fields.UUID(allow_none=True)
    details = ma.fields.Dict()


class AuditQuery(PageQuery):
    """Filters of the audit trail; an unknown filter is a 422, never silently ignored."""

    actor_id = ma.fields.UUID(load_default=None, metadata={"description": "A user, API key or consumer"})
    actor_kind = ma.fields.Enum(ActorKind, load_default=None)
    actor_org_id = ma.fields.UUID(load_default=None, metadata={"description": "The org it acted from"})
    action = ma.fields.String(load_default=None, validate=ma.validate.Length(1, 64),
                              metadata={"example": "refund.approve"})
    subject_id = ma.fields.UUID(load_default=None)
    subject_type = ma.fields.String(load_default=None, validate=ma.validate.Length(1, 64),
                                    metadata={"example": "order"})
    since = ma.fields.AwareDateTime(load_default=None, metadata={"description": "From (inclusive)"})
    until = ma.fields.AwareDateTime(load_default=None, metadata={"description": "Before (exclusive)"})

    @ma.validates_schema
    def _period(self, data, **_kwargs):
        if data.get("since") and data.get("until") and data["until"] <= data["since"]:
            raise ma.ValidationError("until must be after since.", "until")
