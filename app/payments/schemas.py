"""Request and response bodies of the payments and webhook endpoints."""

import marshmallow as ma

from app.payments.credit import BUCKETS
from app.payments.models import (
    CreditEntryKind,
    PaymentStatus,
    RefundChannel,
    RefundExecutionStatus,
    RefundReason,
)
from app.schemas import PageQuery, Schema


class PaymentSchema(Schema):
    id = ma.fields.UUID()
    order_id = ma.fields.UUID()
    gateway = ma.fields.String(metadata={"example": "stripe"})
    gateway_ref = ma.fields.String(metadata={"example": "pi_3Pq..."})
    status = ma.fields.Enum(PaymentStatus)
    amount_minor = ma.fields.Integer()
    received_minor = ma.fields.Integer()
    refunded_minor = ma.fields.Integer()
    currency = ma.fields.String(metadata={"example": "CNY"})
    client_secret = ma.fields.String(allow_none=True,
                                     metadata={"description": "For Stripe.js / the mini-program to confirm"})
    reference = ma.fields.String(allow_none=True)
    created_at = ma.fields.DateTime()


class OfflineConfirmationSchema(Schema):
    reference = ma.fields.String(required=True, validate=ma.validate.Length(1, 200),
                                 metadata={"example": "ICBC 2026-11-23 #88231"})


class CreditLimitSchema(Schema):
    buyer_org_id = ma.fields.UUID(required=True)
    limit_minor = ma.fields.Integer(required=True, validate=ma.validate.Range(0, 10**14),
                                    metadata={"example": 5_000_000})


class CreditAccountSchema(Schema):
    id = ma.fields.UUID()
    seller_org_id = ma.fields.UUID()
    buyer_org_id = ma.fields.UUID()
    currency = ma.fields.String()
    limit_minor = ma.fields.Integer()
    used_minor = ma.fields.Integer()
    available_minor = ma.fields.Function(lambda account: account.limit_minor - account.used_minor)


class RepaymentSchema(Schema):
    amount_minor = ma.fields.Integer(required=True, validate=ma.validate.Range(1, 10**14))
    reference = ma.fields.String(required=True, validate=ma.validate.Length(1, 200))


class CreditEntrySchema(Schema):
    id = ma.fields.UUID()
    account_id = ma.fields.UUID()
    kind = ma.fields.Enum(CreditEntryKind)
    order_id = ma.fields.UUID(allow_none=True)
    amount_minor = ma.fields.Integer()
    outstanding_minor = ma.fields.Integer()
    reference = ma.fields.String(allow_none=True)
    created_at = ma.fields.DateTime()


class AgedBalanceSchema(Schema):
    account = ma.fields.Nested(CreditAccountSchema)
    buckets = ma.fields.Dict(keys=ma.fields.String(validate=ma.validate.OneOf(BUCKETS)),
                             values=ma.fields.Integer(), metadata={"example": dict.fromkeys(BUCKETS, 0)})
    total_minor = ma.fields.Integer()


class WebhookAckSchema(Schema):
    received = ma.fields.Boolean()
    duplicate = ma.fields.Boolean()


class PaymentRefundSchema(Schema):
    """One attempt to give money back (see docs/payments.md for the states and who moves them)."""

    id = ma.fields.UUID()
    payment_id = ma.fields.UUID()
    order_id = ma.fields.UUID()
    refund_id = ma.fields.UUID(allow_none=True, metadata={"description": "The after-sales refund, if any"})
    reason = ma.fields.Enum(RefundReason)
    channel = ma.fields.Enum(RefundChannel)
    status = ma.fields.Enum(RefundExecutionStatus)
    amount_minor = ma.fields.Integer()
    currency = ma.fields.String(metadata={"example": "CNY"})
    gateway_ref = ma.fields.String(allow_none=True)
    reference = ma.fields.String(allow_none=True, metadata={"description": "Bank reference (offline)"})
    attempts = ma.fields.Integer(metadata={"description": "Gateway calls that got no answer"})
    last_error = ma.fields.String(allow_none=True)
    created_at = ma.fields.DateTime()
    executed_at = ma.fields.DateTime(allow_none=True)


class RefundAttemptQuery(PageQuery):
    status = ma.fields.String(load_default="needs_action", validate=ma.validate.OneOf(
        ["needs_action", *[s.value for s in RefundExecutionStatus]]), metadata={
        "description": "needs_action: failed (not yet retried) or offline and unconfirmed"})
    channel = ma.fields.Enum(RefundChannel, load_default=None)


class RefundConfirmationSchema(Schema):
    reference = ma.fields.String(required=True, validate=ma.validate.Length(1, 200),
                                 metadata={"example": "ICBC 2026-12-01 #99120"})


class RefundRetrySchema(Schema):
    channel = ma.fields.Enum(RefundChannel, load_default=RefundChannel.gateway, validate=ma.validate.OneOf(
        [RefundChannel.gateway, RefundChannel.offline]))
