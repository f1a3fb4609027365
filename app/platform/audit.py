"""The audit trail: who (user, API key, consumer or system) did what, from which org, to what.

Services record an audited action as an outbox event in the same transaction as the change
(`audit(...)`, or `app.orders.audit.audit_order` for an order); the relay writes the entry. An
action that moves money, stock or permissions is named by its permission where it has one
(`refund.approve`, `credit.set_limit`), so the trail and the permission matrix use one vocabulary.
"""

import uuid
from datetime import datetime

from sqlalchemy.orm import Session

from app.paging import CursorKey, Page, paginate
from app.platform.models import AuditEntry, OutboxEvent
from app.platform.outbox import record_event
from app.tenancy.enums import ActorKind
from app.tenancy.filters import scoped
from app.tenancy.network import actor_payload
from app.tenancy.permissions import Action, require
from app.tenancy.scope import Scope

AUDITED = (
    # the network and permissions
    "tenant.created", "org.created", "org.moved", "org.deactivated", "user.created",
    "policy.changed", "grant.changed", "grant.revoked", "api_key.created", "api_key.revoked",
    "export.downloaded",
    # money and stock, named by their permission
    "order.cancel", "order.ship", "order.confirm_receipt", "order.pay", "refund.approve",
    "refund.reject", "payment.confirm", "credit.set_limit", "credit.post_repayment",
    "price_lists.edit", "price_bands.edit", "stock.adjust",
    # operations
    "dead_letter.retried",
    # membership
    "membership.configure", "points.adjust",
    # distribution
    "bindings.rebind", "promoters.approve",
)


def audit(session: Session, scope: Scope, action: str, *, owner_path: str,
          subject_id: uuid.UUID | None, **details) -> None:
    """Record that the caller did `action` to a subject owned at `owner_path` (a staff scope)."""
    if action not in AUDITED:
        raise ValueError(f"{action} is not an audited action")
    record_event(session, tenant_id=scope.tenant_id, owner_path=owner_path, type=action,
                 subject_id=subject_id, payload={**_plain(details), **actor_payload(scope)})


def _plain(details: dict) -> dict:
    return {key: str(value) if isinstance(value, uuid.UUID) else value
            for key, value in details.items()}


def write_audit(session: Session, event: OutboxEvent) -> None:
    payload = dict(event.payload)
    actor_id, org_id = payload.pop("actor_id", None), payload.pop("actor_org_id", None)
    session.add(AuditEntry(
        tenant_id=event.tenant_id, owner_path=event.owner_path,
        actor_kind=ActorKind(payload.pop("actor_kind", ActorKind.system)),
        actor_id=uuid.UUID(actor_id) if actor_id else None,
        actor_org_id=uuid.UUID(org_id) if org_id else None,
        action=event.type, subject_type=payload.pop("subject_type", event.type.split(".")[0]),
        subject_id=event.subject_id, details=payload, created_at=event.created_at,
    ))


def list_audit(session: Session, scope: Scope, *, limit: int, cursor: CursorKey | None = None,
               actor_id: uuid.UUID | None = None, actor_kind: ActorKind | None = None,
               actor_org_id: uuid.UUID | None = None, action: str | None = None,
               subject_id: uuid.UUID | None = None, subject_type: str | None = None,
               since: datetime | None = None, until: datetime | None = None) -> Page[AuditEntry]:
    """Audit entries of my subtree, newest first, filtered by actor, action, subject and time."""
    require(scope, Action.view_audit)
    statement = scoped(AuditEntry, scope)
    for column, value in ((AuditEntry.actor_id, actor_id), (AuditEntry.actor_kind, actor_kind),
                          (AuditEntry.actor_org_id, actor_org_id), (AuditEntry.action, action),
                          (AuditEntry.subject_id, subject_id),
                          (AuditEntry.subject_type, subject_type)):
        if value is not None:
            statement = statement.where(column == value)
    if since is not None:
        statement = statement.where(AuditEntry.created_at >= since)
    if until is not None:
        statement = statement.where(AuditEntry.created_at < until)
    return paginate(session, statement, AuditEntry, limit=limit, cursor=cursor)
