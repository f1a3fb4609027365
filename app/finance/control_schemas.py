"""Request and response bodies of finance's controls: periods, corrections, reconciliation, queues."""

import marshmallow as ma

from app.finance.control_models import DifferenceKind, RunStatus
from app.finance.queues import QUEUES
from app.paging import PageQuery
from app.payments.models import DisputeStatus
from app.schemas import Money, Schema


class PeriodSchema(Schema):
    period = ma.fields.String(metadata={"example": "2026-11"})
    starts_at = ma.fields.DateTime()
    ends_at = ma.fields.DateTime(metadata={"description": "Exclusive: the next month's first instant"})
    closed_at = ma.fields.DateTime(attribute="created_at")
    closed_by_id = ma.fields.UUID(allow_none=True)


class CorrectionSchema(Schema):
    memo = ma.fields.String(load_default=None, validate=ma.validate.Length(1, 500))


class PostedEntrySchema(Schema):
    id = ma.fields.UUID()
    kind = ma.fields.String(metadata={"example": "reversal"})
    memo = ma.fields.String(allow_none=True)
    currency = ma.fields.String()
    reverses_entry_id = ma.fields.UUID(allow_none=True)
    created_at = ma.fields.DateTime(metadata={"description": "Its date: now, in the open period"})


class RunRequestSchema(Schema):
    since = ma.fields.AwareDateTime(load_default=None, metadata={
        "description": "Payouts created at or after this moment (default: 31 days ago)"})


class RunSchema(Schema):
    id = ma.fields.UUID()
    status = ma.fields.Enum(RunStatus)
    since = ma.fields.DateTime()
    created_at = ma.fields.DateTime()
    finished_at = ma.fields.DateTime(allow_none=True)
    transactions = ma.fields.Integer(metadata={"description": "Balance transactions read"})
    matched = ma.fields.Integer()
    differences = ma.fields.Integer()
    summary = ma.fields.Dict(metadata={"description": "counts per category; fees_by_store: org id → fees"})
    error = ma.fields.String(allow_none=True)


class DifferenceQuery(PageQuery):
    kind = ma.fields.Enum(DifferenceKind, load_default=None)


class DifferenceSchema(Schema):
    id = ma.fields.UUID()
    kind = ma.fields.Enum(DifferenceKind)
    category = ma.fields.String(metadata={"example": "charge", "description": "The reporting_category"})
    gateway_ref = ma.fields.String(allow_none=True, metadata={"example": "ch_3Nq..."})
    balance_transaction = ma.fields.String(allow_none=True)
    payout_ref = ma.fields.String(allow_none=True)
    order_id = ma.fields.UUID(allow_none=True)
    org_id = ma.fields.UUID(allow_none=True, metadata={"description": "The store the money belongs to"})
    gateway_amount_minor = Money(allow_none=True)
    gateway_currency = ma.fields.String(allow_none=True)
    books_amount_minor = Money(allow_none=True)
    books_currency = ma.fields.String(allow_none=True)
    note = ma.fields.String(allow_none=True)


class QueueCountSchema(Schema):
    queue = ma.fields.String(validate=ma.validate.OneOf(QUEUES), metadata={"example": "failed_refunds"})
    count = ma.fields.Integer(allow_none=True, metadata={"description": "null: not a queue of yours"})
    more = ma.fields.Boolean(metadata={"description": "More than the count shown wait"})


class DisputeSchema(Schema):
    id = ma.fields.UUID()
    payment_id = ma.fields.UUID()
    order_id = ma.fields.UUID()
    gateway_ref = ma.fields.String()
    amount_minor = Money()
    currency = ma.fields.String()
    status = ma.fields.Enum(DisputeStatus)
    reason = ma.fields.String(allow_none=True)
    created_at = ma.fields.DateTime()
