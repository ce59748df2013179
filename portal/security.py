"""Sessions, CSRF, rate limiting, role checks and response headers."""

from __future__ import annotations

import functools
import logging
import time
from functools import wraps

import sqlalchemy as sa
from flask import Flask, abort, current_app, flash, g, redirect, request, session, url_for
from flask.sessions import SecureCookieSessionInterface
from flask_login import current_user, logout_user
from itsdangerous import URLSafeTimedSerializer
from werkzeug.exceptions import Forbidden
from werkzeug.middleware.proxy_fix import ProxyFix
from werkzeug.routing import IntegerConverter as WerkzeugIntegerConverter

from portal import database
from portal.extensions import csrf, db, limiter, login_manager

log = logging.getLogger("portal.security")

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "font-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'self'; "
    "form-action 'self'; frame-ancestors 'none'"
)
SECURITY_HEADERS = (
    ("Content-Security-Policy", CSP),
    ("X-Content-Type-Options", "nosniff"),
    ("Referrer-Policy", "same-origin"),
    ("X-Frame-Options", "DENY"),
    ("Permissions-Policy", "camera=(), microphone=(), geolocation=()"),
    ("Cross-Origin-Opener-Policy", "same-origin"),
)
HSTS_HEADER = (("Strict-Transport-Security", "max-age=31536000; includeSubDomains"),)


def init_app(app: Flask) -> None:
    if app.config.get("TRUSTED_PROXIES"):
        n = app.config["TRUSTED_PROXIES"]
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=n, x_proto=n, x_host=n)  # type: ignore[method-assign]
    # Before any blueprint adds its rules: ids in URLs fit the database's integers, so
    # /comments/99999999999999999999 is a 404 instead of an overflow deep in a query.
    app.url_map.converters["int"] = IntegerConverter
    app.before_request(_refuse_malformed_input)
    csrf.init_app(app)
    limiter.init_app(app)
    _check_app_wide_limits_only_when_declared(app)
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.login_message = "Please sign in to see that page."
    login_manager.login_message_category = "info"
    login_manager.session_protection = "basic"

    # First of all hooks: a request never inherits the signed-in user or CSRF token
    # cached on `g` by an earlier request sharing the same application context
    # (the test suite keeps one open; a server makes a new one per request).
    app.before_request_funcs.setdefault(None, []).insert(0, _fresh_request_state)
    app.before_request(_enforce_session_limits)
    app.before_request(_enforce_access)

    app.session_interface = SessionInterface()
    headers = [(name.lower(), name, value) for name, value in
               SECURITY_HEADERS + (HSTS_HEADER if app.config.get("HSTS") else ())]

    @app.after_request
    def _security_headers(response):
        h = response.headers
        # Only the headers the view did not set itself (as setdefault would), found in
        # one pass over the response's headers instead of one pass per header.
        present = {name.lower() for name, _ in h.items()}
        h.extend([(name, value) for lower, name, value in headers if lower not in present])
        # From the session, not current_user: after the view the user object may be
        # expired and reloading it needs a database that can have gone away meanwhile.
        if session.get("_user_id") and request.endpoint != "static":
            h["Cache-Control"] = "no-store"
        return response


class SessionInterface(SecureCookieSessionInterface):
    """Flask's signed-cookie session, with its signing serializer made once per set of
    keys instead of on every request (making one serialises a probe value and derives
    its signers). Rotating SECRET_KEY or SECRET_KEY_FALLBACKS makes a new one."""

    _serializer: tuple[tuple, URLSafeTimedSerializer | None] | None = None

    def get_signing_serializer(self, app: Flask) -> URLSafeTimedSerializer | None:
        keys = (app.secret_key, tuple(app.config.get("SECRET_KEY_FALLBACKS") or ()))
        cached = self._serializer
        if cached is None or cached[0] != keys:
            cached = self._serializer = (keys, super().get_signing_serializer(app))
        return cached[1]


class IntegerConverter(WerkzeugIntegerConverter):
    """`<int:...>` limited to what an INTEGER primary key can hold (2**31 - 1)."""

    def __init__(self, map, fixed_digits=0, min=None, max=None, signed=False):  # noqa: A002
        super().__init__(map, fixed_digits=fixed_digits, min=min,
                         max=2**31 - 1 if max is None else max, signed=signed)


# Files are only ever uploaded in a field called "file" (roster, survey definitions);
# anywhere else a file would reach a text validator.
UPLOAD_FIELD = "file"


def _refuse_malformed_input():
    """Files only go where a form takes one: anywhere else a file would reach a text
    validator. A 400, not a 500. (Text PostgreSQL cannot store, such as NUL, is left to
    the forms' own checks and, failing those, the DataError handler's 400.)"""
    if request.method in ("POST", "PUT", "PATCH") and any(
            name != UPLOAD_FIELD for name in request.files):
        abort(400, description="This form does not take files.")
    return None


def _check_app_wide_limits_only_when_declared(app: Flask) -> None:
    """Flask-Limiter checks every request before the view for application, default
    and blueprint limits. The portal declares none: its limits sit on the views that
    need them (`auth.limits.auth_limits`), and those views check their own limits
    when they run. So the before-request pass resolves nothing on every request,
    at a cost close to a tenth of a signed-in page. It now runs only while such a
    limit exists (an operator's RATELIMIT_DEFAULT or RATELIMIT_APPLICATION, a limit
    on a blueprint), decided per request because blueprints register after this."""
    hooks = app.before_request_funcs.setdefault(None, [])
    check = limiter._check_request_limit
    manager = limiter.limit_manager

    def _check_app_wide_limits():
        if (manager._application_limits or manager._default_limits
                or manager._blueprint_limits or limiter._meta_limits):
            return check()
        return None

    if check in hooks:  # not there when RATELIMIT_ENABLED is off
        hooks[hooks.index(check)] = _check_app_wide_limits


@functools.cache
def _user_statement() -> sa.Select:
    """Built once: making and cache-keying a new statement for each request (what
    Session.get does) costs more than running it."""
    from portal.models import User

    return sa.select(User).where(User.id == sa.bindparam("uid"))


@login_manager.user_loader
def _load_user(user_id: str):
    try:
        raw_id, raw_version = user_id.split(".", 1)
        uid, version = int(raw_id), int(raw_version)
    except (ValueError, AttributeError):
        return None
    # The first database work of every signed-in request: a connection the server
    # dropped (a restart) surfaces here and is retried once on a fresh one.
    user = database.retry_once_on_disconnect(
        lambda: db.session.execute(_user_statement(), {"uid": uid}).scalar_one_or_none())
    if user is None or user.session_version != version or not user.active:
        return None
    return user


# Deny by default ------------------------------------------------------------------
# Every endpoint needs a signed-in user unless it is listed here or its view is
# decorated with @public. URL rules under /admin need an admin and under /reports a
# leader (or admin), checked before the view runs, so before any object lookup.
PUBLIC_ENDPOINTS = frozenset({
    "static", "main.home", "main.accessibility", "main.healthz", "main.privacy",
    "plan.domain", "plan.objective",
})
ADMIN_PREFIX = "/admin"
LEADER_PREFIX = "/reports"


def public(view):
    """Mark a view as open to anonymous visitors (sign-in pages, the plan ...)."""
    view._public = True
    return view


def is_public(endpoint: str | None) -> bool:
    if endpoint is None:
        return True  # no route matched: the 404 handler answers
    if endpoint in PUBLIC_ENDPOINTS:
        return True
    view = current_app.view_functions.get(endpoint)
    return bool(getattr(view, "_public", False))


def _under(rule: str, prefix: str) -> bool:
    return rule == prefix or rule.startswith(prefix + "/")


def _enforce_access():
    if is_public(request.endpoint):
        return None
    if _keeps_typed():
        # A member form sent after its session ended: the form comes back filled in
        # (with sign-in fields) instead of a redirect that loses what was typed.
        from portal import resubmit

        answer = resubmit.before_view()
        if answer is not None:
            return answer
    if not current_user.is_authenticated:
        log.info("sign-in required %s %s", request.method,
                 request.url_rule.rule if request.url_rule else "-")
        return login_manager.unauthorized()
    rule = request.url_rule.rule if request.url_rule else ""
    if _under(rule, ADMIN_PREFIX) and not current_user.is_admin:
        abort(403)
    if _under(rule, LEADER_PREFIX) and not current_user.is_leader:
        abort(403)
    return None


def _keeps_typed() -> bool:
    """A POST to a member form marked with `portal.resubmit.keeps_typed`."""
    if request.method != "POST" or request.endpoint is None:
        return False
    return hasattr(current_app.view_functions.get(request.endpoint), "_keeps_typed")


# Session lifetime ------------------------------------------------------------------
# The session records when it started, when it was last used and when the password
# was last typed. Idle and absolute limits end it; "keep me signed in" sessions have
# no idle limit and last REMEMBER_COOKIE_DAYS.

def _fresh_request_state() -> None:
    g.pop("_login_user", None)
    g.pop("csrf_token", None)


def clear_session() -> None:
    """Forget everything in the session, the CSRF token included (a new one is made
    for the next form), so nothing from before a sign-in or sign-out carries over."""
    session.clear()
    g.pop("csrf_token", None)


def start_session(remember: bool) -> None:
    """Call right after login_user: stamp the new session."""
    now = int(time.time())
    session["started_at"] = now
    session["seen_at"] = now
    session["password_at"] = now
    session["remember"] = bool(remember)


def note_password_entered() -> None:
    session["password_at"] = int(time.time())


def _session_expired(now: int) -> bool:
    cfg = current_app.config
    started = session.get("started_at")
    seen = session.get("seen_at")
    if not isinstance(started, int) or not isinstance(seen, int):
        return True
    if session.get("remember"):
        return now - started > cfg["REMEMBER_COOKIE_DAYS"] * 86400
    if now - seen > cfg["SESSION_IDLE_MINUTES"] * 60:
        return True
    return now - started > cfg["SESSION_ABSOLUTE_HOURS"] * 3600


# The last-seen stamp moves in steps of a minute: a click within a minute of the
# last stamp leaves the session as it is, so the cookie is neither re-signed nor
# sent again. The idle limit is counted from the stamp, so a session can end up to
# a minute before SESSION_IDLE_MINUTES of true inactivity, never after.
SEEN_AT_STEP = 60


def _enforce_session_limits():
    if request.endpoint == "static" or not current_user.is_authenticated:
        return None
    now = int(time.time())
    if "started_at" not in session:
        # Restored from the "keep me signed in" cookie: a new session, no password typed.
        session["started_at"] = now
        session["seen_at"] = now
        session["remember"] = True
        return None
    if _session_expired(now):
        user_id = current_user.id
        logout_user()
        clear_session()
        if _keeps_typed():
            # The page that answers says so itself, and keeps what was typed.
            g.resubmit_typed_by = user_id
        else:
            flash("You were signed out after a period of inactivity. Please sign in again.",
                  "info")
        return None
    if now - session["seen_at"] >= SEEN_AT_STEP:
        session["seen_at"] = now
    return None


def recent_login_required(view):
    """The password must have been typed within RECENT_LOGIN_MINUTES (else confirm it)."""

    @wraps(view)
    def wrapped(*args, **kwargs):
        if not current_user.is_authenticated:
            return login_manager.unauthorized()
        typed = session.get("password_at")
        limit = current_app.config["RECENT_LOGIN_MINUTES"] * 60
        if not isinstance(typed, int) or time.time() - typed > limit:
            return redirect(url_for("auth.reauthenticate", next=request.full_path.rstrip("?")))
        return view(*args, **kwargs)

    return wrapped


def role_required(*roles: str):
    """Allow only signed-in users holding one of `roles` (403 for the others)."""

    def decorator(view):
        @wraps(view)
        def wrapped(*args, **kwargs):
            if not current_user.is_authenticated:
                return login_manager.unauthorized()
            if current_user.role not in roles:
                abort(403)
            return view(*args, **kwargs)

        return wrapped

    return decorator


leader_required = role_required("leader", "admin")
admin_required = role_required("admin")


class Unverified(Forbidden):
    """403 for a signed-in member whose address is not verified: the error handler shows
    a page that says why and offers a new link, not a bare "Access denied"."""

    description = "Please verify your e-mail address first."


def verified_required(view):
    """Signed in with a verified e-mail address: needed to rate, comment and answer surveys."""

    @wraps(view)
    def wrapped(*args, **kwargs):
        if not current_user.is_authenticated:
            return login_manager.unauthorized()
        if not current_user.is_verified:
            raise Unverified()
        return view(*args, **kwargs)

    return wrapped
