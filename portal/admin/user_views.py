"""Admin: the user list and the actions on one account."""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_login import current_user

from portal.admin import users
from portal.admin.blueprint import bp
from portal.admin.forms import ActionForm, RoleForm, UserFilterForm
from portal.auth import mails, throttle
from portal.auth.services import issue_verification
from portal.errors import PortalError
from portal.extensions import db
from portal.forms import attach_error


@bp.get("/users")
def users_list():
    form = UserFilterForm(request.args)
    if not form.validate():
        return render_template("admin/users.html", form=form, page=None), 400
    stmt = users.user_query(form.q.data or "", form.role.data or "", form.status.data or "",
                            form.verified.data or "")
    page = db.paginate(stmt, per_page=users.PER_PAGE, error_out=False, count=True)
    args = {k: v for k, v in request.args.items() if k != "page" and v}
    return render_template("admin/users.html", form=form, page=page, args=args)


def _user_page(user, role_form=None, status: int = 200):
    role_form = role_form or RoleForm(formdata=None, role=user.role)
    return render_template("admin/user.html", user=user, role_form=role_form,
                           action_form=ActionForm(),
                           failed_signins=throttle.failures_since_signin(user.email)), status


@bp.get("/users/<int:user_id>")
def user_detail(user_id: int):
    return _user_page(users.get_user(user_id))


@bp.post("/users/<int:user_id>/role")
def user_role(user_id: int):
    user = users.get_user(user_id)
    form = RoleForm()
    if not form.validate_on_submit():
        return _user_page(user, form, 400)
    try:
        users.change_role(current_user, user, form.role.data)
    except PortalError as err:
        db.session.rollback()
        attach_error(form, err)
        return _user_page(user, form, err.status)
    db.session.commit()
    flash(f"{user.email} is now {user.role_label}.", "success")
    return redirect(url_for("admin.user_detail", user_id=user.id))


def _simple_action(user_id: int, action, done: str):
    user = users.get_user(user_id)
    if not ActionForm().validate_on_submit():
        return _user_page(user, status=400)
    try:
        action(current_user, user)
    except PortalError as err:
        db.session.rollback()
        flash(err.message, "error")
        return _user_page(user, status=err.status)
    db.session.commit()
    flash(done.format(email=user.email), "success")
    return redirect(url_for("admin.user_detail", user_id=user.id))


@bp.post("/users/<int:user_id>/deactivate")
def user_deactivate(user_id: int):
    return _simple_action(user_id, users.deactivate,
                          "{email} is deactivated and signed out everywhere.")


@bp.post("/users/<int:user_id>/reactivate")
def user_reactivate(user_id: int):
    return _simple_action(user_id, users.reactivate, "{email} can sign in again.")


@bp.post("/users/<int:user_id>/resend-verification")
def user_resend_verification(user_id: int):
    user = users.get_user(user_id)
    if not ActionForm().validate_on_submit():
        return _user_page(user, status=400)
    try:
        token = issue_verification(user)
        users.record_resend(current_user, user)
    except PortalError as err:
        db.session.rollback()
        flash(err.message, "error")
        return _user_page(user, status=err.status)
    mails.send_verification(user, token)
    db.session.commit()
    flash("A new verification link is on its way.", "success")
    return redirect(url_for("admin.user_detail", user_id=user.id))
