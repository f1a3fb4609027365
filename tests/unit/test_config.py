"""Safe configuration: no published or short signing key outside the demo on SQLite, no dev login
in production."""

import pytest

from app.config import DEMO_SECRET_KEY, ConfigError, check_config, load_config

POSTGRES = "postgresql+psycopg://app@db/tiermall"
SQLITE = "sqlite:///instance/tiermall.db"
STRONG = "k" * 32


def config(env="test", db=POSTGRES, secret=None, provider="wechat") -> dict:
    return {"TIERMALL_ENV": env, "SQLALCHEMY_DATABASE_URI": db, "SECRET_KEY": secret,
            "CONSUMER_LOGIN_PROVIDER": provider}


@pytest.mark.parametrize("env, db", [("test", POSTGRES), ("test", SQLITE), ("production", POSTGRES),
                                     ("demo", POSTGRES), ("staging", SQLITE)])
@pytest.mark.parametrize("secret", [None, "", DEMO_SECRET_KEY, "k" * 31, "密" * 10])
def test_anything_but_the_demo_on_sqlite_refuses_a_missing_published_or_short_key(env, db, secret):
    with pytest.raises(ConfigError, match="SECRET_KEY"):
        check_config(config(env, db, secret))


@pytest.mark.parametrize("env, db", [("test", POSTGRES), ("production", POSTGRES), ("demo", POSTGRES)])
def test_a_key_of_32_bytes_starts(env, db):
    check_config(config(env, db, STRONG))
    check_config(config(env, db, "密" * 11))  # 33 bytes in UTF-8


def test_the_demo_on_sqlite_starts_with_the_published_key(monkeypatch):
    for name in ("TIERMALL_ENV", "DATABASE_URL", "SECRET_KEY"):
        monkeypatch.delenv(name, raising=False)
    loaded = load_config()
    assert loaded["SECRET_KEY"] == DEMO_SECRET_KEY
    check_config(loaded)


def test_the_environment_alone_cannot_start_postgres_with_the_demo_key(monkeypatch):
    monkeypatch.setenv("TIERMALL_ENV", "test")
    monkeypatch.setenv("DATABASE_URL", POSTGRES)
    monkeypatch.delenv("SECRET_KEY", raising=False)
    with pytest.raises(ConfigError):
        check_config(load_config())


def test_the_dev_consumer_login_is_refused_in_production():
    with pytest.raises(ConfigError, match="CONSUMER_LOGIN_PROVIDER"):
        check_config(config("production", POSTGRES, STRONG, provider="dev"))
    check_config(config("test", POSTGRES, STRONG, provider="dev"))
