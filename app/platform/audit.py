"""The audit trail, fed by outbox events (org, user and grant changes)."""

import uuid

from sqlalchemy.orm import Session

from app.platform.models import AuditEntry, OutboxEvent
from app.tenancy.enums import ActorKind
from app.tenancy.filters import scoped
from app.tenancy.scope import Scope

AUDITED = ("org.created", "org.moved", "org.deactivated", "user.created", "policy.changed",
           "grant.changed", "grant.revoked", "api_key.created", "api_key.revoked",
           "export.downloaded", "dead_letter.retried")


def write_audit(session: Session, event: OutboxEvent) -> None:
    payload = dict(event.payload)
    actor_id = payload.pop("actor_id", None)
    session.add(AuditEntry(
        tenant_id=event.tenant_id, owner_path=event.owner_path,
        actor_kind=ActorKind(payload.pop("actor_kind", ActorKind.system)),
        actor_id=uuid.UUID(actor_id) if actor_id else None,
        action=event.type, subject_type=event.type.split(".")[0],
        subject_id=event.subject_id, details=payload, created_at=event.created_at,
    ))


def list_audit(session: Session, scope: Scope, *, limit: int, offset: int) -> list[AuditEntry]:
    """Audit entries of my subtree, newest first."""
    return list(session.scalars(
        scoped(AuditEntry, scope).order_by(AuditEntry.created_at.desc(), AuditEntry.id.desc())
        .limit(limit).offset(offset)))
