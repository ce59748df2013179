"""Sign-in, sign-out, registration, e-mail verification and passwords."""

from __future__ import annotations

import logging

from flask import Blueprint, abort, flash, redirect, render_template, request, session, url_for
from flask_login import current_user, login_required, login_user, logout_user

from portal.auth import mails, registration, services
from portal.auth.forms import (
    PASSWORD_HINT,
    ChangePasswordForm,
    ConfirmForm,
    ConfirmPasswordForm,
    ForgotPasswordForm,
    LoginForm,
    RegisterForm,
    ResetPasswordForm,
)
from portal.auth.limits import auth_limits
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
from portal.urls import safe_next

log = logging.getLogger("portal.security")
bp = Blueprint("auth", __name__, url_prefix="/auth")


def _sign_in(user, remember: bool) -> None:
    clear_session()  # no fixation: a new session at every login
    login_user(user, remember=remember)
    start_session(remember)


@bp.route("/login", methods=["GET", "POST"])
@public
@auth_limits
def login():
    if current_user.is_authenticated:
        return redirect(safe_next())
    form = LoginForm()
    if form.validate_on_submit():
        try:
            user = services.authenticate(form.email.data, form.password.data)
        except services.AccountLocked as err:
            db.session.commit()
            attach_error(form, err)
            return (render_template("auth/login.html", form=form), 429,
                    {"Retry-After": str(err.retry_after)})
        db.session.commit()
        if user is not None:
            _sign_in(user, bool(form.remember.data))
            flash(f"Welcome, {user.display_name}.", "success")
            return redirect(safe_next())
        form.password.errors.append(services.BAD_CREDENTIALS)
        return render_template("auth/login.html", form=form), 401
    status = 400 if form.is_submitted() else 200
    return render_template("auth/login.html", form=form), status


@bp.post("/logout")
@login_required
def logout():
    log.info("logout user=%s", current_user.id)
    services.end_sessions(current_user._get_current_object())
    db.session.commit()
    logout_user()
    clear_session()
    flash("You have signed out.", "info")
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
                                             form.password.data, invite_token=invite_token)
        except PortalError as err:
            db.session.rollback()
            attach_error(form, err)
            return render_template("auth/register.html", **context), err.status
        db.session.commit()
        if result.existing is not None:
            mails.send_already_registered(result.existing)
        elif result.verify_token:
            mails.send_verification(result.user, result.verify_token)
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
            return render_template("auth/verify.html", form=form, error=err.message), 400
        db.session.commit()
        flash("Thank you: your e-mail address is verified.", "success")
        return redirect(url_for("main.home") if current_user.is_authenticated
                        else url_for("auth.login"))
    return render_template("auth/verify.html", form=form, error=None)


@bp.post("/verify/resend")
@login_required
def resend_verification():
    form = ConfirmForm()
    if not form.validate_on_submit():
        abort(400)
    try:
        token = services.issue_verification(current_user._get_current_object())
    except PortalError as err:
        flash(err.message, "info")
        return redirect(url_for("account.profile"))
    db.session.commit()
    mails.send_verification(current_user, token)
    flash("We have sent you a new verification link.", "success")
    return redirect(url_for("account.profile"))


@bp.route("/forgot", methods=["GET", "POST"])
@public
@auth_limits
def forgot():
    form = ForgotPasswordForm()
    if form.validate_on_submit():
        found = services.request_reset(form.email.data)
        db.session.commit()
        if found is not None:
            mails.send_reset(*found)
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
        except services.AccountLocked as err:
            db.session.commit()
            logout_user()
            clear_session()
            flash(err.message, "error")
            return redirect(url_for("auth.login"))
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
        except services.AccountLocked as err:
            db.session.commit()
            logout_user()
            clear_session()
            flash(err.message, "error")
            return redirect(url_for("auth.login"))
        db.session.commit()
        if ok:
            note_password_entered()
            return redirect(safe_next("account.profile"))
        form.password.errors.append("That is not your password.")
        return render_template("auth/confirm.html", form=form), 401
    status = 400 if form.is_submitted() else 200
    return render_template("auth/confirm.html", form=form), status
