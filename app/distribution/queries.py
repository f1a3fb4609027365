"""Reads: a promoter's own numbers, team and orders; the portal's entries and totals.

Rows come back raw: the response schemas mask personal data (`app/tenancy/masking.py`).

Everything goes through `filters.scoped` (and RLS underneath): a distributor sees its subtree's
entries at its `commissions` fidelity — rows from `masked` up, totals only at `aggregate`.
Lists page by cursor (app/paging.py), newest first.
"""

import uuid
from datetime import datetime, time

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from app.db import utcnow
from app.distribution.errors import NotAPromoter
from app.distribution.models import (
    BeneficiaryKind,
    Binding,
    DistributionEntry,
    EntryKind,
    EntryStatus,
    Promoter,
)
from app.distribution.promoters import my_promoter
from app.paging import CursorKey, Page, paginate
from app.tenancy.elevation import Why, elevated
from app.tenancy.enums import Dataset, Fidelity
from app.tenancy.filters import scoped, visible
from app.tenancy.models import Consumer
from app.tenancy.scope import Scope, system_scope

E = DistributionEntry


def _start_of_today(now: datetime) -> datetime:
    return datetime.combine(now.date(), time.min, tzinfo=now.tzinfo)


def _totals(session: Session, where, now: datetime) -> dict[str, int]:
    """today (earned since midnight UTC), pending (frozen), available, settled, paid: sums of amounts."""
    def status_sum(status: EntryStatus):
        return func.coalesce(func.sum(case((E.status == status, E.amount_minor), else_=0)), 0)

    row = session.execute(select(
        func.coalesce(func.sum(case((E.created_at >= _start_of_today(now), E.amount_minor), else_=0)), 0),
        status_sum(EntryStatus.frozen), status_sum(EntryStatus.available),
        status_sum(EntryStatus.settled), status_sum(EntryStatus.paid), func.count())
        .where(where, E.kind == EntryKind.commission)).one()
    return dict(zip(("today_minor", "pending_minor", "available_minor", "settled_minor", "paid_minor",
                     "entries"), (int(value) for value in row), strict=True))


def my_summary(session: Session, scope: Scope) -> dict:
    """The mini-program's promoter page: who I am and today / pending / available / settled / paid."""
    promoter = my_promoter(session, scope)
    if promoter is None:
        raise NotAPromoter("You are not a promoter yet.")
    mine = (E.tenant_id == scope.tenant_id) & (E.beneficiary_consumer_id == scope.consumer_id)
    return {"promoter": promoter, **_totals(session, mine, utcnow())}


def my_team(session: Session, scope: Scope, *, limit: int = 50,
            cursor: CursorKey | None = None) -> Page[dict]:
    """The customers bound to me now, newest binding first, a page (raw; `TeamMemberOut` masks
    their names: other people's data)."""
    promoter = my_promoter(session, scope)
    if promoter is None:
        raise NotAPromoter("You are not a promoter yet.")
    with elevated(session, Why.join_distribution, scope=system_scope(scope.tenant_id)):
        on_consumer = (Consumer.tenant_id == Binding.tenant_id) & (Consumer.id == Binding.consumer_id)
        page = paginate(session, select(Binding, Consumer.name)
                        .join(Consumer, on_consumer)
                        .where(Binding.tenant_id == scope.tenant_id, Binding.promoter_id == promoter.id,
                               Binding.ended_reason.is_(None)), Binding, limit=limit, cursor=cursor)
    return page.map(lambda row: {"name": row[1], "bound_at": row[0].valid_from, "source": row[0].source})


# An order's commission is as far along as its least advanced entry (a partly refunded order still
# waits for the rest); "reversed" only when every entry is. It was max(status) as text, and an order
# with a frozen entry and a reversed one showed "reversed".
_STAGES = (EntryStatus.frozen, EntryStatus.available, EntryStatus.settled, EntryStatus.paid,
           EntryStatus.reversed)
_STAGE = case({status.value: rank for rank, status in enumerate(_STAGES)}, value=E.status)


def my_orders(session: Session, scope: Scope, *, limit: int = 50,
              cursor: CursorKey | None = None) -> Page[dict]:
    """My commission per order (net of refunds), newest first by the order's first entry, a page;
    the order number only, no buyer data."""
    if my_promoter(session, scope) is None:
        raise NotAPromoter("You are not a promoter yet.")
    per_order = (
        select(E.order_id.label("id"), func.min(E.created_at).label("created_at"),
               func.sum(E.amount_minor).label("amount"), E.currency, func.min(_STAGE).label("stage"))
        .where(visible(E, scope), E.beneficiary_consumer_id == scope.consumer_id,
               # the same rows by the (tenant_id, beneficiary_kind, beneficiary_id) index
               E.beneficiary_kind == BeneficiaryKind.consumer, E.beneficiary_id == scope.consumer_id,
               E.kind == EntryKind.commission, E.order_id.is_not(None))
        .group_by(E.order_id, E.currency).subquery())
    page = paginate(session, select(per_order), per_order.c, limit=limit, cursor=cursor, key=lambda row: row)
    return page.map(lambda row: {"order_ref": str(row.id)[-8:], "earned_at": row.created_at,
                                 "amount_minor": int(row.amount), "currency": row.currency,
                                 "status": _STAGES[row.stage]})


def list_entries(session: Session, scope: Scope, *, beneficiary_org_id: uuid.UUID | None = None,
                 status: EntryStatus | None = None, kind: EntryKind | None = None,
                 order_id: uuid.UUID | None = None, limit: int = 50,
                 cursor: CursorKey | None = None) -> Page[DistributionEntry]:
    """Entries my scope sees as rows (commissions fidelity masked or better), newest first, a page."""
    statement = scoped(E, scope)
    for column, value in ((E.beneficiary_org_id, beneficiary_org_id), (E.status, status), (E.kind, kind),
                          (E.order_id, order_id)):
        if value is not None:
            statement = statement.where(column == value)
    return paginate(session, statement, E, limit=limit, cursor=cursor)


def entry_totals(session: Session, scope: Scope, *, beneficiary_org_id: uuid.UUID | None = None) -> dict:
    """Totals over every entry my scope sees at `aggregate` or better (a distributor's default).

    The database lets `aggregate` rows through only inside this totals query (as for consumers)."""
    where = visible(E, scope, at_least=Fidelity.aggregate)
    if beneficiary_org_id is not None:
        where = where & (E.beneficiary_org_id == beneficiary_org_id)
    with elevated(session, Why.count_totals, scope=scope.for_totals()):
        totals = _totals(session, where, utcnow())
    return {**totals, "fidelity": scope.view(Dataset.commissions).max_fidelity()}


def list_promoters(session: Session, scope: Scope, *, status=None, limit: int = 50,
                   cursor: CursorKey | None = None) -> Page[dict]:
    """Promoters in my subtree, newest first, a page, with the consumer's name (raw;
    `PromoterRowOut` masks it below `full` consumers fidelity)."""
    statement = scoped(Promoter, scope)
    if status is not None:
        statement = statement.where(Promoter.status == status)
    page = paginate(session, statement, Promoter, limit=limit, cursor=cursor)
    promoters = page.items
    ids = [p.consumer_id for p in promoters if p.consumer_id]
    names = dict(session.execute(select(Consumer.id, Consumer.name).where(  # a Result has keys(): .all()
        visible(Consumer, scope), Consumer.id.in_(ids))).all()) if ids else {}
    return page.map(lambda promoter: {"promoter": promoter, "name": names.get(promoter.consumer_id)})

