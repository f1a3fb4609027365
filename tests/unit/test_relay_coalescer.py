"""Relay publishes per tenant: one now, one at the window's end, none while a relay still due covers."""

import uuid

import pytest

from app.extensions import celery as celery_app
from app.platform import outbox


@pytest.fixture
def clock(monkeypatch):
    now = [1000.0]
    monkeypatch.setattr(outbox.time, "monotonic", lambda: now[0])
    monkeypatch.setitem(celery_app.conf, "task_always_eager", False)
    return now


def commits(coalescer, clock, at: list[float], tenant=None) -> list[float | None]:
    """The countdown each commit publishes with (None: skipped), publishing as _enqueue_relay does."""
    tenant = tenant or uuid.uuid4()
    published = []
    for moment in at:
        clock[0] = 1000.0 + moment
        countdown = coalescer.countdown_for(tenant)
        if countdown is not None:
            coalescer.published(tenant, countdown)
        published.append(None if countdown is None else round(countdown, 3))
    return published


def test_a_burst_of_commits_publishes_one_relay_now_and_one_at_the_windows_end(clock):
    coalescer = outbox.RelayCoalescer(window=0.2, margin=0.05)
    assert commits(coalescer, clock, [0.0, 0.01, 0.05, 0.1, 0.14]) == [0.0, 0.19, None, None, None]


def test_a_commit_too_close_to_the_due_relay_schedules_the_next_one(clock):
    coalescer = outbox.RelayCoalescer(window=0.2, margin=0.05)
    # relay due at 0.2; a commit at 0.16 may miss it (its read can start before 0.16 + margin)
    assert commits(coalescer, clock, [0.0, 0.01, 0.16, 0.3]) == [0.0, 0.19, 0.24, None]


def test_a_quiet_tenant_is_relayed_at_once_and_tenants_do_not_share_a_window(clock):
    coalescer = outbox.RelayCoalescer(window=0.2, margin=0.05)
    assert commits(coalescer, clock, [0.0, 5.0]) == [0.0, 0.0]
    assert commits(coalescer, clock, [5.01]) == [0.0]  # another tenant


def test_every_skipped_commit_is_covered_by_a_relay_due_at_least_the_margin_later(clock):
    coalescer = outbox.RelayCoalescer(window=0.2, margin=0.05)
    tenant, due = uuid.uuid4(), []
    for step in range(400):  # a commit every 3 ms for 1.2 s
        clock[0] = 1000.0 + step * 0.003
        countdown = coalescer.countdown_for(tenant)
        if countdown is None:
            assert due and due[-1] - clock[0] >= 0.05
        else:
            coalescer.published(tenant, countdown)
            due.append(clock[0] + countdown)
    assert len(due) <= 2 * (1.2 / 0.2) + 2  # instead of 400 publishes


def test_the_eager_default_relays_every_commit_inline(monkeypatch):
    monkeypatch.setitem(celery_app.conf, "task_always_eager", True)
    coalescer, tenant = outbox.RelayCoalescer(), uuid.uuid4()
    for _ in range(3):
        assert coalescer.countdown_for(tenant) == 0.0
        coalescer.published(tenant, 0.0)
