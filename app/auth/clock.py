"""UTC time for auth rows, alike on PostgreSQL and SQLite."""

from datetime import UTC, datetime


def utcnow() -> datetime:
    return datetime.now(UTC)


def aware(moment: datetime) -> datetime:
    """SQLite hands back naive datetimes; every auth time is stored in UTC."""
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
