"""Taking a survey: who may answer, drafts that can be resumed, pages in order.

Services flush and never commit (the submission protocol in `submission.py` is
the one documented exception). They raise PortalError subclasses.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import selectinload
from werkzeug.datastructures import MultiDict

from portal import sealing, segments
from portal.errors import Conflict, Forbidden, NotFound, PortalError
from portal.extensions import db
from portal.feedback.sqlutil import insert_ignore
from portal.models import (
    Survey,
    SurveyAnswer,
    SurveyAttribution,
    SurveyDraft,
    SurveyParticipation,
    SurveyQuestion,
    SurveySection,
    SurveyStatus,
    User,
)
from portal.surveys import answers as ans

NOT_STARTED, IN_PROGRESS, SUBMITTED = "not_started", "in_progress", "submitted"
STATE_LABELS = {NOT_STARTED: "Not started", IN_PROGRESS: "In progress", SUBMITTED: "Submitted"}


class SectionErrors(PortalError):
    """A posted page did not validate: `errors` maps question codes to messages."""

    status = 422

    def __init__(self, errors: dict[str, str], form_errors: list[str] | None = None) -> None:
        super().__init__("Some answers need your attention.")
        self.errors = errors
        self.form_errors = form_errors or []


# Audience -----------------------------------------------------------------------------

def in_audience(survey: Survey, user: User) -> bool:
    """Every member, or members whose segment values match each listed dimension."""
    return all(getattr(user, key) in codes for key, codes in (survey.audience or {}).items())


def audience_clause(survey: Survey):
    """SQL condition on users matching the survey's audience."""
    return sa.and_(sa.true(), *[getattr(User, key).in_(codes)
                                for key, codes in (survey.audience or {}).items()])


def audience_label(survey: Survey) -> str:
    if not survey.audience:
        return "All members"
    parts = []
    for key, codes in survey.audience.items():
        dim = segments.get(key)
        if dim:
            parts.append(f"{dim.label}: {', '.join(dim.label_for(c) for c in codes)}")
    return "; ".join(parts)


# Listing ------------------------------------------------------------------------------

@dataclass
class SurveyListing:
    survey: Survey
    state: str

    @property
    def state_label(self) -> str:
        return STATE_LABELS[self.state]


def surveys_for(user: User) -> list[SurveyListing]:
    """Open surveys whose audience includes `user`, each with the member's state."""
    surveys = db.session.scalars(
        sa.select(Survey).where(Survey.status == SurveyStatus.OPEN).order_by(
            Survey.closes_at.is_(None), Survey.closes_at, Survey.id)).all()
    surveys = [s for s in surveys if s.accepts_answers() and in_audience(s, user)]
    if not surveys:
        return []
    ids = [s.id for s in surveys]
    done = set(db.session.scalars(sa.select(SurveyParticipation.survey_id).where(
        SurveyParticipation.user_id == user.id, SurveyParticipation.survey_id.in_(ids))))
    drafts = set(db.session.scalars(sa.select(SurveyDraft.survey_id).where(
        SurveyDraft.user_id == user.id, SurveyDraft.survey_id.in_(ids))))
    return [SurveyListing(s, SUBMITTED if s.id in done else
                          IN_PROGRESS if s.id in drafts else NOT_STARTED) for s in surveys]


def with_structure():
    """Loader option for a survey's sections, questions and options: three queries in
    all, where walking them lazily costs one query per section and per question."""
    return (selectinload(Survey.sections).selectinload(SurveySection.questions)
            .selectinload(SurveyQuestion.options))


def get_open_survey(survey_id: int, user: User) -> Survey:
    """The survey if `user` may answer it now; NotFound/Forbidden/Conflict otherwise."""
    survey = db.session.get(Survey, survey_id, options=[with_structure()])
    if survey is None or survey.is_draft:
        raise NotFound("There is no such survey.")
    if not survey.accepts_answers():
        raise Conflict("This survey is closed and no longer accepts answers.")
    if not in_audience(survey, user):
        raise Forbidden("This survey is for a different group of members.")
    if survey.anonymous and sealing.status() != sealing.OK:
        # Never a clear-text answer: without the right key nothing is taken.
        raise sealing.AnonymityKeyUnavailable(sealing.status())
    return survey


# The buttons of a section page.
ACTIONS = ("next", "previous", "save")


def section_typed_by_visitor(survey_id: int, number: int, form: MultiDict
                             ) -> tuple[Survey, SurveySection, list[SurveyQuestion]]:
    """For a section sent by someone whose session ran out: the open survey, the
    section and only the questions the form carries answers to (nothing else of a
    members' survey is shown to a visitor who is not signed in)."""
    survey = db.session.get(Survey, survey_id, options=[with_structure()])
    if survey is None or survey.is_draft or not 1 <= number <= len(survey.sections):
        raise NotFound("There is no such survey.")
    if not survey.accepts_answers():
        raise Conflict("This survey is closed and no longer accepts answers.")
    sec = survey.sections[number - 1]
    return survey, sec, [q for q in sec.questions if ans.has_input(q, form)]


def has_participated(survey: Survey, user: User) -> bool:
    return db.session.get(SurveyParticipation, (survey.id, user.id)) is not None


def state_of(survey: Survey, user: User) -> str:
    if has_participated(survey, user):
        return SUBMITTED
    return IN_PROGRESS if get_draft(survey, user) else NOT_STARTED


def get_draft(survey: Survey, user: User) -> SurveyDraft | None:
    return db.session.get(SurveyDraft, (survey.id, user.id))


# Drafts and pages ---------------------------------------------------------------------

@dataclass
class Page:
    """Where the member is: the visible sections given their answers so far."""

    survey: Survey
    answers: dict[str, Any]
    completed: list[int]
    sections: list[SurveySection] = field(default_factory=list)

    @property
    def total(self) -> int:
        return len(self.sections)

    @property
    def shown_total(self) -> int:
        """The count the member reads ("Section 1 of 4"): sections shown or still
        possible, so it does not grow when an answer reveals a section."""
        return len(ans.possible_sections(self.survey.sections, self.answers, self.completed))

    def first_open_index(self) -> int:
        """1-based index of the first visible section not completed (total+1 = review)."""
        for i, section in enumerate(self.sections, start=1):
            if section.id not in self.completed:
                return i
        return self.total + 1

    def section(self, number: int) -> SurveySection:
        if not 1 <= number <= self.total:
            raise NotFound("This survey has no such section for your answers.")
        return self.sections[number - 1]


def _writable_draft(survey: Survey, user: User, *, create: bool) -> SurveyDraft | None:
    draft = get_draft(survey, user)
    if draft is None and has_participated(survey, user) and survey.anonymous:
        raise Conflict("You have already submitted this survey; anonymous answers cannot be "
                       "changed.")
    if draft is None and has_participated(survey, user) and not survey.anonymous:
        if not create:
            return None
        draft = _create_draft(survey, user, stored_answers(survey, user))
    elif draft is None and create:
        draft = _create_draft(survey, user, {})
    return draft


def _create_draft(survey: Survey, user: User, answers: dict[str, Any]) -> SurveyDraft:
    """Store the member's new draft, or take the one a simultaneous request just stored.

    Two requests of one member can both find no draft (a double click on Start, two
    tabs, a section posted before Start). The primary key settles it inside the
    database: the later INSERT waits until the earlier transaction ends (PostgreSQL's
    row lock, SQLite's write lock), then does nothing, and that request carries on
    with the row as stored, so neither fails and what the earlier one saved is kept.
    """
    probe = SurveyDraft(survey_id=survey.id, user_id=user.id, answers=answers)
    insert_ignore(SurveyDraft.__table__,
                  {"survey_id": survey.id, "user_id": user.id,
                   "sealed_answers": probe.sealed_answers, "completed_sections": []},
                  ["survey_id", "user_id"])
    draft = db.session.get(SurveyDraft, (survey.id, user.id))
    if draft is None:
        # The other request's draft was submitted (and removed) in the meantime.
        raise Conflict("You have already submitted this survey.")
    return draft


def page_for(survey: Survey, user: User) -> Page:
    draft = get_draft(survey, user)
    answers = dict(draft.answers) if draft else {}
    if draft is None and has_participated(survey, user) and not survey.anonymous:
        answers = stored_answers(survey, user)
    completed = list(draft.completed_sections) if draft else []
    return Page(survey, answers, completed, ans.visible_sections(survey.sections, answers))


def start(survey: Survey, user: User) -> Page:
    """Begin (or, for an attributed survey already answered, re-open) the member's draft."""
    _writable_draft(survey, user, create=True)
    db.session.flush()
    return page_for(survey, user)


def save_section(survey: Survey, user: User, number: int, form: MultiDict, action: str
                 ) -> tuple[Page, int]:
    """Check and keep the answers posted for visible section `number`.

    `action` is "next" (required questions must be answered; the section counts as
    done), "previous" or "save" (keep what is valid, required or not). Returns the
    updated page and the section number to show next (total+1 = review).
    Raises SectionErrors with a message per question; nothing is stored then.
    """
    if action not in ACTIONS:
        raise PortalError("Unknown action.")
    draft = _writable_draft(survey, user, create=True)
    page = Page(survey, dict(draft.answers or {}), list(draft.completed_sections or []),
                ans.visible_sections(survey.sections, draft.answers or {}))
    if number > page.first_open_index():
        raise Conflict("Please answer the sections in order: you have not reached this "
                       "section yet.")
    section = page.section(number)
    visible = ans.visible_questions(section, page.answers)
    visible_codes = {q.code for q in visible}
    errors: dict[str, str] = {}
    form_errors = [
        f"“{q.prompt}” does not apply given your earlier answers, so it cannot be answered."
        for q in section.questions if q.code not in visible_codes and ans.has_input(q, form)]
    new_values: dict[str, Any] = {}
    for q in visible:
        try:
            value = ans.parse_answer(q, form)
            if action == "next":
                ans.require(q, value)
        except ans.AnswerError as exc:
            errors[q.code] = str(exc)
            continue
        new_values[q.code] = value
    if errors or form_errors:
        raise SectionErrors(errors, form_errors)
    answers = dict(page.answers)
    for code, value in new_values.items():
        if value is None:
            answers.pop(code, None)
        else:
            answers[code] = value
    answers = ans.prune(survey.sections, answers)
    completed = [sid for sid in page.completed if sid != section.id]
    if action == "next":
        completed.append(section.id)
    draft.answers = answers
    draft.completed_sections = completed
    db.session.flush()
    page = Page(survey, answers, completed, ans.visible_sections(survey.sections, answers))
    index = page.sections.index(section) + 1 if section in page.sections else 1
    target = {"next": index + 1, "previous": max(index - 1, 1), "save": index}[action]
    return page, min(target, page.total + 1)


def final_answers(survey: Survey, answers: dict[str, Any]) -> dict[str, Any]:
    """Re-check a whole draft against the current definition before it is submitted.

    Raises SectionErrors (keys are question codes) when anything is missing or invalid.
    """
    answers = ans.prune(survey.sections, answers)
    errors: dict[str, str] = {}
    for section in ans.visible_sections(survey.sections, answers):
        for q in ans.visible_questions(section, answers):
            try:
                ans.check_stored(q, answers.get(q.code))
            except (ans.AnswerError, KeyError, TypeError, AttributeError) as exc:
                errors[q.code] = str(exc) if isinstance(exc, ans.AnswerError) else \
                    "This answer no longer fits the question; please answer again."
    if errors:
        raise SectionErrors(errors)
    return answers


def stored_answers(survey: Survey, user: User) -> dict[str, Any]:
    """An attributed member's stored answers, as a draft value (empty for anonymous)."""
    if survey.anonymous:
        return {}
    response_id = db.session.scalar(sa.select(SurveyAttribution.response_id).where(
        SurveyAttribution.survey_id == survey.id, SurveyAttribution.user_id == user.id))
    if response_id is None:
        return {}
    return answers_of_response(survey, response_id)


def answers_of_response(survey: Survey, response_id) -> dict[str, Any]:
    rows = db.session.execute(sa.select(SurveyAnswer).where(
        SurveyAnswer.response_id == response_id)).scalars().all()
    return _answers_from_rows(survey, rows)


def _answers_from_rows(survey: Survey, rows: list[SurveyAnswer]) -> dict[str, Any]:
    by_question: dict[int, list] = {}
    for row in rows:
        by_question.setdefault(row.question_id, []).append(row)
    out: dict[str, Any] = {}
    for q in survey.ordered_questions():
        value = ans.from_rows(q, by_question.get(q.id, []))
        if value is not None:
            out[q.code] = value
    return out


def summary(survey: Survey, answers: dict[str, Any]) -> list[tuple[SurveySection,
                                                                  list[tuple[SurveyQuestion,
                                                                             str]]]]:
    """(section, [(question, answer text)]) for the visible parts of `answers`."""
    out = []
    for section in ans.visible_sections(survey.sections, answers):
        out.append((section, [(q, ans.display(q, answers.get(q.code)))
                              for q in ans.visible_questions(section, answers)]))
    return out


# Members' own data --------------------------------------------------------------------

def export_member_surveys(user: User) -> dict[str, Any]:
    """Everything the portal holds about `user` and surveys, for "download my data".

    Attributed surveys: the member's stored answers. Anonymous surveys: only the
    fact that they took part (their answers cannot be found: they are not linked).
    Unfinished drafts are the member's data too and are included.
    """
    part_ids = set(db.session.scalars(sa.select(SurveyParticipation.survey_id).where(
        SurveyParticipation.user_id == user.id)))
    drafts = {d.survey_id: d for d in db.session.scalars(
        sa.select(SurveyDraft).where(SurveyDraft.user_id == user.id))}
    ids = part_ids | set(drafts)
    surveys = db.session.scalars(
        sa.select(Survey).where(Survey.id.in_(ids)).order_by(Survey.id)
        .options(with_structure())).all() if ids else []
    stored = _attributed_answers(user, [s for s in surveys
                                        if s.id in part_ids and not s.anonymous])
    items = []
    for survey in surveys:
        item: dict[str, Any] = {"survey": survey.label, "anonymous": survey.anonymous,
                                "submitted": survey.id in part_ids}
        if survey.id in part_ids and not survey.anonymous:
            item["answers"] = _readable(survey, stored.get(survey.id, {}))
        elif survey.id in part_ids:
            item["note"] = ("You took part in this anonymous survey. Your answers are not "
                            "linked to you, so they cannot be included.")
        draft = drafts.get(survey.id)
        if draft is not None:
            item["unsubmitted_draft"] = _readable(survey, draft.answers or {})
        items.append(item)
    return {"surveys": items}


def _attributed_answers(user: User, surveys: list[Survey]) -> dict[int, dict[str, Any]]:
    """`stored_answers` of several attributed surveys in two queries, by survey id."""
    if not surveys:
        return {}
    links = dict(db.session.execute(
        sa.select(SurveyAttribution.survey_id, SurveyAttribution.response_id).where(
            SurveyAttribution.user_id == user.id,
            SurveyAttribution.survey_id.in_([s.id for s in surveys]))).all())
    rows: dict[Any, list[SurveyAnswer]] = {}
    if links:
        for row in db.session.scalars(sa.select(SurveyAnswer).where(
                SurveyAnswer.response_id.in_(list(links.values())))):
            rows.setdefault(row.response_id, []).append(row)
    return {s.id: _answers_from_rows(s, rows.get(links[s.id], []))
            for s in surveys if s.id in links}


def _readable(survey: Survey, answers: dict[str, Any]) -> list[dict[str, str]]:
    return [{"question": q.prompt, "answer": text}
            for _, rows in summary(survey, answers) for q, text in rows
            if q.code in answers]
