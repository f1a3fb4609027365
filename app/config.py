"""The only place that reads the environment."""

import os
from pathlib import Path

INSTANCE_DIR = Path(__file__).resolve().parent.parent / "instance"


DEMO_SECRET_KEY = "demo-only-secret-key-change-me-0123456789"  # published: signs nothing real
MIN_SECRET_BYTES = 32


class ConfigError(RuntimeError):
    """The environment does not describe a runnable app."""


def _env(name: str, default: str | None = None) -> str | None:
    value = os.environ.get(name)
    return value if value not in (None, "") else default


def _engine_options(database_url: str, statement_timeout_ms: int) -> dict:
    options: dict = {"pool_pre_ping": True}
    if database_url.startswith("postgresql") and statement_timeout_ms > 0:
        options["connect_args"] = {"options": f"-c statement_timeout={statement_timeout_ms}"}
    return options


def load_config() -> dict:
    """Settings from the environment, with the embedded demo defaults."""
    env = _env("TIERMALL_ENV", "demo")
    database_url = _env("DATABASE_URL", f"sqlite:///{INSTANCE_DIR / 'tiermall.db'}")
    secret_key = _env("SECRET_KEY", DEMO_SECRET_KEY)  # check_config refuses it outside the demo
    broker = _env("CELERY_BROKER_URL")
    # below gunicorn's 30 s worker timeout, so that a slow statement answers the JSON 503
    statement_timeout_ms = int(_env("DB_STATEMENT_TIMEOUT_MS", "15000"))
    broker_timeout = float(_env("CELERY_BROKER_TIMEOUT", "1.0"))
    platform_token = _env("PLATFORM_API_TOKEN")  # unset: the platform API answers 401
    if platform_token is not None and len(platform_token) < 32:
        raise ConfigError("PLATFORM_API_TOKEN must be at least 32 characters")
    metrics_token = _env("METRICS_TOKEN")  # unset: GET /metrics answers 401 (metrics off)
    if metrics_token is not None and len(metrics_token) < 32:
        raise ConfigError("METRICS_TOKEN must be at least 32 characters")
    return {
        "TIERMALL_ENV": env,
        "SECRET_KEY": secret_key,
        "PLATFORM_API_TOKEN": platform_token,
        "METRICS_TOKEN": metrics_token,
        "LOG_LEVEL": _env("LOG_LEVEL", "INFO"),
        "LOG_FORMAT": _env("LOG_FORMAT", "json"),  # json lines; "console" for reading by eye
        "SQLALCHEMY_DATABASE_URI": database_url,
        "MIGRATIONS_DATABASE_URL": _env("MIGRATIONS_DATABASE_URL", database_url),
        "SQLALCHEMY_ENGINE_OPTIONS": _engine_options(database_url, statement_timeout_ms),
        "MAX_CONTENT_LENGTH": int(_env("MAX_CONTENT_LENGTH", str(1024 * 1024))),
        "CELERY": {
            "broker_url": broker or "memory://",
            "result_backend": None,
            "task_always_eager": broker is None,
            "task_eager_propagates": True,
            "task_ignore_result": True,
            "beat_schedule": {},
            # A request publishes once with bounded waits: a refused or hung broker costs it
            # about broker_timeout, never a hang; the periodic sweep is the retry.
            "task_publish_retry": False,
            "broker_connection_timeout": broker_timeout,
            "broker_transport_options": {
                "socket_connect_timeout": broker_timeout, "socket_timeout": broker_timeout,
                "max_retries": 0, "retry_on_timeout": False,
            },
            # The worker, by contrast, reconnects for as long as it takes (see docs/operations.md).
            "broker_connection_retry": True,
            "broker_connection_retry_on_startup": True,
            "broker_connection_max_retries": None,
        },
        # After a failed publish, this process skips further publishes for this long (the sweep
        # relays what they would have): one slow request per outage window, not every request.
        "BROKER_PAUSE_SECONDS": float(_env("BROKER_PAUSE_SECONDS", "5")),
        # finance exports: files under EXPORT_DIR (default instance/exports), kept EXPORT_TTL_HOURS;
        # a download link is valid EXPORT_LINK_SECONDS
        "EXPORT_DIR": _env("EXPORT_DIR", str(INSTANCE_DIR / "exports")),
        "EXPORT_TTL_HOURS": int(_env("EXPORT_TTL_HOURS", "72")),
        "EXPORT_LINK_SECONDS": int(_env("EXPORT_LINK_SECONDS", "900")),
        # an export's count and COPY run in a task, not a request: they may take longer than
        # DB_STATEMENT_TIMEOUT_MS (0 = no limit)
        "EXPORT_STATEMENT_TIMEOUT_MS": int(_env("EXPORT_STATEMENT_TIMEOUT_MS", "1800000")),
        "OUTBOX_RETENTION_DAYS": int(_env("OUTBOX_RETENTION_DAYS", "14")),
        "OUTBOX_LAG_LIMIT": int(_env("OUTBOX_LAG_LIMIT", "1000")),
        "OUTBOX_AGE_LIMIT_SECONDS": int(_env("OUTBOX_AGE_LIMIT_SECONDS", "300")),
        "OUTBOX_DEAD_LIMIT": int(_env("OUTBOX_DEAD_LIMIT", "0")),
        "ACCESS_TOKEN_SECONDS": int(_env("ACCESS_TOKEN_SECONDS", "900")),
        "REFRESH_TOKEN_DAYS": int(_env("REFRESH_TOKEN_DAYS", "30")),
        "LOGIN_MAX_FAILURES": int(_env("LOGIN_MAX_FAILURES", "5")),
        "LOGIN_WINDOW_SECONDS": int(_env("LOGIN_WINDOW_SECONDS", "900")),
        # Argon2id cost (app.auth.passwords.COSTS): "owasp"; the test suite runs "minimal".
        "PASSWORD_HASH_COST": _env("PASSWORD_HASH_COST", "owasp"),
        "WECHAT_API_BASE": _env("WECHAT_API_BASE", "https://api.weixin.qq.com"),
        "CONSUMER_LOGIN_PROVIDER": _env("CONSUMER_LOGIN_PROVIDER", "dev" if env == "demo" else "wechat"),
        "STRIPE_API_KEY": _env("STRIPE_API_KEY"),
        "STRIPE_WEBHOOK_SECRET": _env("STRIPE_WEBHOOK_SECRET"),
        "STRIPE_API_BASE": _env("STRIPE_API_BASE"),
        "PAYMENT_GATEWAY": _env("PAYMENT_GATEWAY", "stripe" if _env("STRIPE_API_KEY") else "offline"),
        "API_TITLE": "tiermall",
        "API_VERSION": "v1",
        "OPENAPI_VERSION": "3.0.3",
        "OPENAPI_URL_PREFIX": "/",
        "OPENAPI_JSON_PATH": "openapi.json",
        "OPENAPI_SWAGGER_UI_PATH": "/docs",
        # Swagger UI's assets come from the pinned flask-swagger-ui package, served by the app
        # itself (app.errors.TiermallApi): /docs works offline and never loads a CDN script.
        "OPENAPI_SWAGGER_UI_URL": "/docs/assets/",
    }


def check_config(config: dict) -> None:
    """Refuse to start where tokens would be signed with a known or short key, or where the
    dev consumer login (any code signs in) would face real users. Runs after test overrides."""
    env = config["TIERMALL_ENV"]
    demo_on_sqlite = env == "demo" and str(config["SQLALCHEMY_DATABASE_URI"]).startswith("sqlite")
    secret = config.get("SECRET_KEY") or ""
    if not demo_on_sqlite and (secret == DEMO_SECRET_KEY or len(secret.encode()) < MIN_SECRET_BYTES):
        raise ConfigError(f"SECRET_KEY of at least {MIN_SECRET_BYTES} bytes is required unless"
                          " TIERMALL_ENV=demo on SQLite (the demo key is published)")
    if env == "production" and config.get("CONSUMER_LOGIN_PROVIDER") == "dev":
        raise ConfigError("CONSUMER_LOGIN_PROVIDER=dev signs anyone in; it is refused in production")
