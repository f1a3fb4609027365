"""Alembic environment: runs as the owner role (MIGRATIONS_DATABASE_URL), never as the app."""

import logging
from logging.config import fileConfig

from alembic import context
from flask import current_app
from sqlalchemy import create_engine, pool

config = context.config
# The app has configured logging already (app.platform.logs: JSON lines); alembic.ini's would
# replace its handler for the rest of the process (the test suite migrates in-process).
app_logging = any(handler.get_name() == "tiermall" for handler in logging.getLogger().handlers)
if config.config_file_name and not app_logging:
    fileConfig(config.config_file_name, disable_existing_loggers=False)
log = logging.getLogger("alembic.env")

target_metadata = current_app.extensions["migrate"].db.metadata


def run_migrations_offline() -> None:
    context.configure(url=current_app.config["MIGRATIONS_DATABASE_URL"],
                      target_metadata=target_metadata, literal_binds=True, compare_type=True)
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    engine = create_engine(current_app.config["MIGRATIONS_DATABASE_URL"], poolclass=pool.NullPool)
    with engine.connect() as connection:
        context.configure(connection=connection, target_metadata=target_metadata,
                          compare_type=True, render_as_batch=connection.dialect.name == "sqlite")
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
