"""Pages where leaders and admins publish updates on objectives."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, url_for
from flask_login import current_user

from portal.actions.queries import doing_text, published_for
from portal.errors import PortalError
from portal.extensions import db
from portal.feedback import progress
from portal.feedback.pages import ACTION_LABELS, LABELS
from portal.feedback.queries import updates_for
from portal.feedback.services import find_objective
from portal.security import leader_required
from portal.updates.forms import UpdateForm
from portal.updates.services import publish_update

bp = Blueprint("updates", __name__, url_prefix="/reports/updates")


@bp.get("/")
@leader_required
def index():
    return render_template("updates/index.html", data=progress.plan_progress(None),
                           labels=LABELS)


def _form_page(objective, form, status: int = 200):
    return render_template("updates/new.html", objective=objective, form=form,
                           history=updates_for(objective), labels=LABELS), status


@bp.route("/<code>/new", methods=["GET", "POST"])
@leader_required
def new(code: str):
    objective = find_objective(code)
    if objective.retired_at is not None:
        raise PortalError("This objective has been retired; it takes no new updates.")
    history = updates_for(objective)
    latest = history[0] if history else None
    actions = published_for(objective)
    form = UpdateForm(data={"status": latest.status if latest else None,
                            "progress": latest.progress if latest else None,
                            "doing": doing_text(actions, ACTION_LABELS) or None})
    if form.validate_on_submit():
        try:
            publish_update(current_user, objective, form.status.data, form.progress.data,
                           form.heard.data, form.doing.data)
        except PortalError as exc:
            db.session.rollback()
            target = getattr(form, exc.field or "status", form.status)
            target.errors = [*target.errors, exc.message]
            return _form_page(find_objective(code), form, exc.status)
        db.session.commit()
        flash(f"Your update on objective {objective.code} is published.", "success")
        return redirect(url_for("plan.objective", code=objective.code, _anchor="updates"))
    return _form_page(objective, form, 400 if form.is_submitted() else 200)
