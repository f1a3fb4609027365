"""Fixtures: one migrated PostgreSQL database per run (per xdist worker), one rolled-back
transaction per test, and module-wide seeds that every test of a module starts from."""

import os
from contextlib import contextmanager

import pytest
from flask import has_request_context, request
from flask_migrate import upgrade
from flask_sqlalchemy.session import _app_ctx_id
from hypothesis import settings
from sqlalchemy.orm import scoped_session, sessionmaker

from app import create_app
from app.extensions import db
from app.orders.cache import TtlCache
from app.tenancy.roles import create_roles
from app.tenancy.scope import set_current_scope
from tests.database import recreate_database, test_urls, url_text
from tests.support.apps import TEST_SECRET_KEY

ON_SQLITE = os.environ.get("TEST_DATABASE") == "sqlite"

# No per-example deadline: on a shared 2-core machine (and beside a second xdist worker) an
# example's time says more about the neighbours than about the code; a slow test still shows in
# --durations.
settings.register_profile("tiermall", deadline=None)
settings.load_profile("tiermall")

# Under pytest-xdist each worker builds and uses its own database (tests/database.py reads the
# name from the environment, and so do the broker tests' worker processes).
if os.environ.get("PYTEST_XDIST_WORKER"):
    os.environ["TEST_DB_NAME"] = (f"{os.environ.get('TEST_DB_NAME', 'tiermall_test')}_"
                                  f"{os.environ['PYTEST_XDIST_WORKER']}")

# Tests that open many parallel connections (or start worker processes) run on one xdist worker
# (`--dist loadgroup`), one after another: two of them at once would not fit max_connections.
CONNECTION_HEAVY = pytest.mark.xdist_group("connection-heavy")


def pytest_collection_modifyitems(config, items):
    """On SQLite (the demo's database) run what does not need PostgreSQL's roles, RLS or races."""
    skip = pytest.mark.skip(reason="needs PostgreSQL")
    for item in items:
        if item.get_closest_marker("many_connections") or item.get_closest_marker("broker"):
            item.add_marker(CONNECTION_HEAVY)
        if ON_SQLITE and (item.get_closest_marker("postgres") or item.get_closest_marker("broker")):
            item.add_marker(skip)


def _database_urls(tmp_path_factory) -> tuple[str, str]:
    """(app url, migrations url): a fresh SQLite file, or a PostgreSQL database with its roles."""
    if ON_SQLITE:
        url = f"sqlite:///{tmp_path_factory.mktemp('db') / 'tiermall.db'}"
        return url, url
    admin, owner, app_url = test_urls()
    recreate_database()
    create_roles(url_text(admin), url_text(owner), url_text(app_url))
    return url_text(app_url), url_text(owner)


@pytest.fixture(scope="session")
def app(tmp_path_factory):
    app_url, migrations_url = _database_urls(tmp_path_factory)
    app = create_app({
        "TESTING": True,
        "TIERMALL_ENV": "test",
        "SECRET_KEY": TEST_SECRET_KEY,
        "SQLALCHEMY_DATABASE_URI": app_url,
        "MIGRATIONS_DATABASE_URL": migrations_url,
        "SQLALCHEMY_ENGINE_OPTIONS": {"pool_size": 10, "max_overflow": 60},
        "CONSUMER_LOGIN_PROVIDER": "dev",
        "PASSWORD_HASH_COST": "minimal",  # tests of the hashing itself ask for the real cost
    })
    with app.app_context():
        upgrade(revision="heads")
    return app


def _context_id() -> tuple[int, int]:
    """One session per request and per app context (an eager task pushes its own)."""
    return (id(request._get_current_object()) if has_request_context() else 0), _app_ctx_id()


@contextmanager
def _session_on(connection):
    """db.session bound to `connection`, inside the transaction (or savepoint) it has open.

    Code under test may commit: each commit only releases a savepoint inside that transaction.
    A request (and an eager task, in its own app context) gets its own session, as in
    production, so it never expires the objects the test body holds.
    """
    factory = sessionmaker(bind=connection, join_transaction_mode="create_savepoint",
                           expire_on_commit=False)
    original = db.session
    db.session = scoped_session(factory, scopefunc=_context_id)
    try:
        yield db.session
    finally:
        db.session.remove()
        db.session = original
        set_current_scope(None)


@pytest.fixture(scope="module")
def module_connection(app):
    """One connection whose transaction spans the module; see `module_seed`."""
    with app.app_context():
        connection = db.engine.connect()
        transaction = connection.begin()
        try:
            yield connection
        finally:
            transaction.rollback()
            connection.close()


@pytest.fixture(scope="module")
def module_seed(app, module_connection):
    """Seed data once for every test of a module, from a module-scoped fixture:

        @pytest.fixture(scope="module")
        def world(module_seed):
            return module_seed(build_world)  # build_world(session) -> whatever the tests need

    The builder runs in the module's transaction. A test that uses such a fixture runs in a
    savepoint of that transaction, rolled back after the test, so each starts from the same
    seed. The seed's ORM objects are detached: read their loaded attributes, or load them again
    in the test's session.
    """

    def seed(builder):
        if module_connection.in_nested_transaction():
            raise RuntimeError("build module seeds in a module-scoped fixture, not inside a test")
        with app.app_context(), _session_on(module_connection) as session:
            result = builder(session)
            session.commit()  # releases the builder's savepoint; the module's transaction stays
        return result

    return seed


@pytest.fixture
def session(app, request):
    """db.session in a transaction rolled back after the test (a savepoint of the module's
    transaction when the test uses `module_seed`). Per-process caches start empty: a cached row
    must not outlive the rollback of the test that wrote it."""
    TtlCache.clear_all()
    with app.app_context():
        if "module_seed" in request.fixturenames:
            connection = request.getfixturevalue("module_connection")
            transaction = connection.begin_nested()
            try:
                with _session_on(connection) as session:
                    yield session
            finally:
                transaction.rollback()
            return
        connection = db.engine.connect()
        transaction = connection.begin()
        try:
            with _session_on(connection) as session:
                yield session
        finally:
            transaction.rollback()
            connection.close()


@pytest.fixture
def client(app, session):
    return app.test_client()


@pytest.fixture
def real_password_cost(app):
    """Argon2id at the production cost for one test (the suite hashes at the minimal cost)."""
    from app.auth import passwords

    passwords.configure("owasp", env=app.config["TIERMALL_ENV"])
    try:
        yield
    finally:
        passwords.configure(app.config["PASSWORD_HASH_COST"], env=app.config["TIERMALL_ENV"])


@pytest.fixture
def export_dir(app, tmp_path, monkeypatch):
    """Finance exports write their files under a fresh folder of the test's own."""
    monkeypatch.setitem(app.config, "EXPORT_DIR", str(tmp_path))
    return tmp_path
