"""Request and response bodies of the finance (journal) endpoints."""

import marshmallow as ma

from app.finance.models import AccountCode, AccountKind
from app.paging import PageQuery
from app.schemas import Money, Schema


class AccountQuery(Schema):
    org_id = ma.fields.UUID(load_default=None)
    code = ma.fields.Enum(AccountCode, load_default=None)


class AccountBalanceSchema(Schema):
    id = ma.fields.UUID(attribute="account.id")
    org_id = ma.fields.UUID(attribute="account.org_id")
    code = ma.fields.Enum(AccountCode, attribute="account.code")
    kind = ma.fields.Enum(AccountKind, attribute="account.kind")
    counterparty_org_id = ma.fields.UUID(attribute="account.counterparty_org_id", allow_none=True)
    currency = ma.fields.String(attribute="account.currency")
    debit_minus_credit = Money()
    balance = Money(metadata={"description": "In the account's normal direction"})


class EntryQuery(PageQuery):
    kind = ma.fields.String(load_default=None, metadata={"example": "order_payment"})


class LineSchema(Schema):
    account_id = ma.fields.UUID()
    amount_minor = Money(metadata={"description": "Debit > 0, credit < 0"})


class EntrySchema(Schema):
    id = ma.fields.UUID(attribute="entry.id")
    kind = ma.fields.String(attribute="entry.kind")
    memo = ma.fields.String(attribute="entry.memo", allow_none=True)
    currency = ma.fields.String(attribute="entry.currency")
    reverses_entry_id = ma.fields.UUID(attribute="entry.reverses_entry_id", allow_none=True)
    details = ma.fields.Dict(attribute="entry.details")
    created_at = ma.fields.DateTime(attribute="entry.created_at")
    lines = ma.fields.List(ma.fields.Nested(LineSchema),
                           metadata={"description": "The lines on accounts I see"})
