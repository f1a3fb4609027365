"""Dead letters: outbox events that failed every attempt, shown to operators and finance, retried."""

import uuid

from sqlalchemy.orm import Session

from app.platform.errors import NotDeadLettered, OutboxOperatorsOnly
from app.platform.models import OutboxEvent
from app.platform.outbox import record_event
from app.tenancy.enums import OrgKind, Role
from app.tenancy.filters import get_visible, scoped
from app.tenancy.models import Org
from app.tenancy.scope import Scope

OPERATOR_ROLES = frozenset({Role.owner, Role.admin, Role.finance})


def require_outbox_operator(session: Session, scope: Scope) -> None:
    """Owners, admins and finance staff of the brand (the tenant's root org) only.

    The one place this rule lives: swap it for the permission module's `require(scope, action)`.
    """
    if not scope.is_staff or scope.role not in OPERATOR_ROLES or scope.org_id is None:
        raise OutboxOperatorsOnly("Dead letters are for the brand's owners, admins and finance staff.")
    org = session.get(Org, (scope.tenant_id, scope.org_id))
    if org is None or org.kind is not OrgKind.brand:
        raise OutboxOperatorsOnly("Dead letters are for the brand's owners, admins and finance staff.")


def list_dead_letters(session: Session, scope: Scope, *, limit: int,
                      after: uuid.UUID | None = None) -> list[OutboxEvent]:
    """Dead events of my tenant, oldest first, paged by id."""
    require_outbox_operator(session, scope)
    query = scoped(OutboxEvent, scope).where(OutboxEvent.dead_at.is_not(None))
    if after is not None:
        query = query.where(OutboxEvent.id > after)
    return list(session.scalars(query.order_by(OutboxEvent.id).limit(limit)))


def retry_dead_letter(session: Session, scope: Scope, *, event_id: uuid.UUID) -> OutboxEvent:
    """Give a dead event a fresh set of attempts; the relay runs once this commits. Audited.

    Its own audit event enqueues the tenant's relay after the commit, which relays both.
    """
    require_outbox_operator(session, scope)
    event = get_visible(session, OutboxEvent, scope, event_id)
    if event.dead_at is None:
        raise NotDeadLettered("That event is not dead-lettered; the relay handles it.")
    event.dead_at, event.next_attempt_at, event.attempts = None, None, 0
    record_event(session, tenant_id=event.tenant_id, owner_path=event.owner_path,
                 type="dead_letter.retried", subject_id=event.id,
                 payload={"actor_kind": scope.actor_kind.value,
                          "actor_id": str(scope.actor_id) if scope.actor_id else None,
                          "event_type": event.type, "last_error": event.last_error})
    session.flush()
    return event
