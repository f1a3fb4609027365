"""UtcDateTime: one moment in, the same moment out as aware UTC, on SQLite and PostgreSQL."""

from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy import Column, Integer, MetaData, Table, create_engine, insert, select, text
from sqlalchemy.exc import StatementError
from sqlalchemy.pool import NullPool

from app.db import UtcDateTime
from tests import database
from tests.factories import make_tenant

SHANGHAI = timezone(timedelta(hours=8))
MOMENT = datetime(2026, 12, 1, 9, 30, 15, 123456, tzinfo=SHANGHAI)  # 01:30:15 UTC

metadata = MetaData()
moments = Table("utc_moments", metadata, Column("id", Integer, primary_key=True),
                Column("at", UtcDateTime), prefixes=["TEMPORARY"])


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def connection(request):
    if request.param == "sqlite":
        engine = create_engine("sqlite://")
    else:
        admin, _, _ = database.test_urls()
        engine = create_engine(admin, poolclass=NullPool)
    with engine.connect() as connection:
        if request.param == "postgresql":  # psycopg answers in the session's zone: not UTC here
            connection.execute(text("SET TIME ZONE 'Asia/Shanghai'"))
        metadata.create_all(connection)
        yield connection
        connection.rollback()
    engine.dispose()


def test_a_moment_comes_back_as_the_same_moment_in_aware_utc(connection):
    connection.execute(insert(moments).values(id=1, at=MOMENT))
    back = connection.scalar(select(moments.c.at).where(moments.c.id == 1))
    assert back == MOMENT
    assert back.utcoffset() == timedelta(0)
    assert back.isoformat() == "2026-12-01T01:30:15.123456+00:00"


def test_a_comparison_with_a_bound_moment_in_another_zone_compares_moments(connection):
    connection.execute(insert(moments).values(id=1, at=MOMENT))
    just_before = (MOMENT - timedelta(microseconds=1)).astimezone(timezone(timedelta(hours=-5)))
    assert connection.scalar(select(moments.c.id).where(moments.c.at > just_before)) == 1
    assert connection.scalar(select(moments.c.id).where(moments.c.at > MOMENT)) is None


def test_null_stays_null(connection):
    connection.execute(insert(moments).values(id=1, at=None))
    assert connection.scalar(select(moments.c.at)) is None


def test_a_naive_datetime_is_refused_not_guessed(connection):
    with pytest.raises(StatementError, match="naive datetime"):
        connection.execute(insert(moments).values(id=1, at=datetime(2026, 12, 1, 9, 30)))


def test_a_model_timestamp_read_back_from_the_test_database_is_aware_utc(session):
    tenant = make_tenant(session).tenant
    session.flush()
    session.expire(tenant)
    assert tenant.created_at.tzinfo is not None and tenant.created_at.utcoffset() == timedelta(0)
    assert tenant.created_at <= datetime.now(UTC)
