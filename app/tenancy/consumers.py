"""Consumers as the network sees them: rows at masked/full fidelity, counts at aggregate."""

import uuid

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.paging import CursorKey, Page, paginate
from app.tenancy.elevation import Why, elevated
from app.tenancy.enums import Dataset, Fidelity
from app.tenancy.filters import get_visible, scoped, visible
from app.tenancy.models import Consumer
from app.tenancy.scope import Scope


def fidelity_of(scope: Scope, consumer: Consumer) -> Fidelity:
    """How much of a consumer row the scope sees (the response schema masks by it): the consumer
    themself in full, an org by its view of the consumer's home store."""
    if scope.consumer_id is not None and scope.consumer_id == consumer.id:
        return Fidelity.full
    return scope.fidelity(Dataset.consumers, consumer.owner_path)


def list_consumers(session: Session, scope: Scope, *, limit: int,
                   cursor: CursorKey | None = None) -> Page[Consumer]:
    """Consumers I see row by row, newest first (ConsumerSchema masks by fidelity)."""
    return paginate(session, scoped(Consumer, scope), Consumer, limit=limit, cursor=cursor)


def get_consumer(session: Session, scope: Scope, consumer_id: uuid.UUID) -> Consumer:
    return get_visible(session, Consumer, scope, consumer_id)


def consumer_counts(session: Session, scope: Scope) -> list[dict]:
    """Members per home store, for every store the scope sees at aggregate or better.

    The database lets `aggregate` rows through only inside this totals query."""
    with elevated(session, Why.count_totals, scope=scope.for_totals()):
        rows = session.execute(
            select(Consumer.home_store_id, func.count())
            .where(visible(Consumer, scope, at_least=Fidelity.aggregate))
            .group_by(Consumer.home_store_id).order_by(Consumer.home_store_id)).all()
    return [{"home_store_id": store_id, "consumers": count} for store_id, count in rows]
