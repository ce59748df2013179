"""Nothing typed is lost when a member form's session or CSRF token ran out.

A member form whose view is marked with `@keeps_typed(renderer)` is never answered
with a bare 400 or a redirect to the sign-in page when its session is gone. The
answer is a page with the same form, what was typed filled in, a fresh CSRF token
and one sentence saying why; for someone signed out it also has sign-in fields, so
that one submit signs the member in and completes the original submission.

What was typed stays in the member's browser: nothing here stores it on the server
(anonymous survey answers included).

The sign-in on that page is the normal sign-in: a POST whose CSRF token the
app-wide check has just verified, the same throttle and lockouts, the same per-IP
and per-account rate limits (the sign-in page's own counters). A page made while
a member was signed in carries a keyed digest of that member's id (`typed_by`);
if someone else is signed in when it comes back, nothing is sent and the form is
shown again, so a submission is never made for a member who did not type it.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from flask import after_this_request, current_app, flash, g, render_template, request, url_for
from flask_login import current_user, login_user

from portal.auth import mails, services, throttle
from portal.auth.forms import LoginForm
from portal.auth.limits import within_signin_limits
from portal.errors import PortalError
from portal.extensions import db
from portal.forms import attach_error
from portal.security import clear_session, start_session
from portal.sso.services import password_allowed

log = logging.getLogger("portal.security")

SIGNED_OUT = ("Your session ran out, so nothing was saved yet. Sign in and send it again; "
              "what you typed is kept below.")
STALE_FORM = ("This form expired, so nothing was saved yet. Send it again; what you typed "
              "is kept below.")
SOMEONE_ELSE = ("This was typed while a different member was signed in, so nothing was "
                "sent. Check it and send it only if it is yours.")
UNVERIFIED = ("You are signed in, but your e-mail address is not verified yet, so nothing "
              "was saved. Verify it with the link we sent you, then send this again; what "
              "you typed is kept below.")
SIGNIN_FIELD = "resubmit_signin"
TYPED_BY_FIELD = "typed_by"


@dataclass
class Again:
    """What a form's renderer gives: the page's title, the button's words ("post
    comment"), the partial that renders the typed fields and its context."""

    title: str
    action: str
    fields_template: str = "_partials/resubmit_fields.html"
    context: dict[str, Any] = field(default_factory=dict)
    stylesheet: str | None = None


Renderer = Callable[..., Again]


def keeps_typed(renderer: Renderer):
    """Mark a POST view whose typed input must survive an ended session; `renderer`
    is called with the view's arguments and reads the typed values from the request."""

    def decorator(view):
        view._keeps_typed = renderer
        return view

    return decorator


def renderer_for(endpoint: str | None) -> Renderer | None:
    if request.method != "POST" or endpoint is None:
        return None
    view = current_app.view_functions.get(endpoint)
    return getattr(view, "_keeps_typed", None)


def typed_by_digest(user_id: int) -> str:
    """A keyed digest of the member who was signed in when the page was made: it names
    nobody to whoever reads the page, and cannot be made for another member."""
    key = current_app.secret_key
    key = key.encode() if isinstance(key, str) else key
    return hmac.new(key, f"resubmit:{user_id}".encode(), hashlib.sha256).hexdigest()[:32]


def _typed_by_now() -> int | None:
    # `resubmit_typed_by`: set by portal.security when the idle or absolute limit
    # ended the session on this very request.
    if current_user.is_authenticated:
        return current_user.id
    return g.get("resubmit_typed_by")


# Answers ------------------------------------------------------------------------

def page(sentence: str, status: int, login_form=None, typed_by: int | None = None,
         headers: dict | None = None):
    """The form again, filled in, with a fresh CSRF token and one sentence."""
    renderer = renderer_for(request.endpoint)
    if renderer is None:  # callers check first; a view without one cannot be kept
        raise RuntimeError(f"no form renderer for {request.endpoint}")
    again = renderer(**(request.view_args or {}))
    if typed_by is None:
        typed_by = _typed_by_now()
    if typed_by is None:  # carry over what the page had (a failed sign-in on it)
        marker = (request.form.get(TYPED_BY_FIELD) or "")[:64] or None
    else:
        marker = typed_by_digest(typed_by)
    if login_form is None and not current_user.is_authenticated:
        login_form = _login_form(with_input=False)
    body = render_template(
        "errors/resubmit.html", again=again, sentence=sentence, login_form=login_form,
        marker=marker, action_url=url_for(request.endpoint, **(request.view_args or {})),
        **again.context)
    return body, status, headers or {}


def stale_form():
    """The CSRFError answer for a member form: the token was missing, made for another
    session or from before a sign-in. Nothing of the submission has run."""
    log.info("resubmit offered after csrf failure rule=%s", request.url_rule.rule
             if request.url_rule else "-")
    return page(STALE_FORM if current_user.is_authenticated else SIGNED_OUT, 400)


def before_view():
    """Run before a marked view on POST, once the CSRF token has been checked: signs in
    a signed-out member who typed their details on the page, refuses a page typed
    for someone else, and answers a signed-out POST with the form again."""
    if not current_user.is_authenticated:
        if request.form.get(SIGNIN_FIELD) != "1":
            try:
                return page(SIGNED_OUT, 401)
            except PortalError:
                # Nothing to fill in (no such objective, survey ...): the usual way to
                # the sign-in page, which tells a visitor nothing about what exists.
                db.session.rollback()
                return None
        answer = _sign_in_on_the_spot()
        if answer is not None:
            return answer
        if not current_user.is_verified:
            # The view would answer with the verification page alone: keep the text.
            return page(UNVERIFIED, 403)
    marker = request.form.get(TYPED_BY_FIELD)
    if marker and not hmac.compare_digest(marker.encode(),
                                          typed_by_digest(current_user.id).encode()):
        log.warning("resubmit refused: typed for another member")
        return page(SOMEONE_ELSE, 409, typed_by=current_user.id)
    return None


# Signing in on the spot --------------------------------------------------------------

def _login_form(with_input: bool):
    # The app-wide check has verified this POST's CSRF token; the form needs none of its own.
    if with_input:
        return LoginForm(meta={"csrf": False})
    return LoginForm(formdata=None, meta={"csrf": False})


def _sign_in_on_the_spot():
    """The sign-in page's rules on the resubmitted page. None when the member is now
    signed in (the view then runs for them); otherwise the page again with the reason."""
    form = _login_form(with_input=True)
    if not form.validate():
        return page(SIGNED_OUT, 400, login_form=form)
    if not within_signin_limits():
        form.password.errors.append("Too many attempts to sign in from here. Please wait a "
                                    "minute and try again.")
        return page(SIGNED_OUT, 429, login_form=form, headers={"Retry-After": "60"})
    try:
        attempt = services.authenticate(form.email.data, form.password.data)
    except services.SigninThrottled as err:
        db.session.rollback()
        attach_error(form, err)
        return page(SIGNED_OUT, err.status, login_form=form,
                    headers={"Retry-After": str(err.retry_after)})
    db.session.commit()
    user = attempt.user
    if user is not None and not password_allowed(user):
        form.password.errors.append(services.SSO_ONLY)
        return page(SIGNED_OUT, 403, login_form=form)
    if user is None:
        if attempt.alert_user_id is not None:
            mails.queue_failed_signins_alert(attempt.alert_user_id, attempt.alert_failures)
        form.password.errors.append(services.BAD_CREDENTIALS)
        return page(SIGNED_OUT, 401, login_form=form)
    remember = bool(form.remember.data)
    clear_session()  # no fixation: a new session at every sign-in
    login_user(user, remember=remember)
    start_session(remember)
    # No user id: on a survey page it would tie the member to the moment of an answer
    # (the access log writes user=- there too).
    log.info("signed in on a resubmitted form")
    if attempt.needs_notice:
        when = attempt.earlier.last_failure_at
        flash(f"There were {attempt.earlier.failures} failed attempts to sign in to your "
              f"account since you last signed in, the latest at {when:%Y-%m-%d %H:%M} UTC. "
              "If they were not you, change your password.", "signin-alert")
    device = throttle.device_cookie_after_signin(form.email.data)

    @after_this_request
    def _device_cookie(response):
        throttle.set_device_cookie(response, device)
        return response

    return None
