"""A throwaway PostgreSQL database for a benchmark: its two roles, migrated, and dropped after."""

import os
import subprocess
import sys
from pathlib import Path

from sqlalchemy import create_engine, text

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from app.tenancy.roles import create_roles  # noqa: E402

SERVER = "postgresql+psycopg://postgres@127.0.0.1:5432"


def urls(db: str) -> tuple[str, str, str]:
    """(admin, owner, app) URLs of the benchmark database `db`."""
    return (f"{SERVER}/{db}", f"postgresql+psycopg://{db}_owner:owner-secret@127.0.0.1:5432/{db}",
            f"postgresql+psycopg://{db}_app:app-secret@127.0.0.1:5432/{db}")


def _drop(db: str, *, roles: bool) -> None:
    engine = create_engine(f"{SERVER}/postgres", isolation_level="AUTOCOMMIT")
    with engine.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)'))
        for role in (f"{db}_app", f"{db}_owner") if roles else ():
            connection.execute(text(f'DROP ROLE IF EXISTS "{role}"'))
    engine.dispose()


def recreate_database(db: str, secret: str) -> None:
    """A fresh database with the owner and app roles, migrated by the owner."""
    _drop(db, roles=False)
    engine = create_engine(f"{SERVER}/postgres", isolation_level="AUTOCOMMIT")
    with engine.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{db}"'))
    engine.dispose()
    admin, owner, app = urls(db)
    create_roles(admin, owner, app)
    env = {**os.environ, "DATABASE_URL": app, "MIGRATIONS_DATABASE_URL": owner, "SECRET_KEY": secret}
    subprocess.run([sys.executable, "-m", "flask", "--app", "wsgi", "db", "upgrade"],
                   cwd=ROOT, env=env, check=True, capture_output=True)


def drop_database(db: str, *, roles: bool = False) -> None:
    _drop(db, roles=roles)


def exists(db: str) -> bool:
    engine = create_engine(f"{SERVER}/postgres")
    with engine.connect() as connection:
        found = connection.execute(text("SELECT 1 FROM pg_database WHERE datname = :db"), {"db": db}).first()
    engine.dispose()
    return found is not None


def analyze(db: str) -> None:
    """VACUUM ANALYZE the freshly seeded database: a running one has statistics (autovacuum), and
    without them the planner guesses (a coupon by id read through an unrelated index, 10 ms)."""
    engine = create_engine(urls(db)[0], isolation_level="AUTOCOMMIT")
    with engine.connect() as connection:
        connection.execute(text("VACUUM ANALYZE"))
    engine.dispose()
