"""The moderation queue (admins): hide with a reason, restore, dismiss flags, see versions."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user

from portal.errors import PortalError
from portal.extensions import db
from portal.feedback.forms import FLAG_LABELS
from portal.moderation import services
from portal.moderation.forms import HideForm
from portal.security import admin_required

bp = Blueprint("moderation", __name__, url_prefix="/admin/moderation")
FLAG_REASONS = {k.value: v for k, v in FLAG_LABELS.items()}


@bp.get("/")
@admin_required
def queue():
    view = "hidden" if request.args.get("view") == "hidden" else "open"
    return render_template("moderation/queue.html", items=services.queue(view), view=view,
                           reasons=FLAG_REASONS)


def _detail(comment_id: int, form: HideForm, status: int = 200):
    comment, versions, flags = services.comment_detail(comment_id)
    return render_template("moderation/comment.html", comment=comment, versions=versions,
                           flags=flags, form=form, reasons=FLAG_REASONS), status


@bp.get("/comments/<int:comment_id>")
@admin_required
def comment(comment_id: int):
    return _detail(comment_id, HideForm(formdata=None))


def _hide_page(comment_id: int, form: HideForm, status: int = 200):
    comment, _, _ = services.comment_detail(comment_id)
    return render_template("moderation/hide.html", comment=comment, form=form), status


@bp.get("/comments/<int:comment_id>/hide")
@admin_required
def confirm_hide(comment_id: int):
    """Hiding is destructive for the author, so it is asked on a page of its own, which
    works without JavaScript; the reason is typed there."""
    return _hide_page(comment_id, HideForm(formdata=None))


@bp.post("/comments/<int:comment_id>/hide")
@admin_required
def hide(comment_id: int):
    form = HideForm()
    if not form.validate_on_submit():
        return _hide_page(comment_id, form, 400)
    comment, _, _ = services.comment_detail(comment_id)
    try:
        services.hide_comment(current_user, comment, form.reason.data)
    except PortalError as exc:
        db.session.rollback()
        form.reason.errors = [*form.reason.errors, exc.message]
        return _hide_page(comment_id, form, exc.status)
    db.session.commit()
    flash("The comment is hidden. Its author sees your reason.", "success")
    return redirect(url_for("moderation.queue"))


@bp.post("/comments/<int:comment_id>/restore")
@admin_required
def restore(comment_id: int):
    comment, _, _ = services.comment_detail(comment_id)
    services.restore_comment(current_user, comment)
    db.session.commit()
    flash("The comment is shown again.", "success")
    return redirect(url_for("moderation.queue"))


@bp.post("/comments/<int:comment_id>/dismiss")
@admin_required
def dismiss(comment_id: int):
    comment, _, _ = services.comment_detail(comment_id)
    services.dismiss_flags(current_user, comment)
    db.session.commit()
    flash("The flags are dismissed.", "success")
    return redirect(url_for("moderation.queue"))
