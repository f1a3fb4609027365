"""The filters of GET /finance/entries: period, org, order and account (each one optional)."""

import uuid
from datetime import datetime

from sqlalchemy import Select, exists, select

from app.finance.models import JournalEntry, JournalLine, LedgerAccount


def filter_entries(statement: Select, *, start: datetime | None = None, end: datetime | None = None,
                   org_id: uuid.UUID | None = None, order_id: uuid.UUID | None = None,
                   account_id: uuid.UUID | None = None) -> Select:
    """Entries posted in [start, end), about one order, or with a line on one account or org."""
    if start is not None:
        statement = statement.where(JournalEntry.created_at >= start)
    if end is not None:
        statement = statement.where(JournalEntry.created_at < end)
    if order_id is not None:
        statement = statement.where(JournalEntry.details["order_id"].as_string() == str(order_id))
    on_entry = (JournalLine.tenant_id == JournalEntry.tenant_id, JournalLine.entry_id == JournalEntry.id)
    if account_id is not None:
        statement = statement.where(exists(select(JournalLine.id).where(
            *on_entry, JournalLine.account_id == account_id)))
    if org_id is not None:
        statement = statement.where(exists(select(JournalLine.id).join(
            LedgerAccount, (LedgerAccount.tenant_id == JournalLine.tenant_id)
            & (LedgerAccount.id == JournalLine.account_id)).where(*on_entry, LedgerAccount.org_id == org_id)))
    return statement
