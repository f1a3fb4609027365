"""How far the outbox relay is behind, across tenants: what /readyz and the fault drill report."""

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.db import utcnow
from app.platform.models import OutboxEvent
from app.tenancy.elevation import Why, enter_scope
from app.tenancy.scope import PLATFORM_SCOPE


@dataclass(frozen=True)
class OutboxLag:
    pending: int  # not relayed and not dead (including events waiting out a backoff)
    dead: int
    oldest_pending_age_seconds: float | None

    def problems(self, *, pending_limit: int, age_limit_seconds: float, dead_limit: int = 0) -> list[str]:
        """What is over its threshold, in words; empty when the relay keeps up."""
        found = []
        if self.pending > pending_limit:
            found.append(f"{self.pending} pending events (limit {pending_limit})")
        if (self.oldest_pending_age_seconds or 0) > age_limit_seconds:
            found.append(f"oldest pending event is {self.oldest_pending_age_seconds:.0f}s old"
                         f" (limit {age_limit_seconds:.0f}s)")
        if self.dead > dead_limit:
            found.append(f"{self.dead} dead-lettered events (limit {dead_limit})")
        return found


def outbox_lag(session: Session, *, now: datetime | None = None) -> OutboxLag:
    """Counts over every tenant, read in the platform scope (the partial indexes serve both)."""
    now = now or utcnow()
    enter_scope(session, Why.outbox_upkeep, scope=PLATFORM_SCOPE)
    pending, oldest = session.execute(
        select(func.count(), func.min(OutboxEvent.created_at))
        .where(OutboxEvent.relayed_at.is_(None), OutboxEvent.dead_at.is_(None))).one()
    dead = session.scalar(select(func.count()).where(OutboxEvent.dead_at.is_not(None)))
    if oldest is not None and oldest.tzinfo is None:  # SQLite hands timestamps back naive (UTC)
        oldest = oldest.replace(tzinfo=now.tzinfo)
    age = max((now - oldest).total_seconds(), 0.0) if oldest is not None else None
    return OutboxLag(pending=pending, dead=dead or 0, oldest_pending_age_seconds=age)
