"""Faults inside a request answer the one JSON shape, and the log names the original error once."""

import logging

import pytest
from sqlalchemy import text

from app.extensions import db
from tests.api.test_errors import assert_error
from tests.support.apps import fresh_app

pytestmark = pytest.mark.postgres  # terminates its own backend, sets statement_timeout


@pytest.fixture
def faulty(app):
    """An app from create_app on the test database, with routes that lose their database."""
    with fresh_app(SQLALCHEMY_DATABASE_URI=app.config["SQLALCHEMY_DATABASE_URI"]) as other:

        @other.get("/test-only/lost-connection")
        def lost_connection():
            db.session.execute(text("SELECT pg_terminate_backend(pg_backend_pid())"))
            db.session.execute(text("SELECT 1"))
            return {"unreachable": True}

        @other.get("/test-only/slow-query")
        def slow_query():
            db.session.execute(text("SET LOCAL statement_timeout = 50"))
            db.session.execute(text("SELECT pg_sleep(2)"))
            return {"unreachable": True}

        yield other


def test_a_lost_database_connection_answers_503_json_and_logs_the_original_error_only(faulty, caplog):
    caplog.set_level(logging.INFO)
    response = faulty.test_client().get("/test-only/lost-connection")
    assert_error(response, 503, "database_unavailable")
    assert response.headers["Retry-After"]
    assert "PendingRollbackError" not in caplog.text
    assert "terminating connection" in caplog.text or "OperationalError" in caplog.text
    assert faulty.test_client().get("/healthz").status_code == 200
    assert faulty.test_client().get("/readyz").status_code == 200  # the pool recovers


def test_a_statement_over_its_time_budget_answers_503_request_timeout_json(faulty, caplog):
    response = faulty.test_client().get("/test-only/slow-query")
    assert_error(response, 503, "request_timeout")
    assert "PendingRollbackError" not in caplog.text
    assert "QueryCanceled" in caplog.text
