"""Jinja filters and context shared by every page."""

from __future__ import annotations

from flask import Flask, request, url_for

from portal import numfmt, privacy, segments, timezones
from portal.markdown import render_markdown

# Every time on a page is in the reader's zone, named ("3 December 2026, 14:00 EST").
format_datetime = timezones.format_datetime
format_date = timezones.format_date


# A comment list builds several links per comment (edit, delete, endorse, flag, reply);
# building each through the URL map costs more than the rest of the comment. The link
# of an id-only route is the same text around the id, so it is built once per process
# (and application root) and then completed with each comment's id.
_ID_MARK = "2147483647"
_url_patterns: dict[tuple[str, str, str], tuple[str, str]] = {}


def id_url(endpoint: str, **values: int) -> str:
    """`url_for(endpoint, <name>=<id>)` for a route whose only variable is one integer id."""
    ((name, ident),) = values.items()
    key = (endpoint, name, request.script_root)
    pattern = _url_patterns.get(key)
    if pattern is None:
        prefix, _, suffix = url_for(endpoint, **{name: int(_ID_MARK)}).partition(_ID_MARK)
        pattern = _url_patterns[key] = (prefix, suffix)
    return f"{pattern[0]}{int(ident)}{pattern[1]}"


def _segment_label(key: str) -> str:
    dim = segments.get(key)
    return dim.label if dim else key


def _sso_providers():
    """The sign-in buttons of the enabled identity providers (portal/sso/)."""
    from portal.sso.services import enabled_providers

    return enabled_providers()


def _activity_unread() -> int:
    """New items on My activity for the signed-in member (one statement), 0 otherwise
    and whenever the database cannot answer (error pages render the navigation too).
    Leaders and admins see the link without the count: their pages keep their fixed
    number of statements, and what is new for them waits on the page itself."""
    from flask_login import current_user
    from sqlalchemy.exc import SQLAlchemyError

    from portal.feedback.activity import unread_count

    if not current_user.is_authenticated or current_user.role != "member":
        return 0
    try:
        return unread_count(current_user)
    except SQLAlchemyError:
        return 0


def init_app(app: Flask) -> None:
    app.jinja_env.globals["id_url"] = id_url
    app.jinja_env.globals["activity_unread"] = _activity_unread
    app.jinja_env.globals["sso_providers"] = _sso_providers
    app.jinja_env.globals["suppression_reason"] = privacy.suppression_reason
    app.jinja_env.filters["markdown"] = render_markdown
    app.jinja_env.filters["datetime"] = format_datetime
    app.jinja_env.filters["date"] = format_date
    app.jinja_env.filters["segment_label"] = _segment_label
    numfmt.init_app(app)
    app.jinja_env.trim_blocks = True
    app.jinja_env.lstrip_blocks = True

    @app.context_processor
    def _site_context():
        return {"site_name": "Member Feedback Portal", "url_rules": app.view_functions}
