"""One transaction boundary: every API view runs in a unit of work, and no view commits itself."""

import re
from pathlib import Path

import pytest

from app.blueprint import TransactionalView
from app.uow import unit_of_work

APP = Path(__file__).resolve().parents[2] / "app"
VIEW_MODULES = sorted(APP.glob("*/api*.py")) + [APP / "auth" / "request.py"]
# Probes and the metrics scrape never write and must answer while the database is down; the spec
# and docs are static.
NOT_TRANSACTIONAL = {"health.Health", "health.Ready", "metrics.Metrics"}


def test_every_api_view_runs_in_one_unit_of_work(app):
    views = {endpoint: func.view_class for endpoint, func in app.view_functions.items()
             if getattr(func, "view_class", None) is not None}
    assert len(views) > 40
    outside = sorted(endpoint for endpoint, view in views.items()
                     if not issubclass(view, TransactionalView) and endpoint not in NOT_TRANSACTIONAL)
    assert outside == []


def test_no_view_module_commits_or_rolls_back_by_hand():
    assert len(VIEW_MODULES) >= 9
    offenders = [f"{path.relative_to(APP)}:{number}"
                 for path in VIEW_MODULES
                 for number, line in enumerate(path.read_text().splitlines(), 1)
                 if re.search(r"\.(commit|rollback)\(\)", line)]
    assert offenders == []


class RecordingSession:
    def __init__(self):
        self.calls = []

    def commit(self):
        self.calls.append("commit")

    def rollback(self):
        self.calls.append("rollback")


class Refused(Exception):
    pass


def test_a_unit_of_work_commits_when_its_block_returns():
    session = RecordingSession()
    with unit_of_work(session):
        pass
    assert session.calls == ["commit"]


def test_a_unit_of_work_rolls_back_when_its_block_raises():
    session = RecordingSession()
    with pytest.raises(Refused), unit_of_work(session):
        raise Refused
    assert session.calls == ["rollback"]


def test_a_refusal_named_in_keep_on_commits_its_writes_and_still_propagates():
    session = RecordingSession()
    with pytest.raises(Refused), unit_of_work(session, keep_on=(Refused,)):
        raise Refused
    assert session.calls == ["commit"]
