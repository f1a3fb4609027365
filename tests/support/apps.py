"""A second app made by create_app, for tests that need other config or throwaway routes."""

import os
import socket
from contextlib import contextmanager

from app import create_app
from app.auth import passwords
from app.extensions import api, db
from app.extensions import celery as celery_app
from app.platform import outbox
from tests import database

# The suite signs its tokens with its own key: only the demo on SQLite may use the published one.
TEST_SECRET_KEY = "tiermall-test-suite-secret-key-0123456789abcdef"


@contextmanager
def fresh_app(**config):
    """create_app with `config`, not in TESTING mode (so errors are handled, not raised).

    create_app binds the global Api and Celery to the newest app; they are put back afterwards
    so that the session-wide test app keeps serving its own spec and running its own tasks.
    """
    saved = (api._app, api.spec, api.config, celery_app.Task)
    cost = passwords.current_cost()  # a global of the process, like the ones above
    schedule = dict(celery_app.conf.beat_schedule)  # app.bootstrap sets it, and the outbox wiring
    wired = dict(outbox._handlers)  # (whose injected gateway reads the config of its own app)
    env = config.get("TIERMALL_ENV", "test")
    app = create_app({"TESTING": False, "TIERMALL_ENV": "test", "SECRET_KEY": TEST_SECRET_KEY,
                      "PASSWORD_HASH_COST": "minimal" if env == "test" else "owasp", **config})
    try:
        yield app
    finally:
        api._app, api.spec, api.config, celery_app.Task = saved
        passwords.configure(cost, env="test")
        celery_app.conf.beat_schedule = schedule
        outbox.wire(wired)
        with app.app_context():
            db.engine.dispose()


def closed_port_url() -> str:
    """A base URL on which nothing listens."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}"


def worker_env(broker_url: str) -> dict:
    """The environment of a worker process of the test database: app role, the suite's secret key."""
    _, owner, app_role = database.test_urls()
    return {**os.environ, "TIERMALL_ENV": "test", "SECRET_KEY": TEST_SECRET_KEY,
            "CELERY_BROKER_URL": broker_url, "DATABASE_URL": database.url_text(app_role),
            "MIGRATIONS_DATABASE_URL": database.url_text(owner)}
