"""The transactional outbox: events commit with the change, handlers run once, failures retry."""

from sqlalchemy import select

from app.platform import outbox
from app.platform.models import AuditEntry, OutboxEvent
from app.tenancy.scope import system_scope
from tests.factories import make_tenant
from tests.support.scope import use_scope


def _pending(session, tenant_id):
    return session.scalars(select(OutboxEvent).where(OutboxEvent.tenant_id == tenant_id,
                                                     OutboxEvent.relayed_at.is_(None))).all()


def test_an_org_change_writes_its_event_in_the_same_transaction(session):
    net = make_tenant(session)
    use_scope(session, system_scope(net.tenant.id))
    types = {event.type for event in session.scalars(
        select(OutboxEvent).where(OutboxEvent.tenant_id == net.tenant.id))}
    assert "org.created" in types


def test_a_rolled_back_change_leaves_no_event(session):
    net = make_tenant(session)
    use_scope(session, system_scope(net.tenant.id))
    before = len(session.scalars(select(OutboxEvent)).all())
    nested = session.begin_nested()
    outbox.record_event(session, tenant_id=net.tenant.id, owner_path=net.org("brand").path,
                        type="org.created", payload={})
    session.flush()
    nested.rollback()
    assert len(session.scalars(select(OutboxEvent)).all()) == before


def test_relaying_twice_handles_each_event_once(session):
    net = make_tenant(session)
    use_scope(session, system_scope(net.tenant.id))
    outbox.relay_pending(session, tenant_id=net.tenant.id)
    audited = session.scalars(select(AuditEntry).where(AuditEntry.tenant_id == net.tenant.id)).all()
    for event in session.scalars(select(OutboxEvent)).all():
        event.relayed_at = None  # as if the relay crashed before marking them
    outbox.relay_pending(session, tenant_id=net.tenant.id)
    again = session.scalars(select(AuditEntry).where(AuditEntry.tenant_id == net.tenant.id)).all()
    assert len(audited) > 0 and len(again) == len(audited)


def test_a_failing_handler_is_retried_later_and_does_not_block_the_others(session):
    net = make_tenant(session)
    use_scope(session, system_scope(net.tenant.id))
    outbox.relay_pending(session, tenant_id=net.tenant.id)
    calls = []

    @outbox.subscribe("test.flaky")
    def flaky(session, event):
        calls.append(event.id)
        if len(calls) == 1:
            raise RuntimeError("downstream is down")

    try:
        brand_path = net.org("brand").path
        first = outbox.record_event(session, tenant_id=net.tenant.id, owner_path=brand_path,
                                    type="test.flaky")
        second = outbox.record_event(session, tenant_id=net.tenant.id, owner_path=brand_path,
                                     type="org.created", payload={"name": "x"})
        session.flush()
        assert outbox.relay_pending(session, tenant_id=net.tenant.id) == 1
        assert second.relayed_at is not None and first.relayed_at is None
        assert first.attempts == 1 and "downstream is down" in first.last_error
        assert outbox.relay_pending(session, tenant_id=net.tenant.id) == 1
        assert first.relayed_at is not None
    finally:
        outbox._handlers["test.flaky"].clear()
