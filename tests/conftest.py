"""Fixtures: one migrated PostgreSQL database per run, one rolled-back transaction per test."""

import os

import pytest
from flask import has_request_context, request
from flask_migrate import upgrade
from flask_sqlalchemy.session import _app_ctx_id
from sqlalchemy.orm import scoped_session, sessionmaker

from app import create_app
from app.extensions import db
from app.tenancy.roles import create_roles
from app.tenancy.scope import set_current_scope
from tests.database import recreate_database, test_urls, url_text
from tests.support.apps import TEST_SECRET_KEY

ON_SQLITE = os.environ.get("TEST_DATABASE") == "sqlite"


def pytest_collection_modifyitems(config, items):
    """On SQLite (the demo's database) run what does not need PostgreSQL's roles, RLS or races."""
    if ON_SQLITE:
        skip = pytest.mark.skip(reason="needs PostgreSQL")
        for item in items:
            if item.get_closest_marker("postgres") or item.get_closest_marker("broker"):
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
    })
    with app.app_context():
        upgrade(revision="heads")
    return app


def _context_id() -> tuple[int, int]:
    """One session per request and per app context (an eager task pushes its own)."""
    return (id(request._get_current_object()) if has_request_context() else 0), _app_ctx_id()


@pytest.fixture
def session(app):
    """db.session bound to one connection whose transaction is rolled back after the test.

    Code under test may commit: each commit only releases a savepoint inside that transaction.
    A request (and an eager task, in its own app context) gets its own session, as in
    production, so it never expires the objects the test body holds.
    """
    with app.app_context():
        connection = db.engine.connect()
        transaction = connection.begin()
        factory = sessionmaker(bind=connection, join_transaction_mode="create_savepoint",
                               expire_on_commit=False)
        original = db.session
        db.session = scoped_session(factory, scopefunc=_context_id)
        try:
            yield db.session
        finally:
            db.session.remove()
            db.session = original
            transaction.rollback()
            connection.close()
            set_current_scope(None)


@pytest.fixture
def client(app, session):
    return app.test_client()
