"""Each person's time zone: which zones exist, which one a page or an e-mail is shown in,
and converting between it and the naive UTC the database stores.

Stored times stay naive UTC (portal/timeutil.py). Only what a person reads or types is in
their zone: pages of a signed-in person use `users.time_zone`; an e-mail is composed
inside `shown_in(recipient.time_zone)`; everyone else (visitors, jobs, exports) sees UTC.
Conversions go through zoneinfo, so daylight saving time is right on both sides of each
change; a zone that cannot be loaded is shown as UTC rather than failing the page.
"""

from __future__ import annotations

import functools
import zoneinfo
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, date, datetime, timedelta, tzinfo

from flask import has_request_context

DEFAULT = "UTC"
MAX_LENGTH = 64  # users.time_zone
# The regions the zone select groups by; other names (US/Eastern, EST5EDT ...) are
# accepted when typed or guessed by a browser, but not offered.
REGIONS = ("Africa", "America", "Antarctica", "Asia", "Atlantic", "Australia", "Europe",
           "Indian", "Pacific")
DATETIME_FORMAT = "%-d %B %Y, %H:%M"
DATE_FORMAT = "%-d %B %Y"

_shown: ContextVar[str | None] = ContextVar("portal_shown_zone", default=None)


@functools.cache
def available() -> frozenset[str]:
    """Every zone name the system's tz database knows (read once per process)."""
    return frozenset(zoneinfo.available_timezones()) | {DEFAULT}


def is_valid(name: object) -> bool:
    return isinstance(name, str) and 0 < len(name) <= MAX_LENGTH and name in available()


def normalise(name: object) -> str:
    """`name` when it is a known zone, otherwise UTC (a guess from a browser may be
    missing or odd; it never stops a registration)."""
    return name if is_valid(name) else DEFAULT


@functools.cache
def _load(name: str) -> tzinfo:
    try:
        return zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError, OSError):
        return UTC


def zone(name: str | None) -> tzinfo:
    """The tzinfo for `name`; UTC for an unknown or unloadable name."""
    if not name or not is_valid(name):
        return UTC
    return _load(name)


def choices() -> list[tuple[str, str, str]]:
    """(value, label, group) for the zone select: UTC first, then each region's zones
    in alphabetical order, labelled "Chicago" under "America"."""
    out = [(DEFAULT, "UTC (Coordinated Universal Time)", "")]
    for name in sorted(available()):
        region, _, place = name.partition("/")
        if region in REGIONS and place:
            out.append((name, place.replace("_", " ").replace("/", " / "), region))
    return out


# Which zone is shown ----------------------------------------------------------------

def current_name() -> str:
    """The zone of what is being rendered: an e-mail's recipient (`shown_in`), else the
    signed-in person of the request, else UTC."""
    override = _shown.get()
    if override is not None:
        return override
    if not has_request_context():
        return DEFAULT
    from flask_login import current_user
    from sqlalchemy.exc import SQLAlchemyError

    try:
        if current_user and current_user.is_authenticated:
            return normalise(getattr(current_user, "time_zone", None))
    except SQLAlchemyError:  # an error page while the database is away
        pass
    return DEFAULT


@contextmanager
def shown_in(name: str | None) -> Iterator[str]:
    """Compose text (an e-mail) in the zone `name` (UTC when unknown)."""
    token = _shown.set(normalise(name))
    try:
        yield _shown.get() or DEFAULT
    finally:
        _shown.reset(token)


# Conversions ------------------------------------------------------------------------

def to_local(value: datetime, name: str | None = None) -> datetime:
    """A stored naive-UTC (or aware) datetime as an aware datetime in the zone."""
    aware = value.replace(tzinfo=UTC) if value.tzinfo is None else value
    return aware.astimezone(zone(name if name is not None else current_name()))


def to_utc(local: datetime, name: str | None = None) -> datetime:
    """A naive wall-clock time typed in the zone, as the naive UTC to store. An
    ambiguous time (the hour repeated when clocks go back) is its first occurrence."""
    tz = zone(name if name is not None else current_name())
    return local.replace(tzinfo=tz, fold=0).astimezone(UTC).replace(tzinfo=None)


def exists(local: datetime, name: str | None = None) -> bool:
    """False for a wall-clock time skipped when clocks go forward (02:30 on the spring
    change in New York): it names no instant, so a form refuses it."""
    tz = zone(name if name is not None else current_name())
    aware = local.replace(tzinfo=tz, fold=0)
    back = aware.astimezone(UTC).astimezone(tz)
    return back.replace(tzinfo=None) == local


def abbreviation(aware: datetime) -> str:
    """The zone as people write it at that instant: "EST", "CEST", "UTC"; a zone whose
    database has no letters ("+03") shows its offset, "UTC+3" or "UTC+5:30"."""
    abbr = aware.tzname() or ""
    if abbr.isalpha():
        return abbr
    offset = aware.utcoffset() or timedelta(0)
    sign = "+" if offset >= timedelta(0) else "\u2212"
    minutes = abs(int(offset.total_seconds())) // 60
    hours, rest = divmod(minutes, 60)
    return f"UTC{sign}{hours}" + (f":{rest:02d}" if rest else "")


def format_datetime(value: datetime | None, fmt: str = DATETIME_FORMAT,
                    name: str | None = None) -> str:
    """'3 December 2026, 14:00 EST': the stored time in the reader's zone, named."""
    if not value:
        return ""
    local = to_local(value, name)
    return f"{local.strftime(fmt)} {abbreviation(local)}"


def format_date(value: date | datetime | None, name: str | None = None) -> str:
    """The day in the reader's zone (a datetime near midnight UTC may fall on another
    day there); a plain date (a due date) is shown as it is."""
    if not value:
        return ""
    if isinstance(value, datetime):
        value = to_local(value, name)
    return value.strftime(DATE_FORMAT)


def label() -> str:
    """The current zone's name for form labels and hints ("America/Chicago")."""
    return current_name()
