"""Sign-in, sign-out, registration, e-mail verification and passwords."""

from __future__ import annotations

import logging

from flask import Blueprint, abort, flash, redirect, render_template, request, session, url_for
from flask_login import current_user, login_required, login_user, logout_user

from portal import timezones
from portal.auth import mails, registration, services, throttle
from portal.auth.forms import (
    PASSWORD_HINT,
    ChangePasswordForm,
    ConfirmForm,
    ConfirmPasswordForm,
    ForgotPasswordForm,
    LoginForm,
    RegisterForm,
    ResetPasswordForm,
    SigninLinkForm,
)
from portal.auth.limits import auth_limits, resend_limits
from portal.errors import PortalError
from portal.extensions import db
from portal.forms import attach_error
from portal.security import (
    clear_session,
    note_password_entered,
    public,
    recent_login_required,
    start_session,
)
from portal.sso.routes import provider_logout_url
from portal.sso.services import password_allowed
from portal.urls import safe_next

log = logging.getLogger("portal.security")
bp = Blueprint("auth", __name__, url_prefix="/auth")

SSO_ONLY = services.SSO_ONLY


def _sign_in(user, remember: bool) -> None:
    clear_session()  # no fixation: a new session at every login
    login_user(user, remember=remember)
    start_session(remember)


def _signed_in_response(attempt: services.Attempt, email: str, remember: bool):
    """After a successful sign-in: the welcome, the notice about failed attempts since
    the last sign-in, and a fresh device cookie (this device signs in while the
    account is under attack from elsewhere)."""
    user = attempt.user
    _sign_in(user, remember)
    flash(f"Welcome, {user.display_name}.", "success")
    if attempt.needs_notice:
        when = attempt.earlier.last_failure_at
        flash(f"There were {attempt.earlier.failures} failed attempts to sign in to your "
              f"account since you last signed in, the latest on "
              f"{timezones.format_datetime(when, name=user.time_zone)}. "
              "If they were not you, change your password.", "signin-alert")
    response = redirect(safe_next())
    throttle.set_device_cookie(response, throttle.device_cookie_after_signin(email))
    return response


@bp.route("/login", methods=["GET", "POST"])
@public
@auth_limits
def login():
    if current_user.is_authenticated:
        return redirect(safe_next())
    form = LoginForm()
    if form.validate_on_submit():
        try:
            attempt = services.authenticate(form.email.data, form.password.data)
        except services.SigninThrottled as err:
            db.session.rollback()
            attach_error(form, err)
            return (render_template("auth/login.html", form=form), err.status,
                    {"Retry-After": str(err.retry_after)})
        db.session.commit()
        if attempt.user is not None and not password_allowed(attempt.user):
            form.password.errors.append(SSO_ONLY)
            return render_template("auth/login.html", form=form), 403
        if attempt.user is not None:
            return _signed_in_response(attempt, form.email.data, bool(form.remember.data))
        if attempt.alert_user_id is not None:
            mails.queue_failed_signins_alert(attempt.alert_user_id, attempt.alert_failures)
        form.password.errors.append(services.BAD_CREDENTIALS)
        return render_template("auth/login.html", form=form), 401
    status = 400 if form.is_submitted() else 200
    return render_template("auth/login.html", form=form), status


@bp.route("/login-link", methods=["GET", "POST"])
@public
@auth_limits
def link_request():
    if current_user.is_authenticated:
        return redirect(url_for("main.home"))
    form = SigninLinkForm()
    if form.validate_on_submit():
        found = services.request_signin_link(form.email.data)
        db.session.commit()
        if found is not None:
            # After the response, like the alert: the page takes as long either way.
            mails.queue_signin_link(*found)
        # The same answer whether or not the address has an account.
        return redirect(url_for("auth.check_inbox", link=1))
    status = 400 if form.is_submitted() else 200
    return render_template("auth/login_link.html", form=form), status


@bp.route("/login-link/<token>", methods=["GET", "POST"])
@public
@auth_limits
def link_signin(token: str):
    # GET only shows a button: mail scanners that open links must not sign anyone in.
    form = ConfirmForm()
    if form.validate_on_submit():
        try:
            attempt = services.signin_with_link(token)
        except PortalError as err:
            db.session.rollback()
            return render_template("auth/login_link_confirm.html", form=form,
                                   error=err.message), err.status
        db.session.commit()
        if not password_allowed(attempt.user):
            return render_template("auth/login_link_confirm.html", form=form,
                                   error=SSO_ONLY), 403
        response = _signed_in_response(attempt, attempt.user.email, remember=False)
        # No password was typed: pages that want a recent password still ask for it.
        session.pop("password_at", None)
        return response
    return render_template("auth/login_link_confirm.html", form=form, error=None)


@bp.post("/logout")
@login_required
def logout():
    log.info("logout user=%s", current_user.id)
    # Before the session is cleared: a provider session ends at the provider too.
    provider_logout = provider_logout_url()
    services.end_sessions(current_user._get_current_object())
    db.session.commit()
    logout_user()
    clear_session()
    flash("You have signed out.", "info")
    if provider_logout:
        # A page of its own, not a redirect: the sign-out form's CSP (form-action 'self')
        # would stop a redirect to the provider.
        return render_template("sso/signing_out.html", url=provider_logout)
    return redirect(url_for("main.home"))


@bp.route("/register", methods=["GET", "POST"])
@public
@auth_limits
def register():
    if current_user.is_authenticated:
        return redirect(url_for("main.home"))
    form = RegisterForm()
    mode = registration.get_mode()
    invite_token = form.invite.data if form.is_submitted() else request.args.get("invite")
    invitation = registration.find_invitation(invite_token)
    if request.method == "GET":
        form.invite.data = invite_token or ""
        if invitation is not None:
            form.email.data = invitation.email
    closed = mode == "invitation" and invitation is None
    context = {"form": form, "mode": mode, "invitation": invitation, "closed": closed,
               "password_hint": PASSWORD_HINT}
    if form.validate_on_submit():
        try:
            result = services.register_user(form.email.data, form.display_name.data,
                                             form.password.data, invite_token=invite_token,
                                             time_zone=form.time_zone.data)
        except PortalError as err:
            db.session.rollback()
            attach_error(form, err)
            return render_template("auth/register.html", **context), err.status
        # The mail is a job in the same transaction: it goes out after the commit.
        if result.existing is not None:
            mails.send_already_registered(result.existing)
        elif result.verify_token:
            mails.send_verification(result.user, result.verify_token)
        db.session.commit()
        if result.user is not None and result.user.is_verified:
            flash("Your account is ready. Please sign in.", "success")
            return redirect(url_for("auth.login"))
        return redirect(url_for("auth.check_inbox"))
    status = 400 if form.is_submitted() else 200
    return render_template("auth/register.html", **context), status


@bp.get("/check-inbox")
@public
def check_inbox():
    return render_template("auth/check_inbox.html")


@bp.route("/verify/<token>", methods=["GET", "POST"])
@public
@auth_limits
def verify(token: str):
    # GET only shows a button: mail scanners that open links must not verify.
    form = ConfirmForm()
    if form.validate_on_submit():
        try:
            services.verify_email(token)
        except PortalError as err:
            db.session.rollback()
            return render_template("auth/verify.html", form=form, error=err.message,
                                   state=services.verification_link_state(token)), 400
        db.session.commit()
        flash("Thank you: your e-mail address is verified.", "success")
        return redirect(url_for("main.home") if current_user.is_authenticated
                        else url_for("auth.login"))
    # A link that can no longer verify shows why and the next step, not a live button.
    state = services.verification_link_state(token)
    status = {"usable": 200, "verified": 200, "invalid": 404}.get(state, 400)
    return render_template("auth/verify.html", form=form, error=None, state=state), status


@bp.post("/verify/resend")
@login_required
@resend_limits
def resend_verification():
    form = ConfirmForm()
    if not form.validate_on_submit():
        abort(400)
    try:
        token = services.issue_verification(current_user._get_current_object())
    except PortalError as err:
        flash(err.message, "info")
        return redirect(url_for("account.profile"))
    mails.send_verification(current_user, token)
    db.session.commit()
    flash("We have sent you a new verification link.", "success")
    return redirect(url_for("account.profile"))


@bp.route("/forgot", methods=["GET", "POST"])
@public
@auth_limits
def forgot():
    form = ForgotPasswordForm()
    if form.validate_on_submit():
        found = services.request_reset(form.email.data)
        if found is not None:
            mails.send_reset(*found)
        db.session.commit()
        # The same answer whether or not the address has an account.
        return redirect(url_for("auth.check_inbox", reset=1))
    status = 400 if form.is_submitted() else 200
    return render_template("auth/forgot.html", form=form), status


@bp.route("/reset/<token>", methods=["GET", "POST"])
@public
@auth_limits
def reset(token: str):
    form = ResetPasswordForm()
    if form.validate_on_submit():
        try:
            services.reset_password(token, form.password.data)
        except PortalError as err:
            db.session.rollback()
            attach_error(form, err)
            return render_template("auth/reset.html", form=form,
                                   password_hint=PASSWORD_HINT), err.status
        db.session.commit()
        if current_user.is_authenticated:
            logout_user()
        clear_session()
        flash("Your password is set. Please sign in with it.", "success")
        return redirect(url_for("auth.login"))
    status = 400 if form.is_submitted() else 200
    return render_template("auth/reset.html", form=form, password_hint=PASSWORD_HINT), status


@bp.route("/password", methods=["GET", "POST"])
@recent_login_required
def change_password():
    form = ChangePasswordForm()
    if form.validate_on_submit():
        user = current_user._get_current_object()
        try:
            services.change_password(user, form.current_password.data, form.new_password.data)
        except services.SigninThrottled as err:
            db.session.rollback()
            attach_error(form, err)
            return (render_template("auth/change_password.html", form=form,
                                    password_hint=PASSWORD_HINT), err.status,
                    {"Retry-After": str(err.retry_after)})
        except PortalError as err:
            db.session.commit()  # keep the failed-attempt count
            attach_error(form, err)
            return render_template("auth/change_password.html", form=form,
                                   password_hint=PASSWORD_HINT), err.status
        db.session.commit()
        # Every other session has ended; this one goes on with a fresh cookie.
        remember = bool(session.get("remember"))
        _sign_in(user, remember)
        flash("Your password is changed. You have been signed out everywhere else.", "success")
        return redirect(url_for("account.profile"))
    status = 400 if form.is_submitted() else 200
    return render_template("auth/change_password.html", form=form,
                           password_hint=PASSWORD_HINT), status


@bp.route("/confirm", methods=["GET", "POST"])
@login_required
@auth_limits
def reauthenticate():
    form = ConfirmPasswordForm()
    if form.validate_on_submit():
        try:
            ok = services.check_password(current_user._get_current_object(), form.password.data)
        except services.SigninThrottled as err:
            db.session.rollback()
            attach_error(form, err)
            return (render_template("auth/confirm.html", form=form), err.status,
                    {"Retry-After": str(err.retry_after)})
        db.session.commit()
        if ok:
            note_password_entered()
            return redirect(safe_next("account.profile"))
        form.password.errors.append("That is not your password.")
        return render_template("auth/confirm.html", form=form), 401
    status = 400 if form.is_submitted() else 200
    return render_template("auth/confirm.html", form=form), status
