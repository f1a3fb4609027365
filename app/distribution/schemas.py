"""Request and response bodies of the distribution endpoints (mini-program, portal, brand admin)."""

import marshmallow as ma

from app.distribution.models import (
    COMMISSION_ROLES,
    BeneficiaryKind,
    BindingEnd,
    BindingSource,
    EntryKind,
    EntryRole,
    EntryStatus,
    PromoterStatus,
)
from app.paging import PageQuery
from app.schemas import Money, Schema
from app.tenancy.enums import Dataset, Fidelity
from app.tenancy.masking import MaskedName, RowFidelity, ScopedSchema
from app.tenancy.scope import Scope

BASIS_POINTS = ma.validate.Range(0, 10_000)


class PromoterOut(Schema):
    id = ma.fields.UUID()
    kind = ma.fields.Enum(BeneficiaryKind)
    status = ma.fields.Enum(PromoterStatus)
    code = ma.fields.String(metadata={"description": "What share links and QR codes carry"})
    level_id = ma.fields.UUID(allow_none=True)
    org_id = ma.fields.UUID(metadata={"description": "Home store of a consumer, org of a staff member"})
    created_at = ma.fields.DateTime()


class PromoterRowOut(ScopedSchema):
    """A promoter with its consumer's name, at my consumers fidelity of the promoter's org."""

    @staticmethod
    def row_fidelity(scope: Scope, row: dict) -> Fidelity:
        return scope.fidelity(Dataset.consumers, row["promoter"].owner_path)

    promoter = ma.fields.Nested(PromoterOut)
    name = MaskedName(metadata={"description": "Masked below full consumers fidelity"})
    fidelity = RowFidelity()


class TotalsOut(Schema):
    today_minor = Money(metadata={"description": "Earned since midnight UTC (net of today's refunds)"})
    pending_minor = Money(metadata={"description": "Frozen until completion plus the freeze days"})
    available_minor = Money()
    settled_minor = Money()
    paid_minor = Money()
    entries = ma.fields.Integer()


class MySummaryOut(TotalsOut):
    promoter = ma.fields.Nested(PromoterOut)


class PortalTotalsOut(TotalsOut):
    fidelity = ma.fields.Enum(Fidelity, metadata={"description": "My best commissions fidelity"})


class TeamMemberOut(ScopedSchema):
    """A customer bound to me: another person's data, so masked whatever my scope."""

    @staticmethod
    def row_fidelity(scope: Scope, row: dict) -> Fidelity:
        return Fidelity.masked

    name = MaskedName(metadata={"description": "Always masked"})
    bound_at = ma.fields.DateTime()
    source = ma.fields.Enum(BindingSource)


class MyOrderOut(Schema):
    order_ref = ma.fields.String(metadata={"description": "The order id's last 8 characters"})
    earned_at = ma.fields.DateTime()
    amount_minor = Money(metadata={"description": "My net commission on the order"})
    currency = ma.fields.String()
    status = ma.fields.String()


class BindIn(Schema):
    code = ma.fields.String(required=True, validate=ma.validate.Length(4, 32),
                            metadata={"example": "K7QX2M9A"})
    source = ma.fields.Enum(BindingSource, load_default=BindingSource.share_link)


class BindingOut(Schema):
    id = ma.fields.UUID()
    consumer_id = ma.fields.UUID()
    promoter_id = ma.fields.UUID()
    source = ma.fields.Enum(BindingSource)
    valid_from = ma.fields.DateTime()
    valid_to = ma.fields.DateTime(allow_none=True)
    protected_until = ma.fields.DateTime(allow_none=True)
    ended_reason = ma.fields.Enum(BindingEnd, allow_none=True)


class BoundOut(Schema):
    binding = ma.fields.Nested(BindingOut)
    changed = ma.fields.Boolean(metadata={"description": "False: the customer stays with whom they had"})


class RebindIn(Schema):
    consumer_id = ma.fields.UUID(required=True)
    promoter_id = ma.fields.UUID(required=True)
    note = ma.fields.String(load_default=None, validate=ma.validate.Length(0, 500))


class StaffPromoterIn(Schema):
    user_id = ma.fields.UUID(required=True)


class PromoterDecisionIn(Schema):
    promoter_id = ma.fields.UUID(required=True)
    approve = ma.fields.Boolean(required=True, metadata={"description": "False rejects, or suspends"})


class PromoterListQuery(PageQuery):
    status = ma.fields.Enum(PromoterStatus, load_default=None)


class RuleIn(Schema):
    role = ma.fields.Enum(EntryRole, required=True,
                          validate=ma.validate.OneOf(list(COMMISSION_ROLES)))
    rate_bp = ma.fields.Integer(load_default=None, strict=True, validate=BASIS_POINTS,
                                metadata={"description": "Percentage of the base in basis points"})
    fixed_minor = Money(load_default=None, validate=ma.validate.Range(0),
                        metadata={"description": "Fixed amount per unit"})
    sku_id = ma.fields.UUID(load_default=None)
    product_id = ma.fields.UUID(load_default=None)
    category_id = ma.fields.UUID(load_default=None)
    promoter_level_id = ma.fields.UUID(load_default=None)
    org_id = ma.fields.UUID(load_default=None, metadata={"description": "A named store or distributor"})
    org_depth = ma.fields.Integer(load_default=None, strict=True, validate=ma.validate.Range(0, 64))


class RuleOut(RuleIn):
    id = ma.fields.UUID()


class PlanIn(Schema):
    name = ma.fields.String(required=True, validate=ma.validate.Length(1, 100))
    activate = ma.fields.Boolean(load_default=True)
    rules = ma.fields.List(ma.fields.Nested(RuleIn), required=True, validate=ma.validate.Length(0, 500))


class PlanOut(Schema):
    id = ma.fields.UUID(attribute="plan.id")
    name = ma.fields.String(attribute="plan.name")
    active = ma.fields.Boolean(attribute="plan.active")
    created_at = ma.fields.DateTime(attribute="plan.created_at")
    rules = ma.fields.List(ma.fields.Nested(RuleOut))


class PromoterLevelIn(Schema):
    name = ma.fields.String(required=True, validate=ma.validate.Length(1, 100))
    rank = ma.fields.Integer(required=True, strict=True, validate=ma.validate.Range(0, 1000))
    l1_rate_bp = ma.fields.Integer(required=True, strict=True, validate=BASIS_POINTS)
    l2_rate_bp = ma.fields.Integer(load_default=0, strict=True, validate=BASIS_POINTS)
    spend_threshold_minor = Money(load_default=0, validate=ma.validate.Range(0))


class PromoterLevelOut(PromoterLevelIn):
    id = ma.fields.UUID()


class EntryQuery(PageQuery):
    beneficiary_org_id = ma.fields.UUID(load_default=None)
    status = ma.fields.Enum(EntryStatus, load_default=None)
    kind = ma.fields.Enum(EntryKind, load_default=None)
    order_id = ma.fields.UUID(load_default=None)


class TotalsQuery(Schema):
    beneficiary_org_id = ma.fields.UUID(load_default=None)


class CommissionEntryOut(Schema):
    id = ma.fields.UUID()
    kind = ma.fields.Enum(EntryKind)
    role = ma.fields.Enum(EntryRole)
    beneficiary_kind = ma.fields.Enum(BeneficiaryKind)
    beneficiary_id = ma.fields.UUID()
    beneficiary_org_id = ma.fields.UUID()
    order_id = ma.fields.UUID(allow_none=True)
    order_line_id = ma.fields.UUID(allow_none=True)
    refund_id = ma.fields.UUID(allow_none=True)
    base_minor = Money()
    amount_minor = Money(metadata={"description": "Signed: negative reverses or charges"})
    currency = ma.fields.String()
    status = ma.fields.Enum(EntryStatus)
    available_at = ma.fields.DateTime(allow_none=True)
    statement_id = ma.fields.UUID(allow_none=True)
    created_at = ma.fields.DateTime()
