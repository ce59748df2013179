"""Single sign-on views: start, callback, linking an existing account, the return from
the provider's sign-out. Every failure shows one page that says what to do next."""

from __future__ import annotations

import logging

from flask import Blueprint, abort, flash, redirect, render_template, request, session, url_for
from flask_login import current_user, login_user

from portal.account.export import register_exporter
from portal.auth import services as auth_services
from portal.auth.forms import ConfirmForm
from portal.auth.limits import auth_limits
from portal.errors import NotFound, PortalError
from portal.extensions import db
from portal.forms import attach_error
from portal.mail import external_url
from portal.models import SsoPendingLink
from portal.security import clear_session, public, start_session
from portal.sso import credentials, mails, oidc, services
from portal.sso.forms import LinkPasswordForm
from portal.urls import is_safe_path, safe_next

log = logging.getLogger("portal.security")
bp = Blueprint("sso", __name__, url_prefix="/sso")
bp.record_once(lambda state: register_exporter("single_sign_on", services.export_member_sso,
                                               app=state.app))

FLOW_KEY = "sso_flow"
LINK_KEY = "sso_link"
SESSION_KEY = "sso"


def _callback_url(slug: str) -> str:
    return external_url("sso.callback", slug=slug)


def _failed(message: str, status: int, provider=None):
    """The one page for a sign-in that did not work: what happened, what to do next."""
    password_ok = provider is None or provider.allow_password
    return render_template("sso/failed.html", message=message, provider=provider,
                           password_ok=password_ok), status


def _sign_in(user, provider, id_token: str | None, next_url: str):
    clear_session()  # no fixation: a new session at every sign-in
    login_user(user, remember=False)
    start_session(False)
    session.pop("password_at", None)  # no password typed: sensitive pages still ask
    session[SESSION_KEY] = {"provider": provider.id, "id_token": id_token}
    flash(f"Welcome, {user.display_name}.", "success")
    return redirect(next_url if is_safe_path(next_url) else url_for("main.home"))


# A GET link, not a form: the page's CSP (form-action 'self') would stop a form's redirect
# to the provider. Starting writes nothing but this browser's own flow into its session,
# and the callback only accepts the answer that matches that flow (state, nonce, PKCE).
@bp.get("/<slug>/start")
@public
@auth_limits
def start(slug: str):
    try:
        provider = services.get_provider(slug)
    except NotFound:
        abort(404)
    try:
        meta = oidc.fetch_metadata(provider.discovery_url)
    except oidc.ProviderUnavailable:
        log.info("sso start provider=%s outcome=unavailable", provider.slug)
        return _failed(f"{provider.name} cannot be reached just now.", 502, provider)
    url, flow = oidc.start(meta, provider.client_id, provider.scopes, _callback_url(slug),
                           provider.id, safe_next())
    session[FLOW_KEY] = flow.as_dict()
    return redirect(url, 303)


@bp.get("/<slug>/callback")
@public
@auth_limits
def callback(slug: str):
    try:
        provider = services.get_provider(slug)
    except NotFound:
        abort(404)
    raw_flow = session.pop(FLOW_KEY, None)
    if not isinstance(raw_flow, dict) or raw_flow.get("provider_id") != provider.id:
        log.info("sso callback provider=%s outcome=no-flow", provider.slug)
        return _failed("This sign-in was not started from this browser, or it has already "
                       "been used.", 400, provider)
    flow = oidc.Flow(**raw_flow)
    sub = "-"
    try:
        oidc.check_state(flow, request.args.get("state"))
        if request.args.get("error"):
            # The provider's own error text is not shown or logged: only that it refused.
            raise oidc.TokenRejected(f"{provider.name} did not sign you in (you may have "
                                     "cancelled).")
        code = request.args.get("code", "")
        if not code or len(code) > 2000:
            raise oidc.TokenRejected(f"{provider.name} sent no sign-in code.")
        meta = oidc.fetch_metadata(provider.discovery_url)
        result = oidc.finish(meta, provider.client_id, credentials.resolve(provider.secret_ref),
                             provider.scopes, _callback_url(slug), flow, code)
        sub = result.claims["sub"]
        outcome = services.sign_in(provider, result.claims)
    except oidc.ProviderUnavailable:
        db.session.rollback()
        log.info("sso callback provider=%s sub=%s outcome=unavailable", provider.slug, sub)
        return _failed(f"{provider.name} cannot be reached just now.", 502, provider)
    except credentials.SecretUnavailable:
        db.session.rollback()
        log.warning("sso callback provider=%s outcome=secret-unavailable", provider.slug)
        return _failed(f"Signing in with {provider.name} is not set up correctly on the "
                       "portal. The association's staff have been told.", 503, provider)
    except PortalError as err:
        db.session.rollback()
        log.info("sso callback provider=%s sub=%s outcome=refused reason=%s", provider.slug,
                 sub, type(err).__name__)
        return _failed(err.message, err.status if err.status < 500 else 400, provider)
    db.session.commit()
    if outcome.pending is not None:
        log.info("sso callback provider=%s sub=%s outcome=link-needed user=%s",
                 provider.slug, sub, outcome.pending.user_id)
        clear_session()
        # Only the row's id: the session cookie is signed but readable, and the link
        # token would complete the link without any proof.
        session[LINK_KEY] = {"id": outcome.pending.id, "next": flow.next_url}
        return redirect(url_for("sso.link"))
    log.info("sso callback provider=%s sub=%s outcome=%s user=%s", provider.slug, sub,
             "created" if outcome.created else "signed-in", outcome.user.id)
    return _sign_in(outcome.user, provider, result.id_token, flow.next_url)


def _pending_from_session() -> tuple[SsoPendingLink | None, dict]:
    data = session.get(LINK_KEY)
    if not isinstance(data, dict) or not isinstance(data.get("id"), int):
        return None, {}
    return services.pending_by_id(data["id"]), data


@bp.route("/link", methods=["GET", "POST"])
@public
@auth_limits
def link():
    """An account has the address the provider gave: its owner proves it is theirs."""
    pending, data = _pending_from_session()
    if pending is None:
        return _failed("There is no sign-in waiting to be linked, or it has expired.", 400)
    form = LinkPasswordForm()
    mail_form = ConfirmForm(prefix="mail")
    context = {"form": form, "mail_form": mail_form, "pending": pending,
               "has_password": bool(pending.user.password_hash)}
    if request.method == "POST" and request.form.get("action") == "mail":
        if not mail_form.validate_on_submit():
            abort(400)
        user, provider = pending.user, pending.provider
        token = services.reissue_link(pending)
        db.session.commit()
        session.pop(LINK_KEY, None)
        mails.send_link(user, provider, token)
        return redirect(url_for("auth.check_inbox"))
    if form.validate_on_submit():
        try:
            attempt = auth_services.authenticate(pending.user.email, form.password.data)
        except auth_services.SigninThrottled as err:
            db.session.rollback()
            attach_error(form, err)
            return (render_template("sso/link.html", **context), err.status,
                    {"Retry-After": str(err.retry_after)})
        if attempt.user is None or attempt.user.id != pending.user_id:
            db.session.commit()  # keep the failed-attempt count
            form.password.errors.append("That is not the password of this account.")
            return render_template("sso/link.html", **context), 401
        try:
            user = services.complete_link(pending)
        except PortalError as err:
            db.session.rollback()
            return _failed(err.message, err.status)
        db.session.commit()
        session.pop(LINK_KEY, None)
        log.info("sso link provider=%s user=%s outcome=linked-by-password",
                 pending.provider.slug, user.id)
        response = _sign_in(user, pending.provider, None, data.get("next") or "")
        flash(f"Your {pending.provider.name} sign-in is now linked to your account.", "success")
        return response
    status = 400 if form.is_submitted() else 200
    return render_template("sso/link.html", **context), status


@bp.route("/link/<token>", methods=["GET", "POST"])
@public
@auth_limits
def link_confirm(token: str):
    # GET only shows a button: mail scanners that open links must not link anything.
    form = ConfirmForm()
    if form.validate_on_submit():
        try:
            pending = services.find_pending(token)
            provider = pending.provider
            user = services.complete_link(pending)
        except PortalError as err:
            db.session.rollback()
            return _failed(err.message, 400)
        db.session.commit()
        log.info("sso link provider=%s user=%s outcome=linked-by-mail", provider.slug, user.id)
        response = _sign_in(user, provider, None, "")
        flash(f"Your {provider.name} sign-in is now linked to your account.", "success")
        return response
    return render_template("sso/link_confirm.html", form=form)


@bp.get("/signed-out")
@public
def signed_out():
    """Where the provider sends the browser back after its sign-out."""
    if current_user.is_authenticated:
        return redirect(url_for("main.home"))
    return render_template("sso/signed_out.html")


def provider_logout_url() -> str | None:
    """Before the portal session is cleared: the provider's sign-out URL, if it has one."""
    data = session.get(SESSION_KEY)
    if not isinstance(data, dict):
        return None
    provider = db.session.get(services.IdentityProvider, data.get("provider"))
    if provider is None or not provider.enabled:
        return None
    try:
        meta = oidc.fetch_metadata(provider.discovery_url)
    except oidc.ProviderUnavailable:
        return None
    return oidc.logout_url(meta, data.get("id_token"), provider.client_id,
                           external_url("sso.signed_out"))

