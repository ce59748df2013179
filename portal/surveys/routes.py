"""Member survey pages: list, introduction, sections with save-and-resume, review, submit."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user
from werkzeug.datastructures import MultiDict

from portal.errors import Conflict
from portal.extensions import db
from portal.resubmit import Again, keeps_typed
from portal.security import verified_required
from portal.surveys import answers as ans
from portal.surveys import services, submission
from portal.surveys.forms import ActionForm, SectionForm
from portal.surveys.lifecycle import sync_due_surveys

bp = Blueprint("surveys", __name__, url_prefix="/surveys")


@bp.before_request
def _sync() -> None:
    sync_due_surveys()


def _user():
    return current_user._get_current_object()


@bp.get("/")
@verified_required
def index():
    return render_template("surveys/index.html", listings=services.surveys_for(_user()))


@bp.get("/<int:survey_id>")
@verified_required
def show(survey_id: int):
    survey = services.get_open_survey(survey_id, _user())
    state = services.state_of(survey, _user())
    page = services.page_for(survey, _user())
    stored = (services.summary(survey, page.answers)
              if state == services.SUBMITTED and not survey.anonymous else None)
    return render_template("surveys/show.html", survey=survey, state=state, page=page,
                           stored=stored, form=ActionForm(),
                           audience=services.audience_label(survey))


@bp.post("/<int:survey_id>/start")
@verified_required
def start(survey_id: int):
    survey = services.get_open_survey(survey_id, _user())
    ActionForm().validate_on_submit()
    page = services.start(survey, _user())
    db.session.commit()
    return redirect(_page_url(survey.id, page.first_open_index(), page.total))


def _page_url(survey_id: int, number: int, total: int) -> str:
    if number > total:
        return url_for("surveys.review", survey_id=survey_id)
    return url_for("surveys.section", survey_id=survey_id, number=number)


def _section_again(survey_id: int, number: int) -> Again:
    """A section sent after the session ran out: the questions with what was typed,
    kept only in the page (never stored for a member who is not signed in)."""
    if current_user.is_authenticated:
        survey = services.get_open_survey(survey_id, _user())
        page = services.page_for(survey, _user())
        sec = page.section(number)
        questions = ans.visible_questions(sec, page.answers)
    else:
        survey, sec, questions = services.section_typed_by_visitor(survey_id, number,
                                                                   request.form)
    action = request.form.get("action", "next")
    return Again(f"Send your answers to “{sec.title}” again", "save your answers",
                 fields_template="surveys/_resubmit_fields.html",
                 stylesheet="css/surveys.css",
                 context={"survey": survey, "questions": questions, "values": request.form,
                          "survey_action": action if action in services.ACTIONS else "next"})


@bp.route("/<int:survey_id>/sections/<int:number>", methods=["GET", "POST"])
@keeps_typed(_section_again)
@verified_required
def section(survey_id: int, number: int):
    survey = services.get_open_survey(survey_id, _user())
    form = SectionForm()
    if request.method == "POST":
        form.validate_on_submit()
        action = request.form.get("action", "next")
        try:
            page, target = services.save_section(survey, _user(), number, request.form, action)
        except services.SectionErrors as exc:
            db.session.rollback()
            return _render_section(survey, number, form, request.form, exc.errors,
                                   exc.form_errors, 422)
        db.session.commit()
        if action == "save":
            flash("Your answers are saved. You can come back and finish later.", "success")
            return redirect(url_for("surveys.index"))
        return redirect(_page_url(survey.id, target, page.total))
    draft = services.get_draft(survey, _user())
    if draft is None:
        return redirect(url_for("surveys.show", survey_id=survey.id))
    page = services.page_for(survey, _user())
    if number > page.first_open_index() or number > page.total:
        return redirect(_page_url(survey.id, page.first_open_index(), page.total))
    values = MultiDict([pair for q in survey.ordered_questions()
                        for pair in ans.to_form(q, page.answers.get(q.code))])
    return _render_section(survey, number, form, values, {}, [], 200)


def _render_section(survey, number, form, values, errors, form_errors, status):
    page = services.page_for(survey, _user())
    sec = page.section(number)
    questions = ans.visible_questions(sec, page.answers)
    return render_template("surveys/section.html", survey=survey, page=page, section=sec,
                           number=number, questions=questions, values=values, errors=errors,
                           form_errors=form_errors, form=form), status


@bp.get("/<int:survey_id>/review")
@verified_required
def review(survey_id: int):
    survey = services.get_open_survey(survey_id, _user())
    draft = services.get_draft(survey, _user())
    if draft is None:
        return redirect(url_for("surveys.show", survey_id=survey.id))
    page = services.page_for(survey, _user())
    if page.first_open_index() <= page.total:
        return redirect(_page_url(survey.id, page.first_open_index(), page.total))
    return render_template("surveys/review.html", survey=survey, page=page,
                           rows=services.summary(survey, page.answers), form=ActionForm())


@bp.post("/<int:survey_id>/submit")
@verified_required
def submit(survey_id: int):
    survey = services.get_open_survey(survey_id, _user())
    form = ActionForm()
    form.validate_on_submit()
    if _already_sent(survey):
        return _thanks_again(survey)
    try:
        receipt = submission.submit(survey, _user())
    except Conflict:
        # Two tabs, or a double click that lost the race: the answers are in, so thank.
        db.session.rollback()
        if _already_sent(survey):
            return _thanks_again(survey)
        raise
    except services.SectionErrors as exc:
        db.session.rollback()
        page = services.page_for(survey, _user())
        return render_template("surveys/review.html", survey=survey, page=page,
                               rows=services.summary(survey, page.answers), form=form,
                               errors=exc.errors), 422
    return render_template("surveys/receipt.html", receipt=receipt)


def _already_sent(survey) -> bool:
    """Submitted, with no new draft (an attributed survey reopened to change answers)."""
    return (services.has_participated(survey, _user())
            and services.get_draft(survey, _user()) is None)


def _thanks_again(survey):
    """The thank-you page once more, for a reload of the submit POST: nothing more is
    stored. Anonymous answers are not shown again: nothing links them to the member."""
    stored = None if survey.anonymous else services.summary(
        survey, services.page_for(survey, _user()).answers)
    return render_template("surveys/thanks_again.html", survey=survey, stored=stored)

