"""What a member has already seen, for "updated since your last visit".

The baseline is the member's previous sign-in (stored when they sign in, a POST);
objectives opened during this session are remembered in the signed session
cookie. Nothing is written to the database by a GET.
"""

from __future__ import annotations

from datetime import datetime

from flask import session

from portal.models import User
from portal.timeutil import now_utc

SEEN_KEY = "seen_objectives"


def seen_map() -> dict[int, datetime]:
    raw = session.get(SEEN_KEY)
    if not isinstance(raw, dict):
        return {}
    out: dict[int, datetime] = {}
    for key, value in raw.items():
        try:
            out[int(key)] = datetime.fromisoformat(value)
        except (TypeError, ValueError):
            continue
    return out


def last_seen(user: User, objective_id: int, seen: dict[int, datetime] | None = None
              ) -> datetime | None:
    """When the member last saw this objective: this session's visit, else their
    previous sign-in (None for a member signing in for the first time)."""
    seen = seen_map() if seen is None else seen
    moments = [m for m in (user.previous_login_at, seen.get(objective_id)) if m is not None]
    return max(moments) if moments else None


def mark_seen(objective_id: int, now: datetime | None = None) -> None:
    raw = session.get(SEEN_KEY)
    raw = dict(raw) if isinstance(raw, dict) else {}
    raw[str(objective_id)] = (now or now_utc()).isoformat()
    session[SEEN_KEY] = raw
