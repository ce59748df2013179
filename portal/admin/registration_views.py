"""Admin: who may register (the mode), the member roster and invitations."""

from __future__ import annotations

import sqlalchemy as sa
from flask import flash, redirect, render_template, url_for
from flask_login import current_user

from portal.admin import roster
from portal.admin.blueprint import bp
from portal.admin.forms import ActionForm, InvitationForm, RegistrationModeForm, RosterForm
from portal.auth import mails, registration
from portal.errors import PortalError
from portal.extensions import db
from portal.forms import attach_error
from portal.models import Invitation
from portal.numfmt import plural


def _page(mode_form=None, roster_form=None, invite_form=None, problems=None, status=200,
          change=None):
    invitations = db.session.scalars(
        sa.select(Invitation).order_by(Invitation.created_at.desc()).limit(100)).all()
    return render_template(
        "admin/registration.html",
        mode=registration.get_mode(), modes=registration.MODES,
        mode_form=mode_form or RegistrationModeForm(formdata=None, mode=registration.get_mode()),
        roster_form=roster_form or RosterForm(formdata=None),
        invite_form=invite_form or InvitationForm(formdata=None),
        action_form=ActionForm(), roster_size=roster.roster_size(),
        invitations=invitations, problems=problems or [], change=change,
    ), status


@bp.get("/registration")
def registration_page():
    return _page()


@bp.post("/registration/mode")
def registration_mode():
    form = RegistrationModeForm()
    if not form.validate_on_submit():
        return _page(mode_form=form, status=400)
    try:
        registration.set_mode(current_user, form.mode.data)
    except PortalError as err:
        db.session.rollback()
        attach_error(form, err)
        return _page(mode_form=form, status=err.status)
    db.session.commit()
    flash(f"Registration is now: {registration.MODES[form.mode.data]}.", "success")
    return redirect(url_for("admin.registration_page"))


@bp.post("/registration/roster")
def roster_import():
    form = RosterForm()
    if not form.validate_on_submit():
        return _page(roster_form=form, status=400)
    try:
        text = (roster.decode(form.file.data.read()) if form.file.data
                else form.pending.data)
        rows = roster.parse(text)
        roster.check_size(rows)
        if roster.roster_size() and not form.confirm.data:
            # Replacing a roster changes every rate's base: show what changes first,
            # keeping the file so the admin need not choose it again.
            confirm = RosterForm(formdata=None, pending=text)
            return _page(roster_form=confirm, change=roster.preview(rows))
        count = roster.import_roster(current_user, text, rows)
    except roster.RosterError as err:
        db.session.rollback()
        form.file.errors.append(f"Nothing was imported: {plural(len(err.problems), 'problem')} "
                                "found. Correct them and upload the file again.")
        return _page(roster_form=form, problems=err.problems, status=400)
    db.session.commit()
    flash(f"The roster now lists {count} members.", "success")
    return redirect(url_for("admin.registration_page"))


@bp.post("/registration/invitations")
def invitation_create():
    form = InvitationForm()
    if not form.validate_on_submit():
        return _page(invite_form=form, status=400)
    try:
        token = registration.create_invitation(current_user, form.email.data)
    except PortalError as err:
        db.session.rollback()
        attach_error(form, err)
        return _page(invite_form=form, status=err.status)
    mails.send_invitation(registration.normalise_email(form.email.data), token)
    db.session.commit()
    flash("The invitation is on its way.", "success")
    return redirect(url_for("admin.registration_page"))


@bp.post("/registration/invitations/<int:invitation_id>/revoke")
def invitation_revoke(invitation_id: int):
    if not ActionForm().validate_on_submit():
        return _page(status=400)
    try:
        invitation = registration.revoke_invitation(current_user, invitation_id)
    except PortalError as err:
        db.session.rollback()
        flash(err.message, "error")
        return _page(status=err.status)
    db.session.commit()
    flash(f"The invitation to {invitation.email} is revoked.", "success")
    return redirect(url_for("admin.registration_page"))
