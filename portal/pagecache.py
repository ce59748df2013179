"""Short-lived shared copies of the public pages, for anonymous visitors only.

The plan pages are what a launch-day crowd opens first, mostly without signing in,
and they change only when an admin edits the plan, a round opens or closes, or a
comment is written or moderated. Rendering them once per few seconds per worker
process instead of once per visitor keeps the portal responsive under that load.

A copy is made and served only when nothing about the page is personal:
- the visitor is not signed in and has no message waiting (a flash after sign-out);
- rendering it wrote nothing into the visitor's session (no CSRF token, no visit);
- the page was a plain 200 answer to a GET.
Signed-in members, leaders and admins always see the page as it is now, so their own
edits, comments and moderation show at once; anonymous visitors see them within
PUBLIC_PAGE_CACHE_SECONDS (default 5). The copies live in each worker's memory
(Flask-Caching's SimpleCache), bounded in number, and vanish with the process.
"""

from __future__ import annotations

from flask import Flask, Response, request, session
from flask_login import current_user

from portal.extensions import cache

# Enough for every public page of a plan with its comment pages and sort orders.
MAX_PAGES = 1000


def init_app(app: Flask) -> None:
    seconds = app.config.get("PUBLIC_PAGE_CACHE_SECONDS", 0)
    cache.init_app(app, config={
        "CACHE_TYPE": "SimpleCache" if seconds > 0 else "NullCache",
        "CACHE_DEFAULT_TIMEOUT": seconds,
        "CACHE_THRESHOLD": MAX_PAGES,
        "CACHE_KEY_PREFIX": "page:",
        "CACHE_NO_NULL_WARNING": True,  # 0 seconds: switched off on purpose
    })


def _personal() -> bool:
    """True when this request must get its own rendering."""
    if request.method != "GET" or session.get("_flashes") or "_user_id" in session:
        return True
    return current_user.is_authenticated  # e.g. signed in by a "keep me signed in" cookie


def _shareable(rv) -> bool:
    """Keep a copy only of a plain 200 page whose rendering wrote nothing personal."""
    if session.modified:
        return False
    if isinstance(rv, tuple):
        status = rv[1] if len(rv) > 1 and isinstance(rv[1], int) else 200
        body = rv[0]
    else:
        status, body = (rv.status_code, rv) if isinstance(rv, Response) else (200, rv)
    if status != 200:
        return False
    if isinstance(body, Response):
        return body.status_code == 200 and "Set-Cookie" not in body.headers
    return isinstance(body, str)


def anonymous_page(view):
    """Decorate a public GET view whose anonymous rendering may be shared for a few
    seconds. The query string is part of the key (page and sort of comments)."""
    return cache.cached(query_string=True, unless=_personal, response_filter=_shareable)(view)
