"""Committed test data for concurrency tests: an app-role engine and a superuser clean-up."""

import uuid

from sqlalchemy import create_engine, text
from sqlalchemy.engine import Engine
from sqlalchemy.pool import NullPool

import app.models  # noqa: F401  (every table, for the clean-up)
from app.db import Base
from tests import database


def app_role_engine() -> Engine:
    """The restricted app role on the test database (RLS applies), one connection per session."""
    _, _, app_url = database.test_urls()
    return create_engine(app_url, poolclass=NullPool)


def delete_tenant(tenant_id: uuid.UUID, *, webhook_event_ids: tuple[str, ...] = ()) -> None:
    """Remove everything a test committed for one tenant, and the platform-level webhook events
    it names; as the superuser with triggers off (the audit and the journal are append-only)."""
    admin, _, _ = database.test_urls()
    engine = create_engine(admin, poolclass=NullPool)
    with engine.begin() as connection:
        connection.execute(text("SET LOCAL session_replication_role = replica"))
        for table in reversed(Base.metadata.sorted_tables):
            if "tenant_id" in table.c:
                connection.execute(table.delete().where(table.c.tenant_id == tenant_id))
        for event_id in webhook_event_ids:
            connection.execute(text("DELETE FROM webhook_events WHERE id = :e"), {"e": event_id})
        connection.execute(text("DELETE FROM tenants WHERE id = :t"), {"t": tenant_id})
    engine.dispose()
