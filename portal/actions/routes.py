"""Leadership's action plans: the list with its overdue view and per-domain roll-up, an
action with its notes, and the forms that create, edit and note progress."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user

from portal.actions import queries, services
from portal.actions.forms import ActionForm, NoteForm
from portal.errors import NotFound, PortalError
from portal.extensions import db
from portal.forms import attach_error
from portal.models import ACTION_STATUS_LABELS, FINDING_LABELS, AuditEvent, Domain, FindingKind
from portal.plan import queries as plan_queries
from portal.reports.labels import short_name
from portal.security import leader_required
from portal.timeutil import now_utc

bp = Blueprint("actions", __name__, url_prefix="/reports/actions")

LABELS = {"status": {s.value: label for s, label in ACTION_STATUS_LABELS.items()},
          "finding": {k.value: label for k, label in FINDING_LABELS.items()}}


def _today():
    return now_utc().date()


@bp.get("/")
@leader_required
def index():
    view = request.args.get("view", "open")
    if view not in queries.VIEWS:
        raise PortalError("Choose one of the views: open, overdue, owned by me or all.")
    domain = None
    code = request.args.get("domain", "").strip()
    if code:
        domain = db.session.scalar(db.select(Domain).where(Domain.code == code.upper()))
        if domain is None:
            raise NotFound(f"There is no domain with the code '{code}'.")
    today = _today()
    actions = queries.list_actions(view, today, user_id=current_user.id,
                                   domain_id=domain.id if domain else None)
    return render_template("actions/index.html", actions=actions, view=view,
                           views=queries.VIEWS, domain=domain, rollup=queries.rollup(today),
                           today=today, labels=LABELS, short_name=short_name)


def _input(form: ActionForm) -> services.ActionInput:
    return services.ActionInput(
        title=form.title.data, detail=form.detail.data, owner_id=form.owner_id.data,
        due_on=form.due_on.data, status=form.status.data, progress=form.progress.data,
        finding_kind=form.finding_kind.data, finding_note=form.finding_note.data,
        finding_url=form.finding_url.data, published=bool(form.published.data))


def _form(obj=None, **data) -> ActionForm:
    form = ActionForm(obj=obj, data=data or None)
    form.set_choices(plan_queries.ordered_objectives(), services.owners())
    return form


def _form_page(template: str, form: ActionForm, status: int = 200, **context):
    return render_template(template, form=form, labels=LABELS, **context), status


@bp.route("/new", methods=["GET", "POST"])
@leader_required
def new():
    args = request.args
    kind = args.get("finding_kind", FindingKind.OTHER.value)
    form = _form(objective=args.get("objective", "").upper(), status="planned", progress=0,
                 finding_kind=kind if kind in LABELS["finding"] else FindingKind.OTHER.value,
                 finding_url=args.get("finding_url", "")[:500],
                 finding_note=args.get("finding_note", "")[:500],
                 owner_id=current_user.id)
    if form.validate_on_submit():
        objective = plan_queries.get_objective(form.objective.data)
        if objective is None:
            form.objective.errors = ["Choose the objective the action is about."]
        else:
            action = _save(form, lambda: services.create_action(current_user, objective,
                                                                 _input(form)))
            if action is not None:
                flash(f"The action on {objective.code} is saved.", "success")
                return redirect(url_for("actions.show", action_id=action.id))
    return _form_page("actions/new.html", form, 400 if form.is_submitted() else 200)


def _save(form, work):
    """Run a service call and commit; on a refusal roll back, put the message beside its
    field and return None (the caller shows the form again with what was typed)."""
    try:
        result = work()
    except PortalError as exc:
        db.session.rollback()
        attach_error(form, exc)
        return None
    db.session.commit()
    return result


def _action(action_id: int):
    action = queries.get_action(action_id)
    if action is None:
        abort(404)
    return action


def _show(action, note_form: NoteForm | None = None, status: int = 200):
    history = db.session.scalars(
        db.select(AuditEvent).where(AuditEvent.target_type == "actions",
                                    AuditEvent.target_id == str(action.id))
        .order_by(AuditEvent.created_at.desc(), AuditEvent.id.desc()).limit(50)).all()
    return render_template("actions/show.html", action=action, today=_today(),
                           note_form=note_form or NoteForm(formdata=None), history=history,
                           labels=LABELS), status


@bp.get("/<int:action_id>")
@leader_required
def show(action_id: int):
    return _show(_action(action_id))


@bp.route("/<int:action_id>/edit", methods=["GET", "POST"])
@leader_required
def edit(action_id: int):
    action = _action(action_id)
    form = _form(obj=action)
    del form.objective  # an action stays on its objective; its other fields change
    if form.validate_on_submit():
        changed = _save(form, lambda: services.update_action(current_user, action,
                                                             _input(form)))
        if changed is not None:
            flash("The action is updated." if changed else "Nothing changed.", "success")
            return redirect(url_for("actions.show", action_id=action.id))
        action = _action(action_id)
    return _form_page("actions/edit.html", form, 400 if form.is_submitted() else 200,
                      action=action)


@bp.post("/<int:action_id>/notes")
@leader_required
def note(action_id: int):
    action = _action(action_id)
    form = NoteForm()
    if form.validate_on_submit():
        note = _save(form, lambda: services.add_note(current_user, action, form.body.data,
                                                     form.status.data, form.progress.data))
        if note is not None:
            flash("Your note is saved.", "success")
            return redirect(url_for("actions.show", action_id=action.id, _anchor="notes"))
        action = _action(action_id)
    return _show(action, form, 400)
