"""A lost lock race is run again, and if it keeps losing it answers 409 lock_conflict, never a 500."""

from sqlalchemy.exc import OperationalError

from app.uow import is_lock_conflict, transactional
from tests.support.apps import fresh_app


class _Deadlock(Exception):
    sqlstate = "40P01"


def _deadlock() -> OperationalError:
    return OperationalError("UPDATE orders ...", {}, _Deadlock("deadlock detected"))


def test_a_deadlock_is_recognised_also_behind_the_error_it_caused():
    assert is_lock_conflict(_deadlock())
    try:
        try:
            raise _deadlock()
        except OperationalError as error:
            raise RuntimeError("statement on an aborted transaction") from error
    except RuntimeError as hidden:
        assert is_lock_conflict(hidden)
    assert not is_lock_conflict(RuntimeError("other"))


def test_a_unit_of_work_that_loses_a_deadlock_once_runs_again_and_succeeds(app):
    calls = []

    @transactional
    def body():
        calls.append(1)
        if len(calls) == 1:
            raise _deadlock()
        return "done"

    with app.app_context():
        assert body() == "done"
    assert len(calls) == 2


def test_a_deadlock_that_outlives_its_retries_answers_409_lock_conflict(app):
    with fresh_app(SQLALCHEMY_DATABASE_URI=app.config["SQLALCHEMY_DATABASE_URI"]) as other:
        attempts = []

        @other.post("/test-only/always-deadlocks")
        @transactional
        def always():
            attempts.append(1)
            raise _deadlock()

        response = other.test_client().post("/test-only/always-deadlocks")
    assert response.status_code == 409 and response.get_json()["code"] == "lock_conflict"
    assert response.headers["Retry-After"] == "1" and len(attempts) == 4
