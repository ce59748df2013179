"""Single sign-on views: start, callback, linking an existing account, the return from
the provider's sign-out. Every failure shows one page that says what to do next."""

from __future__ import annotations

import logging
import time

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_login import current_user, login_user

from portal.account.export import register_exporter
from portal.auth import services as auth_services
from portal.auth.forms import ConfirmForm
from portal.auth.limits import auth_limits
from portal.errors import NotFound, PortalError
from portal.extensions import csrf, db
from portal.forms import attach_error
from portal.mail import external_url
from portal.models import Protocol, SsoPendingLink
from portal.security import clear_session, public, start_session
from portal.sso import credentials, mails, oidc, saml, services
from portal.sso.forms import LinkPasswordForm
from portal.urls import is_safe_path, safe_next

log = logging.getLogger("portal.security")
bp = Blueprint("sso", __name__, url_prefix="/sso")
bp.record_once(lambda state: register_exporter("single_sign_on", services.export_member_sso,
                                               app=state.app))
bp.record_once(lambda state: saml.quiet_library_logs())

FLOW_KEY = "sso_flow"
LINK_KEY = "sso_link"
SESSION_KEY = "sso"


def _callback_url(slug: str) -> str:
    return external_url("sso.callback", slug=slug)


def saml_endpoints(slug: str) -> saml.Endpoints:
    """The portal as this provider's SAML service provider (entity ID = metadata URL)."""
    return saml.Endpoints(entity_id=external_url("sso.saml_metadata", slug=slug),
                          acs=external_url("sso.saml_acs", slug=slug),
                          slo=external_url("sso.saml_slo", slug=slug))


def _failed(message: str, status: int, provider=None):
    """The one page for a sign-in that did not work: what happened, what to do next."""
    password_ok = provider is None or provider.allow_password
    return render_template("sso/failed.html", message=message, provider=provider,
                           password_ok=password_ok), status


def _sign_in(user, provider, sso_data: dict | None, next_url: str):
    clear_session()  # no fixation: a new session at every sign-in
    login_user(user, remember=False)
    start_session(False)
    session.pop("password_at", None)  # no password typed: sensitive pages still ask
    session[SESSION_KEY] = sso_data or {"provider": provider.id}
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
        if provider.protocol == Protocol.SAML:
            url, request_id = saml.start(provider.discovery_url, saml_endpoints(slug))
            session[FLOW_KEY] = {"provider_id": provider.id, "saml_request": request_id,
                                 "started": int(time.time()), "next_url": safe_next()}
            return redirect(url, 303)
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
    """OpenID Connect: the provider sends the browser back with a code."""
    try:
        provider = services.get_provider(slug)
    except NotFound:
        abort(404)
    raw_flow = session.pop(FLOW_KEY, None)
    if not isinstance(raw_flow, dict) or raw_flow.get("provider_id") != provider.id \
            or "state" not in raw_flow:
        log.info("sso callback provider=%s outcome=no-flow", provider.slug)
        return _failed("This sign-in was not started from this browser, or it has already "
                       "been used.", 400, provider)
    flow = oidc.Flow(**raw_flow)

    def work():
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
        return result.claims, {"provider": provider.id, "id_token": result.id_token}

    return complete(provider, flow.next_url, work)


def complete(provider, next_url: str, work):
    """The end of every sign-in, whatever the protocol: `work()` checks the provider's
    answer and returns (claims, what the session keeps for the sign-out); then the
    account is found, made or waits for a link. Every failure is the one clear page."""
    sub = "-"
    try:
        claims, sso_data = work()
        sub = claims["sub"]
        outcome = services.sign_in(provider, claims)
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
        session[LINK_KEY] = {"id": outcome.pending.id, "next": next_url}
        return redirect(url_for("sso.link"))
    log.info("sso callback provider=%s sub=%s outcome=%s user=%s", provider.slug, sub,
             "created" if outcome.created else "signed-in", outcome.user.id)
    return _sign_in(outcome.user, provider, sso_data, next_url)


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
    if provider.protocol == Protocol.SAML:
        return saml.logout_url(provider.discovery_url, saml_endpoints(provider.slug),
                               data.get("name_id"), data.get("session_index"))
    try:
        meta = oidc.fetch_metadata(provider.discovery_url)
    except oidc.ProviderUnavailable:
        return None
    return oidc.logout_url(meta, data.get("id_token"), provider.client_id,
                           external_url("sso.signed_out"))



# SAML 2.0 ---------------------------------------------------------------------------------

def _saml_provider(slug: str):
    try:
        provider = services.get_provider(slug, enabled_only=False)
    except NotFound:
        abort(404)
    if provider.protocol != Protocol.SAML:
        abort(404)
    return provider


@bp.get("/<slug>/metadata")
@public
def saml_metadata(slug: str):
    """The portal's SP metadata for this provider, for the IdP's administrators."""
    provider = _saml_provider(slug)
    xml = saml.sp_metadata(saml_endpoints(provider.slug))
    return Response(xml, mimetype="application/samlmetadata+xml")


@bp.post("/<slug>/acs")
@csrf.exempt
@public
@auth_limits
def saml_acs(slug: str):
    """The IdP posts its answer here, from its own site: the browser sends no session
    cookie with that cross-site POST (SameSite=Lax), so unless the session came along the
    answer goes on to `saml_continue` in a same-site POST (automatic with JavaScript, a
    button without). Without the session there is nothing to check the answer against."""
    provider = _saml_provider(slug)
    flow = session.get(FLOW_KEY)
    if isinstance(flow, dict) and flow.get("provider_id") == provider.id:
        return saml_continue(slug)
    response = request.form.get("SAMLResponse", "")
    if not response or len(response) > 500_000:
        return _failed(f"{provider.name} sent no sign-in answer.", 400, provider)
    return render_template("sso/continue.html", provider=provider, saml_response=response)


@bp.post("/<slug>/acs/continue")
@csrf.exempt
@public
@auth_limits
def saml_continue(slug: str):
    # No CSRF token can be in this form (it was made without the session); what binds the
    # answer to this browser is InResponseTo, checked against the request id in its session.
    provider = _saml_provider(slug)
    raw_flow = session.pop(FLOW_KEY, None)
    if not isinstance(raw_flow, dict) or raw_flow.get("provider_id") != provider.id \
            or "saml_request" not in raw_flow:
        log.info("sso acs provider=%s outcome=no-flow", provider.slug)
        return _failed("This sign-in was not started from this browser, or it has already "
                       "been used.", 400, provider)

    def work():
        if time.time() - raw_flow.get("started", 0) > \
                current_app.config["SSO_FLOW_MINUTES"] * 60:
            raise oidc.TokenRejected("The sign-in took too long.")
        result = saml.finish(provider.discovery_url, saml_endpoints(provider.slug),
                             request.form.get("SAMLResponse", ""), raw_flow["saml_request"],
                             provider.id)
        return result.claims, {"provider": provider.id, "name_id": result.name_id,
                               "session_index": result.session_index}

    return complete(provider, raw_flow.get("next_url", ""), work)


@bp.get("/<slug>/slo")
@public
def saml_slo(slug: str):
    """The IdP's answer to the portal's LogoutRequest (the portal session has already
    ended when the browser went there)."""
    _saml_provider(slug)
    if current_user.is_authenticated:
        return redirect(url_for("main.home"))
    return redirect(url_for("sso.signed_out"))
