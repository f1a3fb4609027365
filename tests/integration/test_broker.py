"""The outbox relay through a real Redis broker and a real Celery worker process.

These tests commit for real (a worker in another process must see the rows), so they use their
own connections instead of the rolled-back `session` fixture and delete their tenant afterwards.
"""

import subprocess
import sys
import time
import uuid
from contextlib import contextmanager
from pathlib import Path

import kombu.pools
import pytest
import redis
from sqlalchemy import create_engine, select, text
from sqlalchemy.orm import Session

from app.extensions import celery as celery_app
from app.platform import broker as broker_module
from app.platform import tasks  # not the task proxies: pytest's collection would evaluate them
from app.platform.audit import AUDITED
from app.platform.models import OutboxEvent
from app.tenancy.scope import set_current_scope, system_scope
from tests import database
from tests.factories import make_tenant
from tests.support.apps import worker_env
from tests.support.committed import delete_tenant
from tests.support.scope import use_scope

pytestmark = pytest.mark.broker

BROKER_URL = "redis://127.0.0.1:6379/15"
DEAD_BROKER_URL = "redis://127.0.0.1:1/15"  # nothing listens on port 1: every publish fails
REPO_ROOT = Path(__file__).resolve().parents[2]
TIMEOUT_SECONDS = 30


@pytest.fixture(scope="module")
def broker():
    """The Redis broker, or a skip when there is none to talk to."""
    client = redis.Redis.from_url(BROKER_URL, socket_connect_timeout=2)
    try:
        client.ping()
    except redis.exceptions.ConnectionError as error:
        pytest.skip(f"no Redis broker at {BROKER_URL}: {error}")
    yield client
    client.close()


@pytest.fixture(scope="module")
def queue(broker):
    """A queue of our own, so that a parallel test run's worker cannot take our messages."""
    name = f"tiermall-test-{uuid.uuid4().hex[:12]}"
    yield name
    broker.delete(name, f"_kombu.binding.{name}", f"_kombu.binding_permanent.{name}")


@pytest.fixture(scope="module")
def worker(app, queue):
    """`celery -A wsgi.celery worker` in its own process, on the app role, against the test DB."""
    env = worker_env(BROKER_URL)
    process = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "wsgi.celery", "worker", "--pool=solo", "-Q", queue,
         "--without-gossip", "--without-mingle", "--without-heartbeat", "--loglevel=INFO"],
        cwd=REPO_ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        yield process
    finally:
        process.terminate()
        try:
            output, _ = process.communicate(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            output, _ = process.communicate()
        print(output)  # shown by pytest when a test of this module fails


@pytest.fixture(scope="module")
def engines(app):
    """(app role, superuser) engines on the test database."""
    admin, _, app_role = database.test_urls()
    app_engine, admin_engine = create_engine(app_role), create_engine(admin)
    yield app_engine, admin_engine
    app_engine.dispose()
    admin_engine.dispose()


@contextmanager
def producer(broker_url: str, queue: str):
    """Point this process's Celery producer at a broker (not eager) for the block, then restore."""
    conf = celery_app.conf
    saved = {key: conf[key] for key in ("broker_url", "task_always_eager", "task_default_queue")}
    _drop_connections()
    conf.update(broker_url=broker_url, task_always_eager=False, task_default_queue=queue)
    try:
        yield
    finally:
        _drop_connections()
        conf.update(saved)


def _drop_connections() -> None:
    """Celery and kombu cache connection pools; a new broker URL needs new ones (and no pause)."""
    broker_module.resume()
    kombu.pools.reset()
    celery_app._pool = None
    celery_app.amqp._producer_pool = None


@contextmanager
def committed_tenant(engines):
    """A tenant with a network built through the services and committed; deleted afterwards."""
    app_engine, admin_engine = engines
    tenant_ids = []
    try:
        with Session(app_engine, expire_on_commit=False) as session:
            yield session, tenant_ids
    finally:
        set_current_scope(None)
        for tenant_id in tenant_ids:
            delete_tenant(tenant_id)


def build_tenant(session: Session, tenant_ids: list) -> uuid.UUID:
    net = make_tenant(session)
    tenant_ids.append(net.tenant.id)
    return net.tenant.id


def audited_events(admin_engine, tenant_id: uuid.UUID) -> tuple[int, int, int]:
    """(audited events, of those still pending, audit rows) for the tenant, read past RLS."""
    with admin_engine.connect() as connection:
        events, pending = connection.execute(text(
            "SELECT count(*), count(*) FILTER (WHERE relayed_at IS NULL) FROM outbox_events"
            " WHERE tenant_id = :t AND type = ANY(:types)"), {"t": tenant_id, "types": list(AUDITED)}).one()
        audit_rows = connection.scalar(text("SELECT count(*) FROM audit_log WHERE tenant_id = :t"),
                                       {"t": tenant_id})
    return events, pending, audit_rows


def wait_until_audited(admin_engine, tenant_id: uuid.UUID, worker) -> tuple[int, int, int]:
    deadline = time.monotonic() + TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        assert worker.poll() is None, "the worker process died"
        events, pending, audit_rows = audited_events(admin_engine, tenant_id)
        if events and not pending and audit_rows >= events:
            return events, pending, audit_rows
        time.sleep(0.25)
    pytest.fail(f"audit rows did not appear within {TIMEOUT_SECONDS}s: "
                f"{audited_events(admin_engine, tenant_id)}")


def test_committed_events_reach_the_audit_log_through_the_broker_and_a_worker(engines, worker, queue):
    _, admin_engine = engines
    with committed_tenant(engines) as (session, tenant_ids), producer(BROKER_URL, queue):
        tenant_id = build_tenant(session, tenant_ids)
        session.commit()  # the after-commit hook enqueues one relay through Redis
        tasks.relay_outbox.delay(str(tenant_id))  # a second relay of the same events changes nothing
        events, _, audit_rows = wait_until_audited(admin_engine, tenant_id, worker)
        time.sleep(1)  # let the duplicate relay run too
        assert events > 0
        assert audited_events(admin_engine, tenant_id) == (events, 0, events)
        assert audit_rows == events


def test_events_committed_while_the_broker_is_down_are_relayed_by_the_periodic_sweep(
        engines, worker, queue, caplog):
    _, admin_engine = engines
    with committed_tenant(engines) as (session, tenant_ids):
        with producer(DEAD_BROKER_URL, queue):
            tenant_id = build_tenant(session, tenant_ids)
            session.commit()  # the change commits although its relay cannot be enqueued
        assert "broker publish failed, the sweep will pick it up: outbox relay" in caplog.text
        events, pending, audit_rows = audited_events(admin_engine, tenant_id)
        assert events > 0 and pending == events and audit_rows == 0

        with producer(BROKER_URL, queue):
            tasks.relay_all_outboxes.delay()  # what celery beat sends every 30 seconds
            wait_until_audited(admin_engine, tenant_id, worker)
        assert audited_events(admin_engine, tenant_id) == (events, 0, events)


def test_the_app_role_sees_the_relayed_events_only_in_its_tenant_scope(engines, worker, queue):
    app_engine, admin_engine = engines
    with committed_tenant(engines) as (session, tenant_ids), producer(BROKER_URL, queue):
        tenant_id = build_tenant(session, tenant_ids)
        session.commit()
        wait_until_audited(admin_engine, tenant_id, worker)
        with Session(app_engine) as reader:
            set_current_scope(None)
            unscoped = reader.scalars(select(OutboxEvent.id)).all()
            reader.rollback()
            use_scope(reader, system_scope(tenant_id))
            scoped_rows = reader.scalars(select(OutboxEvent).where(
                OutboxEvent.tenant_id == tenant_id)).all()
        assert unscoped == []  # no scope set: RLS fails closed
        assert scoped_rows and all(row.relayed_at is not None for row in scoped_rows)
