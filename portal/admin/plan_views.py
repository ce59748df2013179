"""Admin: the plan editor."""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_login import current_user

from portal.admin import plan_editor
from portal.admin.blueprint import bp
from portal.admin.forms import (
    ActionForm,
    DomainForm,
    NewObjectiveForm,
    ObjectiveForm,
    StatementsForm,
)
from portal.errors import NotFound, PortalError
from portal.extensions import db
from portal.forms import attach_error
from portal.plan.queries import load_plan_overview
from portal.plan.services import objectives_with_feedback


@bp.get("/plan")
def plan_index():
    plan = load_plan_overview()
    ids = [o.id for d in plan.domains for o in d.objectives] if plan else []
    return render_template("admin/plan.html", plan=plan, action_form=ActionForm(),
                           with_feedback=objectives_with_feedback(ids))


def _form_page(template: str, form, status: int = 200, **context):
    return render_template(template, form=form, **context), status


def _save(form, template: str, change, done: str, target: str, **context):
    """The common shape of an editor POST: validate, call the service, commit, redirect."""
    if not form.validate_on_submit():
        return _form_page(template, form, 400 if form.is_submitted() else 200, **context)
    try:
        change()
    except PortalError as err:
        db.session.rollback()
        attach_error(form, err)
        return _form_page(template, form, err.status, **context)
    db.session.commit()
    flash(done, "success")
    return redirect(target)


@bp.route("/plan/statements", methods=["GET", "POST"])
def plan_statements():
    plan = load_plan_overview()
    if plan is None:
        raise NotFound("There is no plan yet: import one with `flask plan import`.")
    form = StatementsForm()
    if request.method == "GET":
        form.mission.data, form.vision.data = plan.mission, plan.vision
        form.values.data = "\n".join(v.name for v in plan.values)
    return _save(form, "admin/plan_statements.html",
                 lambda: plan_editor.update_statements(current_user, form.mission.data,
                                                       form.vision.data, form.values.data),
                 "The mission, vision and values are saved.", url_for("admin.plan_index"))


@bp.route("/plan/domains/<code>", methods=["GET", "POST"])
def plan_domain(code: str):
    dom = plan_editor.get_domain(code)
    form = DomainForm(obj=dom) if request.method == "GET" else DomainForm()
    return _save(form, "admin/plan_domain.html",
                 lambda: plan_editor.update_domain(current_user, dom, form.title.data,
                                                   form.goal.data),
                 f"Domain {dom.code} is saved.", url_for("admin.plan_index"), domain=dom)


@bp.route("/plan/domains/<code>/objectives/new", methods=["GET", "POST"])
def plan_objective_new(code: str):
    dom = plan_editor.get_domain(code)
    form = NewObjectiveForm()
    if request.method == "GET":
        form.code.data = plan_editor.next_code(dom)
    return _save(form, "admin/plan_objective_new.html",
                 lambda: plan_editor.add_objective(current_user, dom, form.code.data,
                                                   form.text.data),
                 "The objective is added.", url_for("admin.plan_index"), domain=dom)


@bp.route("/plan/objectives/<code>", methods=["GET", "POST"])
def plan_objective(code: str):
    obj = plan_editor.get_objective(code)
    form = ObjectiveForm(obj=obj) if request.method == "GET" else ObjectiveForm()
    return _save(form, "admin/plan_objective.html",
                 lambda: plan_editor.update_objective(current_user, obj, form.text.data),
                 f"Objective {obj.code} is saved.", url_for("admin.plan_index"), objective=obj)


def _objective_action(code: str, action, done):
    obj = plan_editor.get_objective(code)
    if not ActionForm().validate_on_submit():
        flash("The form expired; please try again.", "error")
        return redirect(url_for("admin.plan_index")), 400
    try:
        result = action(obj)
    except PortalError as err:
        db.session.rollback()
        flash(err.message, "error")
        return redirect(url_for("admin.plan_index"))
    message = done(result) if callable(done) else done
    db.session.commit()
    flash(message, "success")
    return redirect(url_for("admin.plan_index") + f"#objective-{code.upper()}")


@bp.post("/plan/objectives/<code>/move")
def plan_objective_move(code: str):
    direction = request.form.get("direction", "")
    return _objective_action(
        code, lambda obj: plan_editor.move_objective(current_user, obj, direction),
        f"Objective {code.upper()} moved {direction}.")


@bp.post("/plan/objectives/<code>/retire")
def plan_objective_retire(code: str):
    return _objective_action(
        code, lambda obj: plan_editor.retire_objective(current_user, obj),
        f"Objective {code.upper()} is retired; it keeps its code and its feedback.")


@bp.post("/plan/objectives/<code>/reinstate")
def plan_objective_reinstate(code: str):
    return _objective_action(
        code, lambda obj: plan_editor.reinstate_objective(current_user, obj),
        f"Objective {code.upper()} is back in the plan.")


@bp.post("/plan/objectives/<code>/remove")
def plan_objective_remove(code: str):
    return _objective_action(
        code, lambda obj: plan_editor.remove_objective(current_user, obj),
        lambda result: (f"Objective {code.upper()} is deleted." if result == "deleted" else
                        f"Objective {code.upper()} has feedback, so it was retired instead "
                        "of deleted; it keeps its code."))
