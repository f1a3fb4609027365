"""Running through broker and worker faults, with a real Redis of our own and a supervised worker.

During each fault the writes answer within their bound and commit; afterwards every event is
relayed exactly once. The Redis is ours (tests/support/faults.py): killed to refuse, SIGSTOPped
to hang, restarted. Like test_broker.py these tests commit for real and delete their tenant.
"""

import logging
import time
import uuid

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.orm import Session

from app.auth.tokens import issue_access_token
from app.platform import broker as broker_module
from app.platform import metrics, tasks
from app.platform.audit import AUDITED
from tests import database
from tests.factories import make_tenant
from tests.integration.test_broker import producer
from tests.support.apps import worker_env
from tests.support.committed import delete_tenant
from tests.support.faults import RedisServer, SupervisedWorker

pytestmark = pytest.mark.broker

REQUEST_BOUND_SECONDS = 3.0  # the broker timeout is 1 s; the rest is a loaded 2-core machine
RELAY_TIMEOUT_SECONDS = 120


@pytest.fixture(scope="module")
def redis_server():
    server = RedisServer().start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def queue():
    return f"tiermall-faults-{uuid.uuid4().hex[:12]}"


@pytest.fixture(scope="module")
def worker(app, redis_server, queue, tmp_path_factory):
    env = worker_env(redis_server.url)
    supervised = SupervisedWorker(env, queue, tmp_path_factory.mktemp("worker") / "worker.log").start()
    deadline = time.monotonic() + 60
    while "ready." not in supervised.output():
        assert time.monotonic() < deadline, supervised.output()
        time.sleep(0.2)
    yield supervised
    supervised.stop()
    print(supervised.output()[-6000:])  # shown by pytest when a test of this module fails


@pytest.fixture(scope="module")
def admin_engine(app):
    admin, _, _ = database.test_urls()
    engine = create_engine(admin)
    yield engine
    engine.dispose()


@pytest.fixture
def tenant(app, admin_engine, worker, redis_server, queue):
    """A committed tenant and its brand owner's bearer header; every event relayed before the test."""
    _, _, app_role = database.test_urls()
    engine = create_engine(app_role)
    with Session(engine, expire_on_commit=False) as session, producer(redis_server.url, queue):
        net = make_tenant(session)
        session.commit()
    engine.dispose()
    user = net.users["brand"]
    token = issue_access_token(app.config["SECRET_KEY"], ttl_seconds=600, tenant_id=net.tenant.id,
                               subject=user.id, kind="staff", org_id=user.org_id, role=user.role.value)
    try:
        with producer(redis_server.url, queue):
            wait_until_relayed(admin_engine, net.tenant.id, worker)
        yield net, {"Authorization": f"Bearer {token}"}
    finally:
        delete_tenant(net.tenant.id)


def counts(admin_engine, tenant_id) -> dict:
    """The tenant's outbox and audit trail, read past RLS."""
    with admin_engine.connect() as connection:
        row = connection.execute(text(
            "SELECT count(*), count(*) FILTER (WHERE relayed_at IS NULL), count(*) FILTER (WHERE dead_at"
            " IS NOT NULL) FROM outbox_events WHERE tenant_id = :t AND type = ANY(:types)"),
            {"t": tenant_id, "types": list(AUDITED)}).one()
        audit = connection.scalar(text("SELECT count(*) FROM audit_log WHERE tenant_id = :t"),
                                  {"t": tenant_id})
        receipts = connection.scalar(text("SELECT count(*) FROM processed_events WHERE tenant_id = :t"),
                                     {"t": tenant_id})
    return {"events": row[0], "pending": row[1], "dead": row[2], "audit": audit, "receipts": receipts}


def wait_until_relayed(admin_engine, tenant_id, worker, *, sweep_every: float = 22) -> dict:
    """Send the sweep (what beat does every 30 s) until nothing is pending; the worker must be up."""
    deadline, next_sweep = time.monotonic() + RELAY_TIMEOUT_SECONDS, 0.0
    while time.monotonic() < deadline:
        now = counts(admin_engine, tenant_id)
        if now["events"] and not now["pending"]:
            return now
        if time.monotonic() >= next_sweep:
            tasks.relay_all_outboxes.apply_async(retry=False)
            next_sweep = time.monotonic() + sweep_every
        time.sleep(0.25)
    pytest.fail(f"not relayed within {RELAY_TIMEOUT_SECONDS}s: {counts(admin_engine, tenant_id)}\n"
                f"{worker.output()[-3000:]}")


def assert_relayed_exactly_once(after: dict) -> None:
    assert after["pending"] == 0 and after["dead"] == 0
    assert after["audit"] == after["events"] == after["receipts"]  # one audit row, one receipt each


def create_orgs(client, net, headers, how_many: int) -> list[float]:
    """POST /network/orgs how_many times; each must commit (201). Returns the latencies."""
    latencies = []
    for n in range(how_many):
        started = time.monotonic()
        response = client.post("/network/orgs", headers=headers, json={
            "parent_id": str(net.org("brand").id), "kind": "distributor", "name": f"Fault {n}"})
        latencies.append(time.monotonic() - started)
        assert response.status_code == 201, response.get_json()
    return latencies


def test_while_the_broker_hangs_writes_commit_within_their_bound_and_are_relayed_once_after(
        app, tenant, redis_server, queue, worker, admin_engine, caplog):
    net, headers = tenant
    celery_pid = worker.celery_pid()
    before = metrics.snapshot()
    caplog.set_level(logging.WARNING)
    with producer(redis_server.url, queue):
        redis_server.freeze()
        try:
            latencies = create_orgs(app.test_client(), net, headers, 6)
        finally:
            redis_server.thaw()
        assert max(latencies) < REQUEST_BOUND_SECONDS, latencies
        failed = [r for r in caplog.records if "broker publish failed" in r.getMessage()]
        assert len(failed) == 1 and failed[0].exc_info is None  # one line, no traceback
        after = metrics.snapshot()
        assert after.get("broker_publish_failed", 0) - before.get("broker_publish_failed", 0) == 1
        assert after.get("broker_publish_skipped", 0) - before.get("broker_publish_skipped", 0) == 5
        assert counts(admin_engine, net.tenant.id)["events"] >= 6
        broker_module.resume()
        assert_relayed_exactly_once(wait_until_relayed(admin_engine, net.tenant.id, worker))
    assert worker.celery_pid() == celery_pid  # the worker lived through it


def test_while_the_broker_refuses_writes_commit_at_once_and_the_worker_survives_its_restart(
        app, tenant, redis_server, queue, worker, admin_engine, caplog):
    net, headers = tenant
    celery_pid = worker.celery_pid()
    caplog.set_level(logging.WARNING)
    with producer(redis_server.url, queue):
        redis_server.stop()
        try:
            latencies = create_orgs(app.test_client(), net, headers, 6)
            time.sleep(3)  # the worker notices the lost connection and keeps retrying it
        finally:
            redis_server.start()
        assert max(latencies) < REQUEST_BOUND_SECONDS, latencies
        assert len([r for r in caplog.records if "broker publish failed" in r.getMessage()]) == 1
        assert "Traceback" not in caplog.text
        broker_module.resume()
        assert_relayed_exactly_once(wait_until_relayed(admin_engine, net.tenant.id, worker))
    assert worker.celery_pid() == celery_pid, worker.output()[-3000:]


def test_a_worker_killed_mid_relay_is_restarted_and_every_event_is_relayed_exactly_once(
        tenant, redis_server, queue, worker, admin_engine):
    net, _ = tenant
    with admin_engine.begin() as connection:  # a backlog of audited events, as after an outage
        connection.execute(text(
            "INSERT INTO outbox_events (tenant_id, id, owner_path, type, payload, attempts, created_at)"
            " SELECT :t, gen_random_uuid(), :p, 'org.created', '{}'::jsonb, 0, now()"
            " FROM generate_series(1, 1500)"), {"t": net.tenant.id, "p": net.org("brand").path})
    with producer(redis_server.url, queue):
        tasks.relay_outbox.apply_async((str(net.tenant.id),), retry=False)
        deadline = time.monotonic() + 60
        while counts(admin_engine, net.tenant.id)["audit"] < 250:  # its first batch has committed
            assert time.monotonic() < deadline, worker.output()[-3000:]
            time.sleep(0.05)
        killed = worker.kill_celery()
        in_flight = counts(admin_engine, net.tenant.id)
        assert in_flight["pending"] > 0, "the relay finished before the kill: raise the backlog"
        assert worker.celery_pid(timeout=30, other_than=killed) != killed  # the supervisor's new one
        after = wait_until_relayed(admin_engine, net.tenant.id, worker)
    assert_relayed_exactly_once(after)
    assert "exited with status" in worker.output()
