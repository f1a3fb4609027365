"""Request and response bodies of the payments and webhook endpoints."""

import marshmallow as ma

from app.paging import PageQuery
from app.payments.credit import BUCKETS
from app.payments.models import (
    CreditEntryKind,
    PaymentStatus,
    ReceiptReason,
    RefundChannel,
    RefundExecutionStatus,
    RefundReason,
)
from app.schemas import Money, Schema


class PaymentSchema(Schema):
    id = ma.fields.UUID()
    order_id = ma.fields.UUID()
    gateway = ma.fields.String(metadata={"example": "stripe"})
    gateway_ref = ma.fields.String(metadata={"example": "pi_3Pq..."})
    status = ma.fields.Enum(PaymentStatus)
    amount_minor = Money()
    received_minor = Money()
    refunded_minor = Money()
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
    limit_minor = Money(required=True, validate=ma.validate.Range(0, 10**14),
                                    metadata={"example": 5_000_000})


class CreditAccountSchema(Schema):
    id = ma.fields.UUID()
    seller_org_id = ma.fields.UUID()
    buyer_org_id = ma.fields.UUID()
    currency = ma.fields.String()
    limit_minor = Money()
    used_minor = Money()
    deposit_minor = Money(metadata={"description": "The buyer's money the seller holds (a refund beyond "
                                                   "the debt); the next order on account uses it first"})
    available_minor = ma.fields.Function(lambda account: account.limit_minor - account.used_minor)


class RepaymentSchema(Schema):
    amount_minor = Money(required=True, validate=ma.validate.Range(1, 10**14))
    reference = ma.fields.String(required=True, validate=ma.validate.Length(1, 200))


class CreditEntrySchema(Schema):
    id = ma.fields.UUID()
    account_id = ma.fields.UUID()
    kind = ma.fields.Enum(CreditEntryKind)
    order_id = ma.fields.UUID(allow_none=True)
    amount_minor = Money()
    outstanding_minor = Money()
    reference = ma.fields.String(allow_none=True)
    created_at = ma.fields.DateTime()


class AgedBalanceSchema(Schema):
    account = ma.fields.Nested(CreditAccountSchema)
    buckets = ma.fields.Dict(keys=ma.fields.String(validate=ma.validate.OneOf(BUCKETS)),
                             values=Money(), metadata={"example": dict.fromkeys(BUCKETS, 0)})
    total_minor = Money()


class WebhookAckSchema(Schema):
    received = ma.fields.Boolean()
    duplicate = ma.fields.Boolean()


class ReceiptSchema(Schema):
    id = ma.fields.UUID()
    payment_id = ma.fields.UUID()
    order_id = ma.fields.UUID(metadata={"description": "The order the money was meant for"})
    reason = ma.fields.Enum(ReceiptReason)
    method = ma.fields.String(metadata={"example": "offline", "description": "stripe | offline"})
    amount_minor = Money()
    applied_minor = Money()
    returned_minor = Money()
    open_minor = Money(metadata={"description": "Still waiting for finance: apply or return"})
    currency = ma.fields.String()
    applied_order_id = ma.fields.UUID(allow_none=True)
    return_reference = ma.fields.String(allow_none=True)
    created_at = ma.fields.DateTime()


class ReceiptQuery(PageQuery):
    open_only = ma.fields.Boolean(load_default=True)


class ApplyReceiptSchema(Schema):
    order_id = ma.fields.UUID(required=True, metadata={"description": "A pending order of the same buyer"})


class ReturnReceiptSchema(Schema):
    reference = ma.fields.String(load_default=None, validate=ma.validate.Length(1, 200),
                                 metadata={"description": "The bank reference (required for bank money)"})


class PaymentRefundSchema(Schema):
    """One attempt to give money back (see docs/payments.md for the states and who moves them)."""

    id = ma.fields.UUID()
    payment_id = ma.fields.UUID()
    order_id = ma.fields.UUID()
    refund_id = ma.fields.UUID(allow_none=True, metadata={"description": "The after-sales refund, if any"})
    reason = ma.fields.Enum(RefundReason)
    channel = ma.fields.Enum(RefundChannel)
    status = ma.fields.Enum(RefundExecutionStatus)
    amount_minor = Money()
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
