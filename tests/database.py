"""Builds the test database: a fresh PostgreSQL database, its two roles, and migrations."""

import os

from sqlalchemy import create_engine, text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.orm import Session
from sqlalchemy.pool import NullPool

DEFAULT_SERVER = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"


def test_urls() -> tuple[URL, URL, URL]:
    """(admin on the test db, owner, app); TEST_DATABASE_URL points at the server."""
    server = make_url(os.environ.get("TEST_DATABASE_URL") or DEFAULT_SERVER)
    if server.drivername == "postgresql":
        server = server.set(drivername="postgresql+psycopg")
    name = os.environ.get("TEST_DB_NAME", "tiermall_test")
    admin = server.set(database=name)
    owner = server.set(username=f"{name}_owner", password="owner-secret", database=name)
    app = server.set(username=f"{name}_app", password="app-secret", database=name)
    return admin, owner, app


def admin_session() -> Session:
    """A session as the superuser on the test database (no RLS), on a connection of its own:
    what a concurrency test sets up and commits before its threads start."""
    return Session(create_engine(test_urls()[0], poolclass=NullPool))


def recreate_database() -> None:
    admin, _, _ = test_urls()
    engine = create_engine(admin.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with engine.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{admin.database}" WITH (FORCE)'))
        connection.execute(text(f'CREATE DATABASE "{admin.database}"'))
    engine.dispose()


def url_text(url: URL) -> str:
    return url.render_as_string(hide_password=False)
