"""Period close: a closed month of the tenant's books refuses every posting dated in it.

Two walls, like everything else: `ensure_open` in `journal.post_entry` (both databases) and the
trigger of migration 0015 on PostgreSQL, which refuses the insert whoever makes it. Months are
UTC calendar months; only a month that has ended can be closed, and closing is final (a
correction is a reversing entry, which posts now, in the open period).
"""

import re
import uuid
from datetime import UTC, datetime

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from app.db import insert_or_ignore, utcnow, uuid7
from app.finance.control_models import AccountingPeriod
from app.finance.errors import BrandFinanceOnly, InvalidPeriod, PeriodClosed, PeriodNotOver
from app.paging import CursorKey, Page, paginate
from app.tenancy.elevation import Why, elevated
from app.tenancy.filters import scoped
from app.tenancy.orgs import brand_root
from app.tenancy.permissions import Action, require
from app.tenancy.scope import Scope, system_scope

PERIOD = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")


# --- pure rules ----------------------------------------------------------------------------------

def period_of(moment: datetime) -> str:
    """The UTC month a moment falls in, as YYYY-MM."""
    return moment.astimezone(UTC).strftime("%Y-%m")


def period_bounds(period: str) -> tuple[datetime, datetime]:
    """[first instant, first instant of the next month) of a YYYY-MM period, in UTC."""
    match = PERIOD.match(period or "")
    if match is None:
        raise InvalidPeriod("A period is a month written YYYY-MM, e.g. 2026-11.")
    year, month = int(match[1]), int(match[2])
    start = datetime(year, month, 1, tzinfo=UTC)
    end = datetime(year + month // 12, month % 12 + 1, 1, tzinfo=UTC)
    return start, end


# --- the application wall -------------------------------------------------------------------------

def ensure_open(session: Session, tenant_id: uuid.UUID, moment: datetime) -> None:
    """Refuse (409 period_closed) a posting dated in a closed period; the caller is elevated."""
    closed = session.scalar(select(AccountingPeriod.id).where(
        AccountingPeriod.tenant_id == tenant_id, AccountingPeriod.period == period_of(moment)))
    if closed is not None:
        raise PeriodClosed(f"The period {period_of(moment)} is closed; post the correction in an open one.")


# --- use cases --------------------------------------------------------------------------------

def require_brand_finance(session: Session, scope: Scope, action: Action) -> None:
    """The tenant's books are the brand's: its owners, admins and finance staff."""
    require(scope, action)
    with elevated(session, Why.finance_controls, scope=system_scope(scope.tenant_id)):
        root_path = brand_root(session, scope.tenant_id).path
    if scope.org_path != root_path:
        raise BrandFinanceOnly("Periods and corrections of the books are the brand's finance.")


def close_period(session: Session, scope: Scope, *, period: str) -> AccountingPeriod:
    """Close a month that has ended (once; closing it again answers the first close)."""
    require_brand_finance(session, scope, Action.close_periods)
    starts_at, ends_at = period_bounds(period)
    if ends_at > utcnow():
        raise PeriodNotOver(f"{period} has not ended yet; only a past month is closed.")
    with elevated(session, Why.finance_controls, scope=system_scope(scope.tenant_id)):
        if session.get_bind().dialect.name == "postgresql":
            # Waits for postings in flight into this month (they hold the shared lock, 0015).
            session.execute(text("SELECT pg_advisory_xact_lock(public.tm_period_lock_key(:t, :p))"),
                            {"t": scope.tenant_id, "p": period})
        root = brand_root(session, scope.tenant_id)
        close = insert_or_ignore(session, AccountingPeriod, conflict_on=["tenant_id", "period"])
        session.execute(close.values(
            tenant_id=scope.tenant_id, id=uuid7(), owner_path=root.path, created_at=utcnow(), period=period,
            starts_at=starts_at, ends_at=ends_at, closed_by_id=scope.actor_id))
        row = session.scalars(select(AccountingPeriod).where(
            AccountingPeriod.tenant_id == scope.tenant_id, AccountingPeriod.period == period)).one()
    return row


def list_periods(session: Session, scope: Scope, *, limit: int = 24,
                 cursor: CursorKey | None = None) -> Page[AccountingPeriod]:
    """Closed periods of my tenant, latest closed first (months close in order in practice), a page."""
    require(scope, Action.view_finance)
    return paginate(session, scoped(AccountingPeriod, scope), AccountingPeriod, limit=limit, cursor=cursor)


def correct_entry(session: Session, scope: Scope, *, entry_id: uuid.UUID, memo: str | None = None):
    """Reverse a posted entry, dated now (in the open period); once per entry."""
    from app.finance.journal import reverse_entry  # noqa: PLC0415  (journal calls ensure_open)

    require_brand_finance(session, scope, Action.correct_entries)
    return reverse_entry(session, tenant_id=scope.tenant_id, entry_id=entry_id, memo=memo)
