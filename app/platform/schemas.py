"""Request and response bodies of the platform endpoints (dead letters)."""

import marshmallow as ma

from app.paging import PageQuery
from app.schemas import Schema


class DeadLetterQuery(PageQuery):
    """`limit` and `cursor` (app/paging.py); the former `after=<id>` is refused with 422."""


class DeadLetterSchema(Schema):
    id = ma.fields.UUID(required=True)
    type = ma.fields.String(required=True, metadata={"example": "order.paid"})
    subject_id = ma.fields.UUID(allow_none=True, metadata={
        "description": "The order, refund, org... it is about"})
    attempts = ma.fields.Integer(required=True, metadata={
        "description": "Failed attempts since the last retry"})
    last_error = ma.fields.String(allow_none=True, metadata={
        "description": "The handler's last error: type and first line",
        "example": "ValueError: ledger closed"})
    created_at = ma.fields.DateTime(required=True)
    dead_at = ma.fields.DateTime(allow_none=True, metadata={
        "description": "When it failed its last attempt; null once retried"})
    relayed_at = ma.fields.DateTime(allow_none=True)
