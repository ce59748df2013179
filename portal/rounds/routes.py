"""Admin pages for feedback rounds: schedule, open and close."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, url_for
from flask_login import current_user

from portal.errors import PortalError
from portal.extensions import db
from portal.rounds import services
from portal.rounds.forms import RoundForm
from portal.security import admin_required
from portal.timeutil import now_utc

bp = Blueprint("rounds", __name__, url_prefix="/admin/rounds")


def _page(form: RoundForm, status: int = 200):
    services.sync_rounds()
    return render_template("rounds/index.html", rounds=services.list_rounds(), form=form,
                           now=now_utc()), status


@bp.get("/")
@admin_required
def index():
    return _page(RoundForm())


@bp.post("/")
@admin_required
def create():
    form = RoundForm()
    if not form.validate_on_submit():
        return _page(form, 400)
    try:
        rnd = services.create_round(current_user, form.name.data, form.description.data or "",
                                    form.opens_at.data, form.closes_at.data)
    except PortalError as exc:
        db.session.rollback()
        getattr(form, exc.field or "name").errors.append(exc.message)
        return _page(form, exc.status)
    db.session.commit()
    flash(f"Round '{rnd.name}' is scheduled.", "success")
    return redirect(url_for("rounds.index"))


@bp.post("/<int:round_id>/open")
@admin_required
def open_now(round_id: int):
    return _transition(round_id, services.open_round, "is open")


@bp.get("/<int:round_id>/close")
@admin_required
def confirm_close(round_id: int):
    """Closing ends rating for every member, so it is asked on a page of its own (which
    works without JavaScript)."""
    rnd = services.get_round(round_id)
    return render_template("rounds/close.html", rnd=rnd)


@bp.post("/<int:round_id>/close")
@admin_required
def close_now(round_id: int):
    return _transition(round_id, services.close_round, "is closed")


def _transition(round_id: int, action, done: str):
    try:
        rnd = services.get_round(round_id)
        action(current_user, rnd)
        name = rnd.name
    except PortalError as exc:
        db.session.rollback()
        form = RoundForm(formdata=None)
        flash(exc.message, "error")
        return _page(form, exc.status)
    db.session.commit()
    flash(f"Round '{name}' {done}.", "success")
    return redirect(url_for("rounds.index"))
