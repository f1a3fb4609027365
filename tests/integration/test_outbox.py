"""The transactional outbox: events commit with the change, handlers run once, failures retry."""

from datetime import timedelta

from sqlalchemy import insert, select

from app.db import utcnow, uuid7
from app.extensions import celery
from app.platform import outbox
from app.platform.models import AuditEntry, OutboxEvent, ProcessedEvent
from app.tenancy.scope import system_scope
from tests.factories import make_tenant
from tests.support.scope import use_scope
from tests.unit.test_wiring import EXPECTED_BEAT, EXPECTED_SUBSCRIPTIONS


def _pending(session, tenant_id):
    return session.scalars(select(OutboxEvent).where(OutboxEvent.tenant_id == tenant_id,
                                                     OutboxEvent.relayed_at.is_(None))).all()


def test_the_running_app_is_wired_exactly_as_the_expected_tables(app):
    assert outbox.subscriptions() == EXPECTED_SUBSCRIPTIONS
    assert {name: (entry["task"], entry["schedule"])
            for name, entry in celery.conf.beat_schedule.items()} == EXPECTED_BEAT
    assert all(task in celery.tasks for task, _ in EXPECTED_BEAT.values())


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

    def flaky(session, event):
        calls.append(event.id)
        if len(calls) == 1:
            raise RuntimeError("downstream is down")

    wired = dict(outbox._handlers)
    outbox.wire({**wired, "test.flaky": [("tests.flaky", flaky)]})
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
        later = first.next_attempt_at + timedelta(seconds=1)
        assert outbox.relay_pending(session, tenant_id=net.tenant.id, now=later) == 1
        assert first.relayed_at is not None
    finally:
        outbox.wire(wired)


def _wire_extra(event_type, handler):
    wired = dict(outbox._handlers)
    outbox.wire({**wired, event_type: [(f"tests.{handler.__name__}", handler)]})
    return wired


def test_a_failing_event_backs_off_exponentially_then_lands_in_the_dead_letters_with_its_error(session):
    net = make_tenant(session)
    use_scope(session, system_scope(net.tenant.id))
    outbox.relay_pending(session, tenant_id=net.tenant.id)

    def broken(session, event):
        raise ValueError("the ledger is closed")

    wired = _wire_extra("test.poison", broken)
    try:
        event = outbox.record_event(session, tenant_id=net.tenant.id, owner_path=net.org("brand").path,
                                    type="test.poison")
        session.flush()
        now, waits = event.created_at, []
        for attempt in range(1, outbox.MAX_ATTEMPTS + 1):
            outbox.relay_pending(session, tenant_id=net.tenant.id, now=now)
            assert event.attempts == attempt
            if event.dead_at is None:
                waits.append((event.next_attempt_at - now).total_seconds())
                # not retried before its time
                assert outbox.relay_batch(session, tenant_id=net.tenant.id,
                                          now=event.next_attempt_at - timedelta(seconds=1)).fetched == 0
                now = event.next_attempt_at
        assert waits == [5, 10, 20, 40, 80, 160, 320, 640, 1280]
        assert event.dead_at == now and event.relayed_at is None
        assert event.last_error == "ValueError: the ledger is closed"
        assert outbox.relay_batch(session, tenant_id=net.tenant.id, now=now + timedelta(days=1)).fetched == 0
    finally:
        outbox.wire(wired)


def test_the_sweep_relays_a_backlog_of_several_batches_in_one_run(session):
    from app.platform.tasks import relay_all_outboxes

    net = make_tenant(session)
    session.commit()  # its own events are relayed (eagerly) by the after-commit enqueue
    use_scope(session, system_scope(net.tenant.id))
    backlog = 2 * outbox.RELAY_BATCH + 57
    session.execute(insert(OutboxEvent), [
        {"id": uuid7(), "tenant_id": net.tenant.id, "owner_path": net.org("brand").path,
         "type": "test.unhandled", "payload": {}, "attempts": 0, "created_at": utcnow()}
        for _ in range(backlog)])
    assert len(_pending(session, net.tenant.id)) == backlog  # inserted directly: no enqueue
    assert relay_all_outboxes.run() == backlog
    use_scope(session, system_scope(net.tenant.id))
    assert _pending(session, net.tenant.id) == []


def test_retention_deletes_old_relayed_events_and_their_receipts_and_keeps_the_rest(session, app):
    from app.platform.tasks import purge_relayed_events

    net = make_tenant(session)
    use_scope(session, system_scope(net.tenant.id))
    outbox.relay_pending(session, tenant_id=net.tenant.id)
    long_ago = utcnow() - timedelta(days=app.config["OUTBOX_RETENTION_DAYS"] + 1)
    events = session.scalars(select(OutboxEvent).where(OutboxEvent.tenant_id == net.tenant.id)).all()
    old, recent = events[0], events[1]
    old.relayed_at = long_ago
    old_pending = outbox.record_event(session, tenant_id=net.tenant.id, owner_path=net.org("brand").path,
                                      type="test.unhandled")
    old_dead = outbox.record_event(session, tenant_id=net.tenant.id, owner_path=net.org("brand").path,
                                   type="test.unhandled")
    session.flush()
    old_pending.created_at = long_ago
    old_dead.created_at, old_dead.dead_at = long_ago, long_ago
    session.flush()
    assert session.scalars(select(ProcessedEvent).where(ProcessedEvent.event_id == old.id)).all()

    assert purge_relayed_events.run() >= 1
    use_scope(session, system_scope(net.tenant.id))
    session.expire_all()
    left = set(session.scalars(select(OutboxEvent.id).where(OutboxEvent.tenant_id == net.tenant.id)))
    assert old.id not in left and {recent.id, old_pending.id, old_dead.id} <= left
    assert session.scalars(select(ProcessedEvent).where(ProcessedEvent.event_id == old.id)).all() == []
    assert session.scalars(select(ProcessedEvent).where(ProcessedEvent.event_id == recent.id)).all()
