"""Error pages in the site's layout, and the mapping of domain errors to HTTP answers."""

from __future__ import annotations

import logging

import sqlalchemy.exc as sa_exc
from flask import Flask, g, render_template, request
from flask_login import current_user
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

from portal import resubmit
from portal.errors import PortalError
from portal.extensions import db, login_manager
from portal.security import Unverified

log = logging.getLogger("portal.errors")

MESSAGES = {
    400: ("Bad request", "The request could not be understood. Please go back and try again."),
    403: ("Access denied", "You do not have permission to see this page."),
    404: ("Page not found", "We could not find the page you asked for."),
    405: ("Method not allowed", "This page cannot be used that way."),
    409: ("Conflict", "That change conflicts with the current state of the portal."),
    413: ("Too much data", "What you sent is larger than the portal accepts."),
    429: ("Too many requests", "You have made too many requests. Please wait and try again."),
    500: ("Something went wrong", "An unexpected error happened. It has been logged."),
    503: (
        "Temporarily unavailable",
        "The portal cannot reach its database right now. Nothing you sent was half-saved; "
        "please try again in a minute.",
    ),
}


def _safe_current_user() -> None:
    """Error pages must render even when the database is down: fall back to anonymous."""
    try:
        _ = current_user.is_authenticated
    except Exception:
        db.session.rollback()
        g._login_user = login_manager.anonymous_user()


def render_error(status: int, message: str | None = None, headers: dict | None = None):
    _safe_current_user()
    title, default = MESSAGES.get(status, MESSAGES[500] if status >= 500 else MESSAGES[400])
    body = render_template("errors/error.html", status=status, title=title,
                           message=message or default)
    return body, status, headers or {}


def init_app(app: Flask) -> None:
    @app.errorhandler(CSRFError)
    def _csrf(err):
        log.warning("csrf rejected rule=%s", request.url_rule.rule if request.url_rule else "-")
        if resubmit.renderer_for(request.endpoint) is not None:
            # A member form: it comes back filled in, with a fresh token.
            _safe_current_user()
            try:
                return resubmit.stale_form()
            except PortalError:  # the objective, survey ... is gone: nothing to fill in
                db.session.rollback()
        return render_error(400, "Your form expired or was sent from elsewhere. "
                                 "Please reload the page and try again.")

    @app.errorhandler(PortalError)
    def _domain(err: PortalError):
        db.session.rollback()
        return render_error(err.status, err.message)

    @app.errorhandler(HTTPException)
    def _http(err: HTTPException):
        if isinstance(err, Unverified):
            _safe_current_user()
            return render_template("auth/unverified.html"), 403
        status = err.code or 500
        headers = {}
        if status == 429:
            retry = getattr(err, "retry_after", None)
            if retry is None and err.response is not None:
                retry = err.response.headers.get("Retry-After")
            headers["Retry-After"] = str(retry or 60)
        if status == 405 and getattr(err, "valid_methods", None):
            headers["Allow"] = ", ".join(err.valid_methods)
        desc = err.description if status in (403, 400) and _is_custom(err) else None
        return render_error(status, desc, headers)

    def _rollback_quietly() -> None:
        """Roll back a session whose connection may be gone: while the database shuts
        down the ROLLBACK itself fails, and that must not turn the 503 into a 500."""
        try:
            db.session.rollback()
        except sa_exc.SQLAlchemyError:
            db.session.remove()

    @app.errorhandler(sa_exc.OperationalError)
    @app.errorhandler(sa_exc.InterfaceError)
    def _db_unavailable(err):
        _rollback_quietly()
        log.error("database unavailable: %s", type(err.orig).__name__ if err.orig else err)
        return render_error(503, headers={"Retry-After": "30"})

    @app.errorhandler(sa_exc.DataError)
    @app.errorhandler(OverflowError)
    def _bad_value(err):
        # A number or text the database cannot hold (an id past its integer range): the
        # request was wrong, the portal is fine.
        _rollback_quietly()
        log.warning("value refused by the database on %s: %s",
                    request.url_rule.rule if request.url_rule else "-", type(err).__name__)
        return render_error(400)

    @app.errorhandler(sa_exc.InternalError)
    def _db_internal(err):
        _rollback_quietly()
        # A read-only or full database is an outage, not a bug.
        log.error("database refused the write: %s", type(err.orig).__name__ if err.orig else err)
        return render_error(503, headers={"Retry-After": "30"})

    @app.teardown_appcontext
    def _end_session(_exc) -> None:
        # Runs before Flask-SQLAlchemy's own teardown (registered earlier). When the
        # database went away after the answer was built (a restart, a terminated
        # backend), the final ROLLBACK fails: that must not turn a finished request
        # into a 500. SQLAlchemy has already discarded the dead connection.
        try:
            db.session.remove()
        except (sa_exc.OperationalError, sa_exc.InterfaceError, sa_exc.InternalError) as err:
            db.session.registry.clear()
            log.error("database connection lost while ending the request: %s",
                      type(err.orig).__name__ if err.orig else type(err).__name__)

    @app.errorhandler(Exception)
    def _unexpected(err):
        db.session.rollback()
        log.exception("unhandled error on %s", request.url_rule.rule if request.url_rule else "-")
        return render_error(500)


def _is_custom(err: HTTPException) -> bool:
    return type(err).description != err.description
