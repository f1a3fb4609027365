"""tiermall: the application factory."""

from flask import Flask

from app.config import INSTANCE_DIR, check_config, load_config


def create_app(test_config: dict | None = None) -> Flask:
    """config → extensions → blueprints → errors → CLI."""
    app = Flask(__name__, instance_path=str(INSTANCE_DIR))
    app.config.update(load_config())
    if test_config:
        app.config.update(test_config)
    check_config(app.config)
    from app.auth import passwords

    passwords.configure(app.config["PASSWORD_HASH_COST"], env=app.config["TIERMALL_ENV"])
    # SQL parameters are personal data (phones, names): never in logs or exception texts.
    app.config["SQLALCHEMY_ENGINE_OPTIONS"] = {
        **app.config.get("SQLALCHEMY_ENGINE_OPTIONS", {}), "hide_parameters": True}
    app.config["SQLALCHEMY_ECHO"] = False
    INSTANCE_DIR.mkdir(exist_ok=True)

    from app import models  # noqa: F401  (every model registered before the mapper is used)
    from app.auth.request import init_request_scope
    from app.extensions import api, db, migrate
    from app.platform.tasks import celery_init_app

    db.init_app(app)
    migrate.init_app(app, db, directory=str(INSTANCE_DIR.parent / "migrations"))
    api.init_app(app)
    celery = celery_init_app(app)

    from app.platform import metrics
    from app.platform.logs import configure_logging, init_request_logging

    configure_logging(level=app.config["LOG_LEVEL"], fmt=app.config["LOG_FORMAT"])
    init_request_logging(app, on_response=metrics.observe_request)  # first before_request: the id

    from app.bootstrap import bootstrap

    bootstrap(app, celery)  # every domain's event handlers, tasks and beat entries, wired once

    from app.errors import register_error_handlers
    from app.routes import register_blueprints

    register_blueprints(app, api)
    register_error_handlers(app)
    init_request_scope(app)

    from app.cli import register_cli

    register_cli(app)
    return app
