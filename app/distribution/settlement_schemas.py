"""Request and response bodies of the statement, settlement-run and withdrawal endpoints."""

import marshmallow as ma

from app.distribution.settlement_models import PayoutMethod, PayoutStatus, StatementKind, StatementStatus
from app.paging import PageQuery
from app.schemas import Money, Schema


class DistributionStatementQuery(PageQuery):
    status = ma.fields.Enum(StatementStatus, load_default=None)


class DistributionPayoutSchema(Schema):
    id = ma.fields.UUID()
    attempt = ma.fields.Integer()
    method = ma.fields.Enum(PayoutMethod)
    status = ma.fields.Enum(PayoutStatus)
    amount_minor = Money()
    currency = ma.fields.String()
    gateway_ref = ma.fields.String(allow_none=True)
    bank_reference = ma.fields.String(allow_none=True)
    sent_at = ma.fields.DateTime(allow_none=True)
    created_at = ma.fields.DateTime()


class DistributionStatementSchema(Schema):
    id = ma.fields.UUID()
    kind = ma.fields.Enum(StatementKind)
    run_key = ma.fields.String(metadata={"example": "weekly:2026-11-23"})
    beneficiary_kind = ma.fields.String(metadata={"example": "org"})
    beneficiary_id = ma.fields.UUID()
    beneficiary_org_id = ma.fields.UUID(allow_none=True)
    currency = ma.fields.String()
    period_start = ma.fields.DateTime()
    period_end = ma.fields.DateTime()
    status = ma.fields.Enum(StatementStatus)
    entry_count = ma.fields.Integer()
    takings_minor = Money(metadata={"description": "Store takings (分账), refunds netted"})
    commission_minor = Money(metadata={"description": "Commissions, reversals netted"})
    fee_minor = Money(metadata={"description": "Fees borne (negative)"})
    other_minor = Money(metadata={"description": "Adjustments, borne commissions, carried balances"})
    gross_minor = Money()
    withholding_minor = Money(metadata={"description": "Tax withheld (individuals only)"})
    net_minor = Money(metadata={"description": "What is paid"})
    approved_at = ma.fields.DateTime(allow_none=True)
    paid_at = ma.fields.DateTime(allow_none=True)
    created_at = ma.fields.DateTime()


class DistributionStatementDetailSchema(DistributionStatementSchema):
    payouts = ma.fields.List(ma.fields.Nested(DistributionPayoutSchema))


class OfflinePayoutSchema(Schema):
    bank_reference = ma.fields.String(required=True, validate=ma.validate.Length(1, 255))


class SettlementRunSchema(Schema):
    run_key = ma.fields.String()
    statements = ma.fields.Integer()
    entries = ma.fields.Integer()
    carried = ma.fields.Integer()
