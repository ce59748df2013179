"""My account: profile, download my data, delete my account."""

from __future__ import annotations

import json

from flask import Blueprint, Response, flash, redirect, render_template, session, url_for
from flask_login import current_user, logout_user

from portal import segments
from portal.account import builtin, services
from portal.account.export import export_user_data
from portal.account.forms import DeleteAccountForm, DeleteSsoAccountForm, ProfileForm
from portal.auth.forms import ConfirmForm
from portal.auth.services import SigninThrottled
from portal.errors import PortalError
from portal.extensions import db
from portal.forms import attach_error
from portal.security import clear_session
from portal.sso.services import verified_keys
from portal.timeutil import now_utc

bp = Blueprint("account", __name__, url_prefix="/account")
bp.record_once(lambda state: builtin.register(state.app))


def _profile_page(form: ProfileForm, verified: set[str], status: int = 200):
    return render_template("account/profile.html", form=form, dimensions=segments.DIMENSIONS,
                           resend_form=ConfirmForm(), verified=verified), status


@bp.route("", methods=["GET", "POST"])
def profile():
    user = current_user._get_current_object()
    form = ProfileForm(obj=user)
    verified = verified_keys(user)
    if form.validate_on_submit():
        answers = {dim.key: getattr(form, dim.key).data for dim in segments.DIMENSIONS}
        try:
            services.update_profile(user, form.display_name.data, answers, locked=verified,
                                    time_zone=form.time_zone.data)
        except PortalError as err:
            db.session.rollback()
            attach_error(form, err)
            return _profile_page(form, verified, err.status)
        db.session.commit()
        flash("Your profile is saved.", "success")
        return redirect(url_for("account.profile"))
    return _profile_page(form, verified, 400 if form.is_submitted() else 200)


@bp.get("/data")
def download():
    data = export_user_data(current_user._get_current_object())
    stamp = now_utc().strftime("%Y%m%d")
    return Response(
        json.dumps(data, indent=2, ensure_ascii=False, sort_keys=False) + "\n",
        mimetype="application/json",
        headers={"Content-Disposition": f'attachment; filename="my-portal-data-{stamp}.json"'},
    )


@bp.route("/delete", methods=["GET", "POST"])
def delete():
    if not current_user.password_hash:
        return _delete_sso_account()
    form = DeleteAccountForm()
    if form.validate_on_submit():
        try:
            services.delete_account(current_user._get_current_object(), form.password.data)
        except SigninThrottled as err:
            db.session.rollback()
            attach_error(form, err)
            return (render_template("account/delete.html", form=form), err.status,
                    {"Retry-After": str(err.retry_after)})
        except PortalError as err:
            db.session.commit()  # keeps the failed-attempt count; nothing else changed
            attach_error(form, err)
            return render_template("account/delete.html", form=form), err.status
        db.session.commit()
        logout_user()
        clear_session()
        flash("Your account is deleted. Thank you for your feedback.", "success")
        return redirect(url_for("main.home"))
    status = 400 if form.is_submitted() else 200
    return render_template("account/delete.html", form=form), status


def _delete_sso_account():
    """An account its association signs in (no portal password): confirm by typing the
    address, shortly after a fresh sign-in with the association."""
    form = DeleteSsoAccountForm()
    if form.validate_on_submit():
        try:
            services.delete_sso_account(current_user._get_current_object(), form.email.data,
                                        session.get("started_at"))
        except PortalError as err:
            db.session.rollback()
            attach_error(form, err)
            return render_template("account/delete.html", form=form, sso=True), err.status
        db.session.commit()
        logout_user()
        clear_session()
        flash("Your account is deleted. Thank you for your feedback.", "success")
        return redirect(url_for("main.home"))
    status = 400 if form.is_submitted() else 200
    return render_template("account/delete.html", form=form, sso=True), status
