"""Request and response bodies of the finance (journal) endpoints."""

import marshmallow as ma

from app.finance.models import AccountCode, AccountKind
from app.paging import PageQuery
from app.schemas import Money, Schema


class AccountQuery(Schema):
    org_id = ma.fields.UUID(load_default=None)
    code = ma.fields.Enum(AccountCode, load_default=None)
    as_of = ma.fields.AwareDateTime(load_default=None, metadata={
        "description": "Balances of the entries posted before this moment"})


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
    start = ma.fields.AwareDateTime(load_default=None, data_key="from",
                                    metadata={"description": "Posted at or after"})
    end = ma.fields.AwareDateTime(load_default=None, data_key="to", metadata={"description": "Posted before"})
    org_id = ma.fields.UUID(load_default=None, metadata={"description": "With a line on this org's accounts"})
    order_id = ma.fields.UUID(load_default=None, metadata={"description": "About this order"})
    account_id = ma.fields.UUID(load_default=None, metadata={"description": "With a line on this account"})


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


class TrialBalanceQuery(Schema):
    org_id = ma.fields.UUID(load_default=None, metadata={"description": "Only this org's own accounts"})
    as_of = ma.fields.AwareDateTime(load_default=None, metadata={"description": "Default: now"})


class TrialBalanceAccountSchema(Schema):
    account_id = ma.fields.UUID()
    org_id = ma.fields.UUID()
    account_code = ma.fields.Enum(AccountCode)
    account_kind = ma.fields.Enum(AccountKind)
    counterparty_org_id = ma.fields.UUID(allow_none=True)
    currency = ma.fields.String()
    debit_minor = Money(metadata={"description": "All debits up to as_of"})
    credit_minor = Money(metadata={"description": "All credits up to as_of"})
    closing_minor = Money(metadata={"description": "Debit minus credit"})
    balance_minor = Money(metadata={"description": "In the account's normal direction"})


class TrialBalanceTotalSchema(Schema):
    currency = ma.fields.String()
    debit_minor = Money()
    credit_minor = Money()
    difference_minor = Money(metadata={"description": (
        "0 for the whole tenant; for one org, what its entries booked on accounts held elsewhere "
        "(the tenant's gateway clearing at the brand)")})


class TrialBalanceSchema(Schema):
    org_id = ma.fields.UUID(allow_none=True)
    as_of = ma.fields.DateTime()
    accounts = ma.fields.List(ma.fields.Nested(TrialBalanceAccountSchema))
    totals = ma.fields.List(ma.fields.Nested(TrialBalanceTotalSchema))


class StatementQuery(Schema):
    start = ma.fields.AwareDateTime(required=True, data_key="from")
    end = ma.fields.AwareDateTime(required=True, data_key="to")
    counterparty_org_id = ma.fields.UUID(load_default=None, metadata={"description": "One supplier only"})


class SupplierStatementSchema(Schema):
    supplier_org_id = ma.fields.UUID()
    currency = ma.fields.String()
    opening_minor = Money(metadata={"description": "Owed to the supplier at the period's start"})
    purchases_minor = Money(metadata={"description": "Orders bought (paid or on credit)"})
    returns_minor = Money(metadata={"description": "Refunded purchases"})
    paid_at_order_minor = Money(metadata={"description": "Paid at once (card, transfer)"})
    repayments_minor = Money(metadata={"description": "Credit repaid"})
    refunds_received_minor = Money(metadata={"description": "Refund money received back"})
    other_minor = Money(metadata={"description": "Other postings on the payable (corrections)"})
    commissions_minor = Money(allow_none=True, metadata={
        "description": "Commissions set against the debt: null until distribution posts them"})
    closing_minor = Money(metadata={"description": "Net owed at the period's end"})
    credit_limit_minor = Money(allow_none=True)
    credit_used_minor = Money(allow_none=True)


class StatementSchema(Schema):
    org_id = ma.fields.UUID()
    start = ma.fields.DateTime(data_key="from")
    end = ma.fields.DateTime(data_key="to")
    suppliers = ma.fields.List(ma.fields.Nested(SupplierStatementSchema))
