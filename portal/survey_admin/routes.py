"""The survey builder for admins: /admin/surveys."""

from __future__ import annotations

from flask import Blueprint, Response, flash, redirect, render_template, request, url_for
from flask_login import current_user

from portal import sealing
from portal.errors import NotFound, PortalError
from portal.extensions import db
from portal.models import Objective, SurveyOption, SurveyQuestion, SurveySection
from portal.numfmt import plural
from portal.security import admin_required
from portal.survey_admin import forms, services
from portal.surveys import definition
from portal.surveys.lifecycle import sync_due_surveys
from portal.surveys.services import audience_label

bp = Blueprint("survey_admin", __name__, url_prefix="/admin/surveys")


@bp.before_request
@admin_required
def _guard():
    sync_due_surveys()


def _actor():
    return current_user._get_current_object()


def _fail(form, err: PortalError) -> None:
    """Show a domain error next to its field (or above the form)."""
    db.session.rollback()
    target = getattr(form, err.field, None) if err.field else None
    if target is not None and hasattr(target, "errors"):
        target.errors = [*target.errors, err.message] if isinstance(target.errors, list) \
            else [err.message]
    else:
        form.form_errors.append(err.message)


def _status(form, err: PortalError | None = None) -> int:
    if err is not None:
        return err.status
    return 422 if form.is_submitted() else 200


# Surveys ------------------------------------------------------------------------------

@bp.context_processor
def _anonymity_key_problem() -> dict:
    # Admins see at once when anonymous surveys cannot take answers, and why.
    return {"anonymity_problem": sealing.admin_message(sealing.status())}


@bp.get("/")
def index():
    return render_template("survey_admin/index.html", surveys=services.list_surveys(),
                           new_form=forms.NewSurveyForm(), import_form=forms.ImportForm())


@bp.post("/new")
def create():
    form = forms.NewSurveyForm()
    if not form.validate_on_submit():
        return render_template("survey_admin/index.html", surveys=services.list_surveys(),
                               new_form=form, import_form=forms.ImportForm()), 422
    survey = services.create_survey(_actor(), form.title.data, anonymous=form.anonymous.data)
    db.session.commit()
    flash("Survey created as a draft. Add its questions.", "success")
    return redirect(url_for("survey_admin.edit", survey_id=survey.id))


@bp.post("/import")
def import_survey():
    form = forms.ImportForm()
    problems: list[str] = []
    if form.validate_on_submit():
        content = form.content()
        if not content:
            form.text.errors = ["Choose a file or paste a definition."]
        else:
            try:
                survey = services.import_definition(_actor(), content)
                db.session.commit()
                flash(f"Imported “{survey.title}” as a draft.", "success")
                return redirect(url_for("survey_admin.edit", survey_id=survey.id))
            except definition.DefinitionError as exc:
                db.session.rollback()
                problems = exc.problems
                form.text.errors = [f"The file was refused: {plural(len(problems), 'problem')}, "
                                    "listed below."]
    return render_template("survey_admin/index.html", surveys=services.list_surveys(),
                           new_form=forms.NewSurveyForm(), import_form=form,
                           problems=problems), 422


def _objective_choices() -> list[tuple[str, str]]:
    rows = db.session.execute(db.select(Objective.code).where(
        Objective.retired_at.is_(None)).order_by(Objective.code)).scalars()
    return [("", "None"), *[(c, c) for c in rows]]


def _condition_choices(survey, before_section: int) -> list[tuple[str, str]]:
    out = []
    for section in survey.sections[:before_section]:
        for q in section.questions:
            if q.is_choice:
                out.extend((f"{q.code}={o.code}", f"{q.code.upper()} “{q.prompt[:60]}” is "
                            f"“{o.label}”") for o in q.options)
    return out


@bp.route("/<int:survey_id>", methods=["GET", "POST"])
def edit(survey_id: int):
    survey = services.get_survey(survey_id)
    form = forms.SurveyForm(obj=survey if request.method == "GET" else None)
    form.objective.choices = _objective_choices()
    if request.method == "GET":
        form.objective.data = survey.objective.code if survey.objective else ""
        for key, codes in (survey.audience or {}).items():
            getattr(form, f"aud_{key}").data = codes
        form.breakdown.data = list(survey.breakdown_keys)
    err = None
    if form.validate_on_submit():
        try:
            services.update_survey(
                _actor(), survey, title=form.title.data, introduction=form.introduction.data,
                anonymous=form.anonymous.data, audience=form.audience(),
                opens_at=form.opens_at.data, closes_at=form.closes_at.data,
                objective_code=form.objective.data or None,
                breakdown=form.breakdown.data or [])
            db.session.commit()
            flash("Survey settings saved.", "success")
            return redirect(url_for("survey_admin.edit", survey_id=survey.id))
        except PortalError as exc:
            err = exc
            _fail(form, exc)
            survey = services.get_survey(survey_id)
    return render_template("survey_admin/edit.html", survey=survey, form=form,
                           locked=services.structure_locked(survey),
                           has_responses=services.has_responses(survey),
                           audience=audience_label(survey), action_form=forms.ConfirmForm(),
                           message=services.VERSION_MESSAGE), _status(form, err)


def _transition(survey_id: int, action, done: str):
    survey = services.get_survey(survey_id)
    forms.ConfirmForm().validate_on_submit()
    try:
        result = action(_actor(), survey)
        db.session.commit()
    except PortalError as exc:
        return _refused(exc, survey_id)
    flash(done, "success")
    target = result.id if result is not None and hasattr(result, "id") else survey_id
    return redirect(url_for("survey_admin.edit", survey_id=target))


@bp.post("/<int:survey_id>/open")
def open_survey(survey_id: int):
    return _transition(survey_id, services.open_survey, "The survey is open.")


@bp.get("/<int:survey_id>/close")
def confirm_close(survey_id: int):
    """Closing stops every member's answers, so it is asked on a page of its own."""
    return render_template("survey_admin/close.html", survey=services.get_survey(survey_id))


@bp.post("/<int:survey_id>/close")
def close_survey(survey_id: int):
    return _transition(survey_id, services.close_survey, "The survey is closed.")


@bp.post("/<int:survey_id>/duplicate")
def duplicate(survey_id: int):
    return _transition(survey_id, services.duplicate_survey,
                       "A new version was created as a draft.")


@bp.get("/<int:survey_id>/delete")
def confirm_delete(survey_id: int):
    """Deleting a draft cannot be undone, so it is asked on a page of its own."""
    survey = services.get_survey(survey_id)
    return render_template("survey_admin/delete.html", survey=survey,
                           deletable=survey.is_draft and not services.has_responses(survey))


@bp.post("/<int:survey_id>/delete")
def delete(survey_id: int):
    survey = services.get_survey(survey_id)
    forms.ConfirmForm().validate_on_submit()
    try:
        services.delete_survey(_actor(), survey)
        db.session.commit()
    except PortalError as exc:
        return _refused(exc, survey_id)
    flash("The draft survey was deleted.", "success")
    return redirect(url_for("survey_admin.index"))


@bp.get("/<int:survey_id>/definition.json")
def export_definition(survey_id: int):
    survey = services.get_survey(survey_id)
    return Response(definition.dumps(definition.export(survey)), mimetype="application/json",
                    headers={"Content-Disposition":
                             f'attachment; filename="survey-{survey.id}-definition.json"'})


# Sections -----------------------------------------------------------------------------

def _section(survey_id: int, section_id: int) -> SurveySection:
    section = db.session.get(SurveySection, section_id)
    if section is None or section.survey_id != survey_id:
        raise NotFound("There is no such section in this survey.")
    return section


@bp.route("/<int:survey_id>/sections/new", methods=["GET", "POST"])
@bp.route("/<int:survey_id>/sections/<int:section_id>", methods=["GET", "POST"])
def section(survey_id: int, section_id: int | None = None):
    survey = services.get_survey(survey_id)
    sec = _section(survey_id, section_id) if section_id else None
    form = forms.SectionForm(obj=sec if request.method == "GET" else None)
    index = survey.sections.index(sec) if sec else len(survey.sections)
    form.show_if.choices = _condition_choices(survey, index)
    if request.method == "GET" and sec:
        form.show_if.data = forms.condition_values(sec.show_if)
    err = None
    if form.validate_on_submit():
        show_if = forms.condition_from(form.show_if.data)
        try:
            if sec is None:
                services.add_section(_actor(), survey, form.title.data, form.description.data,
                                     show_if)
            else:
                services.update_section(_actor(), sec, form.title.data, form.description.data,
                                        show_if)
            db.session.commit()
            flash("Section saved.", "success")
            return redirect(url_for("survey_admin.edit", survey_id=survey_id))
        except PortalError as exc:
            err = exc
            _fail(form, exc)
            survey = services.get_survey(survey_id)
            sec = _section(survey_id, section_id) if section_id else None
    return render_template("survey_admin/section.html", survey=survey, section=sec,
                           form=form), _status(form, err)


def _confirm_part(survey_id: int, heading: str, what_goes: str, action: str, cancel: str,
                  label: str):
    """Deleting a section, question or option cannot be undone: asked on a page of its
    own (the POST of the same URL does it), which works without JavaScript."""
    survey = services.get_survey(survey_id)
    return render_template("survey_admin/delete_part.html", survey=survey, heading=heading,
                           what_goes=what_goes, action=action, cancel=cancel, label=label,
                           locked=services.structure_locked(survey),
                           message=services.VERSION_MESSAGE)


@bp.get("/<int:survey_id>/sections/<int:section_id>/delete")
def section_confirm_delete(survey_id: int, section_id: int):
    sec = _section(survey_id, section_id)
    n = len(sec.questions)
    return _confirm_part(
        survey_id, f"Delete the section “{sec.title}”?",
        f"The section and its {n} question{'' if n == 1 else 's'} go.",
        url_for("survey_admin.section_delete", survey_id=survey_id, section_id=section_id),
        url_for("survey_admin.edit", survey_id=survey_id, _anchor=f"section-{section_id}"),
        "Delete the section")


@bp.post("/<int:survey_id>/sections/<int:section_id>/delete")
def section_delete(survey_id: int, section_id: int):
    sec = _section(survey_id, section_id)
    return _small_action(survey_id, lambda: services.delete_section(_actor(), sec),
                         "Section deleted.")


@bp.post("/<int:survey_id>/sections/<int:section_id>/move")
def section_move(survey_id: int, section_id: int):
    sec = _section(survey_id, section_id)
    form = forms.MoveForm()
    if not form.validate_on_submit():
        return _bad_move(survey_id)
    return _small_action(survey_id, lambda: services.move_section(_actor(), sec,
                                                                  form.direction.data),
                         "Section moved.", anchor=f"section-{section_id}")


def _refused(exc: PortalError, survey_id: int, question_id: int | None = None):
    """A refused button press: the same page again, the reason on top, a 4xx status."""
    db.session.rollback()
    flash(exc.message, "error")
    survey = services.get_survey(survey_id)
    if question_id is not None:
        question = _question(survey_id, question_id)
        form = forms.QuestionForm(obj=question, formdata=None)
        form.fill_settings(question.type, question.settings or {})
        form.show_if.choices = _condition_choices(survey, survey.sections.index(
            question.section))
        form.show_if.data = forms.condition_values(question.show_if)
        return render_template("survey_admin/question.html", survey=survey,
                               section=question.section, question=question, form=form,
                               option_form=forms.OptionForm(formdata=None),
                               locked=services.structure_locked(survey),
                               message=services.VERSION_MESSAGE), exc.status
    form = forms.SurveyForm(obj=survey, formdata=None)
    form.objective.choices = _objective_choices()
    return render_template("survey_admin/edit.html", survey=survey, form=form,
                           locked=services.structure_locked(survey),
                           has_responses=services.has_responses(survey),
                           audience=audience_label(survey),
                           action_form=forms.ConfirmForm(formdata=None),
                           message=services.VERSION_MESSAGE), exc.status


def _small_action(survey_id: int, action, done: str, anchor: str | None = None,
                  back: str | None = None, question_id: int | None = None):
    try:
        action()
        db.session.commit()
    except PortalError as exc:
        return _refused(exc, survey_id, question_id)
    flash(done, "success")
    return redirect(back or url_for("survey_admin.edit", survey_id=survey_id,
                                    _anchor=anchor))


def _bad_move(survey_id: int, question_id: int | None = None):
    return _refused(PortalError("Choose up or down."), survey_id, question_id)


# Questions ----------------------------------------------------------------------------

def _question(survey_id: int, question_id: int) -> SurveyQuestion:
    question = db.session.get(SurveyQuestion, question_id)
    if question is None or question.survey_id != survey_id:
        raise NotFound("There is no such question in this survey.")
    return question


@bp.route("/<int:survey_id>/sections/<int:section_id>/questions/new", methods=["GET", "POST"])
def question_new(survey_id: int, section_id: int):
    survey = services.get_survey(survey_id)
    sec = _section(survey_id, section_id)
    form = forms.QuestionForm()
    form.show_if.choices = _condition_choices(survey, survey.sections.index(sec))
    err = None
    if form.validate_on_submit():
        try:
            question = services.add_question(
                _actor(), sec, qtype=form.type.data, prompt=form.prompt.data,
                help_text=form.help_text.data, required=form.required.data,
                settings=form.settings(form.type.data),
                show_if=forms.condition_from(form.show_if.data),
                options=(form.options.data or "").splitlines(),
                allow_other=form.allow_other.data)
            db.session.commit()
            flash(f"Question {question.code.upper()} added.", "success")
            return redirect(url_for("survey_admin.edit", survey_id=survey_id,
                                    _anchor=f"question-{question.id}"))
        except PortalError as exc:
            err = exc
            _fail(form, _settings_field(exc))
            survey = services.get_survey(survey_id)
            sec = _section(survey_id, section_id)
    return render_template("survey_admin/question.html", survey=survey, section=sec,
                           question=None, form=form), _status(form, err)


_SETTING_FIELDS = {"min": "num_min", "max": "num_max"}


def _settings_field(err: PortalError) -> PortalError:
    """Map a settings key (from definition.normalise_settings) to its form field."""
    if err.field in _SETTING_FIELDS:
        err.field = _SETTING_FIELDS[err.field]
    return err


@bp.route("/<int:survey_id>/questions/<int:question_id>", methods=["GET", "POST"])
def question_edit(survey_id: int, question_id: int):
    survey = services.get_survey(survey_id)
    question = _question(survey_id, question_id)
    form = forms.QuestionForm(obj=question if request.method == "GET" else None)
    form.type.data = question.type
    form.show_if.choices = _condition_choices(survey, survey.sections.index(question.section))
    if request.method == "GET":
        form.fill_settings(question.type, question.settings or {})
        form.show_if.data = forms.condition_values(question.show_if)
    err = None
    if form.validate_on_submit():
        try:
            services.update_question(
                _actor(), question, prompt=form.prompt.data, help_text=form.help_text.data,
                required=form.required.data, settings=form.settings(question.type),
                show_if=forms.condition_from(form.show_if.data))
            db.session.commit()
            flash(f"Question {question.code.upper()} saved.", "success")
            return redirect(url_for("survey_admin.question_edit", survey_id=survey_id,
                                    question_id=question_id))
        except PortalError as exc:
            err = exc
            _fail(form, _settings_field(exc))
            survey = services.get_survey(survey_id)
            question = _question(survey_id, question_id)
    return render_template("survey_admin/question.html", survey=survey, section=question.section,
                           question=question, form=form, option_form=forms.OptionForm(),
                           locked=services.structure_locked(survey),
                           message=services.VERSION_MESSAGE), _status(form, err)


@bp.get("/<int:survey_id>/questions/<int:question_id>/delete")
def question_confirm_delete(survey_id: int, question_id: int):
    question = _question(survey_id, question_id)
    n = len(question.options)
    return _confirm_part(
        survey_id, f"Delete question {question.code.upper()}?",
        f"“{question.prompt}” goes"
        + (f", with its {n} option{'' if n == 1 else 's'}." if n else "."),
        url_for("survey_admin.question_delete", survey_id=survey_id, question_id=question_id),
        url_for("survey_admin.edit", survey_id=survey_id, _anchor=f"question-{question_id}"),
        "Delete the question")


@bp.post("/<int:survey_id>/questions/<int:question_id>/delete")
def question_delete(survey_id: int, question_id: int):
    question = _question(survey_id, question_id)
    return _small_action(survey_id, lambda: services.delete_question(_actor(), question),
                         "Question deleted.")


@bp.post("/<int:survey_id>/questions/<int:question_id>/move")
def question_move(survey_id: int, question_id: int):
    question = _question(survey_id, question_id)
    form = forms.MoveForm()
    if not form.validate_on_submit():
        return _bad_move(survey_id)
    return _small_action(survey_id, lambda: services.move_question(_actor(), question,
                                                                   form.direction.data),
                         "Question moved.", anchor=f"question-{question_id}")


# Options ------------------------------------------------------------------------------

def _option(survey_id: int, question_id: int, option_id: int) -> SurveyOption:
    option = db.session.get(SurveyOption, option_id)
    if option is None or option.question_id != question_id or \
            option.question.survey_id != survey_id:
        raise NotFound("There is no such option in this question.")
    return option


def _back(survey_id: int, question_id: int) -> str:
    return url_for("survey_admin.question_edit", survey_id=survey_id, question_id=question_id)


@bp.post("/<int:survey_id>/questions/<int:question_id>/options")
def option_add(survey_id: int, question_id: int):
    question = _question(survey_id, question_id)
    form = forms.OptionForm()
    if not form.validate_on_submit():
        return _refused(PortalError("Option: " + " ".join(
            form.label.errors or ["check the form"])), survey_id, question_id)
    return _small_action(survey_id, lambda: services.add_option(
        _actor(), question, form.label.data, form.is_other.data), "Option added.",
        back=_back(survey_id, question_id), question_id=question_id)


@bp.post("/<int:survey_id>/questions/<int:question_id>/options/<int:option_id>")
def option_edit(survey_id: int, question_id: int, option_id: int):
    option = _option(survey_id, question_id, option_id)
    form = forms.OptionForm()
    if not form.validate_on_submit():
        return _refused(PortalError("Option: " + " ".join(
            form.label.errors or ["check the form"])), survey_id, question_id)
    return _small_action(survey_id, lambda: services.update_option(_actor(), option,
                                                                   form.label.data),
                         "Option saved.", back=_back(survey_id, question_id),
                         question_id=question_id)


@bp.get("/<int:survey_id>/questions/<int:question_id>/options/<int:option_id>/delete")
def option_confirm_delete(survey_id: int, question_id: int, option_id: int):
    option = _option(survey_id, question_id, option_id)
    return _confirm_part(
        survey_id, f"Delete option {option.code} of question {option.question.code.upper()}?",
        f"The option “{option.label}” goes.",
        url_for("survey_admin.option_delete", survey_id=survey_id, question_id=question_id,
                option_id=option_id),
        _back(survey_id, question_id), "Delete the option")


@bp.post("/<int:survey_id>/questions/<int:question_id>/options/<int:option_id>/delete")
def option_delete(survey_id: int, question_id: int, option_id: int):
    option = _option(survey_id, question_id, option_id)
    return _small_action(survey_id, lambda: services.delete_option(_actor(), option),
                         "Option deleted.", back=_back(survey_id, question_id),
                         question_id=question_id)


@bp.post("/<int:survey_id>/questions/<int:question_id>/options/<int:option_id>/move")
def option_move(survey_id: int, question_id: int, option_id: int):
    option = _option(survey_id, question_id, option_id)
    form = forms.MoveForm()
    if not form.validate_on_submit():
        return _bad_move(survey_id, question_id)
    return _small_action(survey_id, lambda: services.move_option(_actor(), option,
                                                                 form.direction.data),
                         "Option moved.", back=_back(survey_id, question_id),
                         question_id=question_id)
