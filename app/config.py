"""The only place that reads the environment."""

import os
from pathlib import Path

INSTANCE_DIR = Path(__file__).resolve().parent.parent / "instance"


class ConfigError(RuntimeError):
    """The environment does not describe a runnable app."""


def _env(name: str, default: str | None = None) -> str | None:
    value = os.environ.get(name)
    return value if value not in (None, "") else default


def load_config() -> dict:
    """Settings from the environment, with the embedded demo defaults."""
    env = _env("TIERMALL_ENV", "demo")
    database_url = _env("DATABASE_URL", f"sqlite:///{INSTANCE_DIR / 'tiermall.db'}")
    secret_key = _env("SECRET_KEY")
    if secret_key is None:
        if env == "production":
            raise ConfigError("SECRET_KEY is required when TIERMALL_ENV=production")
        secret_key = "demo-only-secret-key-change-me-0123456789"
    broker = _env("CELERY_BROKER_URL")
    platform_token = _env("PLATFORM_API_TOKEN")  # unset: the platform API answers 401
    if platform_token is not None and len(platform_token) < 32:
        raise ConfigError("PLATFORM_API_TOKEN must be at least 32 characters")
    return {
        "TIERMALL_ENV": env,
        "SECRET_KEY": secret_key,
        "PLATFORM_API_TOKEN": platform_token,
        "SQLALCHEMY_DATABASE_URI": database_url,
        "MIGRATIONS_DATABASE_URL": _env("MIGRATIONS_DATABASE_URL", database_url),
        "SQLALCHEMY_ENGINE_OPTIONS": {"pool_pre_ping": True},
        "MAX_CONTENT_LENGTH": int(_env("MAX_CONTENT_LENGTH", str(1024 * 1024))),
        "CELERY": {
            "broker_url": broker or "memory://",
            "result_backend": None,
            "task_always_eager": broker is None,
            "task_eager_propagates": True,
            "task_ignore_result": True,
            "beat_schedule": {},
        },
        "ACCESS_TOKEN_SECONDS": int(_env("ACCESS_TOKEN_SECONDS", "900")),
        "REFRESH_TOKEN_DAYS": int(_env("REFRESH_TOKEN_DAYS", "30")),
        "LOGIN_MAX_FAILURES": int(_env("LOGIN_MAX_FAILURES", "5")),
        "LOGIN_WINDOW_SECONDS": int(_env("LOGIN_WINDOW_SECONDS", "900")),
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
        "OPENAPI_SWAGGER_UI_URL": "https://cdn.jsdelivr.net/npm/swagger-ui-dist/",
        "OPENAPI_REDOC_PATH": "/redoc",
        "OPENAPI_REDOC_URL": "https://cdn.jsdelivr.net/npm/redoc/bundles/redoc.standalone.js",
    }
