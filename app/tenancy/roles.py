"""Creates the two PostgreSQL roles: the owner (runs migrations) and the app (owns nothing)."""

import click
from flask import current_app
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url


def create_roles(admin_url: str, owner_url: str, app_url: str) -> None:
    """Idempotently create roles from the user names and passwords in the two URLs."""
    owner, app = make_url(owner_url), make_url(app_url)
    if owner.username == app.username:
        raise click.UsageError("DATABASE_URL must use a different role than the migrations owner")
    engine = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with engine.connect() as connection:
        admin_user = connection.scalar(text("SELECT current_user"))
        if owner.username != admin_user:
            _ensure_role(connection, owner.username, owner.password, "NOSUPERUSER NOBYPASSRLS")
            connection.execute(text(f'ALTER DATABASE "{owner.database}" OWNER TO "{owner.username}"'))
        _ensure_role(connection, app.username, app.password,
                     "NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE")
    engine.dispose()
    owner_engine = create_engine(owner_url, isolation_level="AUTOCOMMIT")
    with owner_engine.connect() as connection:
        for statement in _privileges(owner.database, owner.username, app.username):
            connection.execute(text(statement))
    owner_engine.dispose()


def _ensure_role(connection, name: str, password: str | None, attributes: str) -> None:
    exists = connection.scalar(text("SELECT 1 FROM pg_roles WHERE rolname = :n"), {"n": name})
    verb = "ALTER" if exists else "CREATE"
    connection.execute(text(f'{verb} ROLE "{name}" LOGIN {attributes}'))
    if password:
        quoted = connection.scalar(text("SELECT quote_literal(:p)"), {"p": password})
        connection.execute(text(f'ALTER ROLE "{name}" PASSWORD {quoted}'))


def _privileges(database: str, owner: str, app: str) -> list[str]:
    dml = "SELECT, INSERT, UPDATE, DELETE"
    return [
        f'GRANT CONNECT ON DATABASE "{database}" TO "{app}"',
        # No temp tables: one named like a real table would shadow it in unqualified SQL.
        f'REVOKE TEMPORARY ON DATABASE "{database}" FROM PUBLIC',
        f'REVOKE TEMPORARY ON DATABASE "{database}" FROM "{app}"',
        f'GRANT USAGE ON SCHEMA public TO "{app}"',
        f'GRANT {dml} ON ALL TABLES IN SCHEMA public TO "{app}"',
        f'GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO "{app}"',
        f'ALTER DEFAULT PRIVILEGES FOR ROLE "{owner}" IN SCHEMA public GRANT {dml} ON TABLES TO "{app}"',
        f'ALTER DEFAULT PRIVILEGES FOR ROLE "{owner}" IN SCHEMA public '
        f'GRANT USAGE, SELECT ON SEQUENCES TO "{app}"',
    ]


@click.command("create-roles")
@click.option("--admin-url", envvar="ADMIN_DATABASE_URL", default=None,
              help="A superuser connection (default: MIGRATIONS_DATABASE_URL).")
def create_roles_command(admin_url: str | None) -> None:
    """Create the owner and the restricted app role named in the database URLs."""
    config = current_app.config
    app_url, owner_url = config["SQLALCHEMY_DATABASE_URI"], config["MIGRATIONS_DATABASE_URL"]
    if not app_url.startswith("postgresql"):
        click.echo("create-roles: SQLite has no roles; nothing to do.")
        return
    create_roles(admin_url or owner_url, owner_url, app_url)
    click.echo(f"roles ready: owner {make_url(owner_url).username}, app {make_url(app_url).username}")
