"""Consumers as the network sees them: rows at masked/full fidelity, counts at aggregate."""

import uuid

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.paging import CursorKey, Page, paginate
from app.tenancy.elevation import Why, elevated
from app.tenancy.enums import Dataset, Fidelity
from app.tenancy.filters import get_visible, scoped, visible
from app.tenancy.masking import present
from app.tenancy.models import Consumer
from app.tenancy.scope import Scope

PERSONAL_FIELDS = ("name", "phone")


def as_seen(consumer: Consumer, scope: Scope) -> dict:
    row = {column: getattr(consumer, column) for column in (
        "id", "name", "phone", "home_store_id", "guide_id", "referrer_id", "created_at")}
    fidelity = (Fidelity.full if scope.consumer_id == consumer.id
                else scope.fidelity(Dataset.consumers, consumer.owner_path))
    return present(row, fidelity, PERSONAL_FIELDS)


def list_consumers(session: Session, scope: Scope, *, limit: int,
                   cursor: CursorKey | None = None) -> Page[dict]:
    """Consumers I see row by row, newest first."""
    page = paginate(session, scoped(Consumer, scope), Consumer, limit=limit, cursor=cursor)
    return page.map(lambda row: as_seen(row, scope))


def get_consumer(session: Session, scope: Scope, consumer_id: uuid.UUID) -> dict:
    return as_seen(get_visible(session, Consumer, scope, consumer_id), scope)


def consumer_counts(session: Session, scope: Scope) -> list[dict]:
    """Members per home store, for every store the scope sees at aggregate or better.

    The database lets `aggregate` rows through only inside this totals query."""
    with elevated(session, Why.count_totals, scope=scope.for_totals()):
        rows = session.execute(
            select(Consumer.home_store_id, func.count())
            .where(visible(Consumer, scope, at_least=Fidelity.aggregate))
            .group_by(Consumer.home_store_id).order_by(Consumer.home_store_id)).all()
    return [{"home_store_id": store_id, "consumers": count} for store_id, count in rows]
