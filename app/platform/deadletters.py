"""Dead letters: outbox events that failed every attempt, shown to operators and finance, retried."""

import uuid

from sqlalchemy.orm import Session

from app.paging import CursorKey, Page, paginate
from app.platform.audit import audit
from app.platform.errors import NotDeadLettered, OutboxOperatorsOnly
from app.platform.models import OutboxEvent
from app.tenancy.enums import OrgKind
from app.tenancy.filters import get_visible, scoped
from app.tenancy.models import Org
from app.tenancy.permissions import Action, require
from app.tenancy.scope import Scope


def require_outbox_operator(session: Session, scope: Scope) -> None:
    """The permission (owner, admin, finance), held at the brand (the tenant's root org).

    Dead letters span the whole tenant's side effects, so a distributor's owner does not get them.
    """
    require(scope, Action.retry_dead_letters)
    if scope.org_id is None:
        raise OutboxOperatorsOnly("Dead letters are for the brand's owners, admins and finance staff.")
    org = session.get(Org, (scope.tenant_id, scope.org_id))
    if org is None or org.kind is not OrgKind.brand:
        raise OutboxOperatorsOnly("Dead letters are for the brand's owners, admins and finance staff.")


def list_dead_letters(session: Session, scope: Scope, *, limit: int,
                      cursor: CursorKey | None = None) -> Page[OutboxEvent]:
    """Dead events of my tenant, oldest first (by the time-ordered UUIDv7 id), a page."""
    require_outbox_operator(session, scope)
    query = scoped(OutboxEvent, scope).where(OutboxEvent.dead_at.is_not(None))
    return paginate(session, query, OutboxEvent, limit=limit, cursor=cursor, newest_first=False, by_id=True)


def retry_dead_letter(session: Session, scope: Scope, *, event_id: uuid.UUID) -> OutboxEvent:
    """Give a dead event a fresh set of attempts; the relay runs once this commits. Audited.

    Its own audit event enqueues the tenant's relay after the commit, which relays both.
    """
    require_outbox_operator(session, scope)
    event = get_visible(session, OutboxEvent, scope, event_id)
    if event.dead_at is None:
        raise NotDeadLettered("That event is not dead-lettered; the relay handles it.")
    event.dead_at, event.next_attempt_at, event.attempts = None, None, 0
    audit(session, scope, "dead_letter.retried", owner_path=event.owner_path, subject_id=event.id,
          event_type=event.type, last_error=event.last_error)
    session.flush()
    return event
