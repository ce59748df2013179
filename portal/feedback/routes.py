"""Member actions on objectives: rate, comment, reply, edit, delete, endorse, flag;
the member's own feedback page, My activity and its e-mail choices, and the plan
progress page."""

from __future__ import annotations

import sqlalchemy as sa
from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_login import current_user, login_required

from portal.auth.forms import ConfirmForm
from portal.errors import Forbidden, NotFound, PortalError
from portal.extensions import csrf, db
from portal.feedback import activity, notify, pages, progress, services
from portal.feedback import comment_services as cs
from portal.feedback.forms import (
    CommentForm,
    EditCommentForm,
    FlagForm,
    RatingForm,
    domain_rating_form,
)
from portal.feedback.queries import comment_page_for_thread
from portal.models import ActivityKind, Comment, MailSuppression
from portal.models.activity import DELIVERY_LABELS, KIND_LABELS
from portal.plan import queries as plan_queries
from portal.resubmit import Again, keeps_typed
from portal.rounds.services import current_round
from portal.security import public, verified_required
from portal.urls import safe_next

bp = Blueprint("feedback", __name__, url_prefix="/feedback")


def _add_error(form, name: str | None, message: str) -> None:
    target = form[name] if name and name in form else None
    if target is None:
        form.form_errors.append(message)
    else:
        target.errors = [*target.errors, message]


def _objective_url(objective, **kwargs) -> str:
    return url_for("plan.objective", code=objective.code, **kwargs)


# Sent again after the session ran out (portal/resubmit.py) ------------------------
# Each builds the form from what was posted, without a CSRF field of its own (the
# page carries a fresh token), and reads nothing a signed-out visitor may not see.

MARKDOWN_HINT = "You can use Markdown: **bold**, *italic*, lists and links."
HIDE_NAME_HINT = ("Other members will see “A member” instead of your name. Moderators can "
                  "still see who wrote it.")
NO_CSRF = {"csrf": False}


def _rating_again(code: str) -> Again:
    obj = services.find_objective(code)
    return Again(f"Send your rating of objective {obj.code} again", "save my rating",
                 context={"typed_form": RatingForm(meta=NO_CSRF)})


def _domain_ratings_again(code: str) -> Again:
    dom = plan_queries.get_domain(code.upper())
    if dom is None:
        raise NotFound(f"There is no domain with the code '{code}'.")
    form = domain_rating_form(dom.active_objectives, submitted=True, meta=NO_CSRF)
    return Again(f"Send your ratings of domain {dom.code} again", "save my ratings",
                 context={"typed_form": form})


def _comment_again(code: str) -> Again:
    obj = services.find_objective(code)
    form = CommentForm(meta=NO_CSRF)
    kind = "reply" if (form.parent_id.data or "").strip() else "comment"
    return Again(f"Send your {kind} on objective {obj.code} again", f"post {kind}",
                 context={"typed_form": form,
                          "hints": {"body": MARKDOWN_HINT, "hide_name": HIDE_NAME_HINT}})


def _edit_again(comment_id: int) -> Again:
    cs.get_comment(comment_id)  # a 404 for a comment that is gone (its text is not shown)
    return Again("Save your edited comment again", "save changes",
                 context={"typed_form": EditCommentForm(meta=NO_CSRF),
                          "hints": {"body": MARKDOWN_HINT}})


# Ratings --------------------------------------------------------------------------

@bp.post("/objectives/<code>/rating")
@keeps_typed(_rating_again)
@verified_required
def rate(code: str):
    obj = services.find_objective(code)
    form = RatingForm()
    if not form.validate_on_submit():
        return pages.objective_page(obj, rating_form=form, status=400)
    try:
        services.save_rating(current_user, current_round(), obj, form.importance.data,
                             form.performance.data)
    except PortalError as exc:
        db.session.rollback()
        _add_error(form, exc.field, exc.message)
        return pages.objective_page(obj, rating_form=form, status=exc.status)
    # Read before the commit expires the objective (saves reloading it).
    message = (f"Your ratings of objective {obj.code} are saved. You can change them until "
               "the round closes.")
    target = _objective_url(obj, _anchor="rate")
    db.session.commit()
    flash(message, "success")
    return redirect(target)


@bp.post("/domains/<code>/ratings")
@keeps_typed(_domain_ratings_again)
@verified_required
def rate_domain(code: str):
    dom = plan_queries.get_domain(code.upper())
    if dom is None:
        raise NotFound(f"There is no domain with the code '{code}'.")
    objectives = dom.active_objectives
    form = domain_rating_form(objectives, submitted=True)
    if not form.validate_on_submit():
        return pages.domain_page(dom, form=form, status=400)
    answers = {o: (form[f"importance_{o.id}"].data, form[f"performance_{o.id}"].data)
               for o in objectives}
    try:
        stored = services.save_ratings(current_user, current_round(), answers)
    except PortalError as exc:
        db.session.rollback()
        form.form_errors.append(exc.message)
        return pages.domain_page(dom, form=form, status=exc.status)
    db.session.commit()
    flash(f"Your ratings of {stored} objective{'s' if stored != 1 else ''} in domain "
          f"{dom.code} are saved.", "success")
    return redirect(url_for("plan.domain", code=dom.code, _anchor="rate"))


# Comments -------------------------------------------------------------------------

def _parent_from(form: CommentForm):
    raw = (form.parent_id.data or "").strip()
    if not raw:
        return None
    if not raw.isdigit():
        abort(400, description="That reply does not point to a comment.")
    return cs.get_comment(int(raw))


def _reply_page(objective, parent, form, status: int):
    return render_template("feedback/reply.html", objective=objective, parent=parent,
                           form=form), status


@bp.post("/objectives/<code>/comments")
@keeps_typed(_comment_again)
@verified_required
def comment(code: str):
    obj = services.find_objective(code)
    form = CommentForm()
    parent = _parent_from(form)
    if not form.validate_on_submit():
        if parent is not None:
            return _reply_page(obj, parent, form, 400)
        return pages.objective_page(obj, comment_form=form, status=400)
    try:
        new = cs.post_comment(current_user, obj, form.body.data, not form.hide_name.data,
                              parent, current_round())
    except PortalError as exc:
        db.session.rollback()
        _add_error(form, "body", exc.message)
        if parent is not None:
            return _reply_page(obj, cs.get_comment(parent.id), form, exc.status)
        return pages.objective_page(obj, comment_form=form, status=exc.status)
    db.session.commit()
    if parent is not None:
        flash("Your reply is posted.", "success")
        return redirect(url_for("feedback.thread", comment_id=parent.id,
                                _anchor=f"comment-{new.id}"))
    flash("Your comment is posted.", "success")
    return redirect(_objective_url(obj, sort="newest", _anchor=f"comment-{new.id}"))


@bp.get("/comments/<int:comment_id>")
@public
def thread(comment_id: int):
    """A comment with its replies: the link My feedback, replies and moderators use."""
    comment = cs.get_comment(comment_id)
    top = comment.parent or comment
    page = comment_page_for_thread(top, pages.signed_in_user())
    if not page.comments:
        raise NotFound("This comment is not available.")
    return render_template("feedback/thread.html", objective=top.objective, comments=page,
                           labels=pages.LABELS, user=pages.signed_in_user(),
                           form=CommentForm(formdata=None))


@bp.route("/comments/<int:comment_id>/reply", methods=["GET"])
@verified_required
def reply(comment_id: int):
    parent = cs.get_comment(comment_id)
    form = CommentForm(formdata=None, parent_id=str(parent.id))
    return _reply_page(parent.objective, parent, form, 200)


@bp.route("/comments/<int:comment_id>/edit", methods=["GET", "POST"])
@keeps_typed(_edit_again)
@verified_required
def edit_comment(comment_id: int):
    comment = cs.get_comment(comment_id)
    if comment.user_id != current_user.id:
        raise Forbidden("You can only edit your own comments.")
    form = EditCommentForm(data={"body": comment.body})
    if form.validate_on_submit():
        try:
            changed = cs.edit_comment(current_user, comment, form.body.data)
        except PortalError as exc:
            db.session.rollback()
            _add_error(form, "body", exc.message)
            return render_template("feedback/edit.html", comment=cs.get_comment(comment_id),
                                   form=form), exc.status
        db.session.commit()
        flash("Your comment is updated." if changed else "Nothing changed.", "success")
        return redirect(url_for("feedback.thread", comment_id=comment.id,
                                _anchor=f"comment-{comment.id}"))
    status = 400 if form.is_submitted() else 200
    return render_template("feedback/edit.html", comment=comment, form=form), status


@bp.get("/comments/<int:comment_id>/delete")
@verified_required
def confirm_delete_comment(comment_id: int):
    """Deleting is asked on a page of its own, which works without JavaScript."""
    comment = cs.get_comment(comment_id)
    if comment.user_id != current_user.id:
        raise Forbidden("You can only delete your own comments.")
    return render_template("feedback/delete.html", comment=comment,
                           back=_back_to(comment))


@bp.post("/comments/<int:comment_id>/delete")
@verified_required
def delete_comment(comment_id: int):
    comment = cs.get_comment(comment_id)
    objective = comment.objective
    cs.delete_comment(current_user, comment)
    db.session.commit()
    flash("Your comment is deleted. Replies to it stay readable.", "success")
    return redirect(_objective_url(objective, _anchor="comments"))


def _wants_json() -> bool:
    """The comment script asks for JSON (Accept: application/json); a browser posting
    the form without it asks for HTML and gets the redirect."""
    return request.accept_mimetypes.best_match(
        ["text/html", "application/json"]) == "application/json"


def _endorsers(count: int) -> str:
    if count == 0:
        return "No members endorse this."
    if count == 1:
        return "1 member endorses this."
    return f"{count:,} members endorse this."


def _endorsement_state(comment_id: int, endorsed: bool, message: str, status: int = 200):
    """What the script needs to redraw the button and the count in place."""
    count = db.session.scalar(sa.select(Comment.endorsement_count)
                              .where(Comment.id == comment_id)) or 0
    endpoint = "feedback.unendorse" if endorsed else "feedback.endorse"
    return jsonify(
        endorsed=endorsed, count=count,
        count_text=f"{count:,} endorsement{'' if count == 1 else 's'}",
        label="Withdraw endorsement" if endorsed else "Endorse",
        action=url_for(endpoint, comment_id=comment_id),
        message=f"{message} {_endorsers(count)}"), status


def _change_endorsement(comment_id: int, endorse: bool):
    comment = cs.get_comment(comment_id)
    change = cs.endorse if endorse else cs.withdraw_endorsement
    try:
        change(current_user, comment)
    except PortalError as exc:
        if not _wants_json():
            raise
        db.session.rollback()
        # The member's endorsement as it stands, so the page can catch up with it
        # (an endorsement made in another tab, say).
        endorsed = cs.has_endorsed(current_user, comment_id)
        return _endorsement_state(comment_id, endorsed, exc.message, exc.status)
    db.session.commit()
    if _wants_json():
        return _endorsement_state(comment_id, endorse,
                                  "Endorsed." if endorse else "Endorsement withdrawn.")
    flash("You endorsed this comment." if endorse else "You withdrew your endorsement.",
          "success")
    return redirect(_back_to(comment))


@bp.post("/comments/<int:comment_id>/endorse")
@verified_required
def endorse(comment_id: int):
    return _change_endorsement(comment_id, True)


@bp.post("/comments/<int:comment_id>/unendorse")
@verified_required
def unendorse(comment_id: int):
    return _change_endorsement(comment_id, False)


def _back_to(comment) -> str:
    fallback = url_for("feedback.thread", comment_id=comment.id, _anchor=f"comment-{comment.id}")
    target = safe_next()
    return fallback if target == url_for("main.home") else target


def _flag_page(comment, form, status: int):
    """The flag form on its page or, for the comment script, as a fragment to open
    under the comment (with the errors and what the member typed, when refused)."""
    if _wants_json():
        errors = [*form.form_errors, *(e for f in form for e in f.errors)]
        return jsonify(errors=errors, html=render_template("feedback/_flag_form.html",
                                                           comment=comment, form=form)), status
    return render_template("feedback/flag.html", comment=comment, form=form), status


@bp.route("/comments/<int:comment_id>/flag", methods=["GET", "POST"])
@verified_required
def flag(comment_id: int):
    comment = cs.get_comment(comment_id)
    form = FlagForm()
    if form.validate_on_submit():
        try:
            hidden = cs.flag_comment(current_user, comment, form.reason.data, form.note.data,
                                     current_app.config["FLAGS_TO_HIDE"])
        except PortalError as exc:
            db.session.rollback()
            _add_error(form, exc.field, exc.message)
            return _flag_page(cs.get_comment(comment_id), form, exc.status)
        target = _objective_url(comment.objective, _anchor="comments")
        db.session.commit()
        message = ("Thank you. The moderators will look at this comment."
                   + (" It is hidden until they have." if hidden else ""))
        if _wants_json():
            return jsonify(message=message, hidden=hidden)
        flash(message, "success")
        return redirect(target)
    return _flag_page(comment, form, 400 if form.is_submitted() else 200)


# Member pages ---------------------------------------------------------------------

@bp.get("/mine")
@login_required
def mine():
    data = progress.my_feedback(current_user)
    return render_template("feedback/mine.html", data=data, labels=pages.LABELS)


@bp.get("/progress")
@public
def plan_progress():
    data = progress.plan_progress(pages.signed_in_user())
    return render_template("feedback/progress.html", data=data, labels=pages.LABELS)


# My activity ----------------------------------------------------------------------

@bp.get("/activity", endpoint="activity")
@login_required
def activity_page():
    user = current_user._get_current_object()
    pref = activity.preferences_of(user)
    seen = pref.last_seen_at if pref else None
    items = activity.items_for(user)
    new = sum(1 for item in items if item.is_new(seen))
    # A GET never changes state (tests/test_access.py): the markers move when the
    # member says so, with "Mark all as read".
    return render_template("feedback/activity.html", items=items, seen=seen, new=new,
                           kind_labels=KIND_LABELS, form=ConfirmForm())


@bp.post("/activity/seen")
@login_required
def activity_seen():
    form = ConfirmForm()
    if not form.validate_on_submit():
        abort(400)
    activity.mark_seen(current_user._get_current_object())
    db.session.commit()
    flash("Everything on My activity is marked as read.", "success")
    return redirect(url_for("feedback.activity"))


@bp.route("/activity/preferences", methods=["GET", "POST"])
@login_required
def activity_preferences():
    user = current_user._get_current_object()
    form = ConfirmForm()
    chosen = activity.choices(activity.preferences_of(user))
    error = error_field = None
    status = 200
    if request.method == "POST":
        if not form.validate_on_submit():
            abort(400)
        posted = {kind.value: request.form.get(kind.value) for kind in ActivityKind}
        try:
            activity.save_preferences(user, posted, request.form.get("all_mail"))
        except PortalError as exc:
            db.session.rollback()
            error, error_field, status = exc.message, exc.field, 400
            chosen = {kind: posted[kind.value] for kind in ActivityKind}
        else:
            db.session.commit()
            flash("Your e-mail choices are saved.", "success")
            return redirect(url_for("feedback.activity_preferences"))
    return render_template("feedback/activity_preferences.html", form=form, chosen=chosen,
                           kind_labels=KIND_LABELS, delivery_labels=DELIVERY_LABELS,
                           all_mail=activity.all_mail_on(user), error=error,
                           error_field=error_field), status


@bp.route("/activity/unsubscribe/<token>", methods=["GET", "POST"])
@public
@csrf.exempt
def activity_unsubscribe(token: str):
    """RFC 8058 one-click unsubscribe from activity e-mail (a mail client POSTs
    List-Unsubscribe=One-Click without a session or CSRF token: the signed token is the
    proof), and a page with the same button for a person who opens the link."""
    user = notify.unsubscriber(token)
    if user is None:
        return render_template("feedback/unsubscribe.html", user=None), 404
    if request.method == "POST":
        MailSuppression.unsubscribe(user.email)
        db.session.commit()
        return render_template("feedback/unsubscribed.html")
    return render_template("feedback/unsubscribe.html", user=user)
