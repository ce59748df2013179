"""Time in one place: aware UTC everywhere in the code, naive UTC in the database."""

from datetime import UTC, datetime


def now_utc() -> datetime:
    """The current time as a naive UTC datetime (what the database columns store)."""
    return datetime.now(UTC).replace(tzinfo=None)


def today_utc():
    return now_utc().date()
