"""The survey builder: every change an admin makes, checked and audited.

Once a survey has responses its STRUCTURE is frozen (questions, options, types,
validation, logic): the answers already given must keep their meaning. Wording
(titles, introduction, prompts, help texts, option labels) can still be
corrected, and questions and options can be reordered. For anything else the
admin duplicates the survey into a new version.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa

from portal import audit
from portal.errors import Conflict, NotFound, PortalError
from portal.extensions import db
from portal.models import (
    Objective,
    Survey,
    SurveyOption,
    SurveyParticipation,
    SurveyQuestion,
    SurveyResponse,
    SurveySection,
    User,
)
from portal.models.survey import DEFAULT_BREAKDOWN
from portal.surveys import definition
from portal.surveys.services import with_structure

VERSION_MESSAGE = ("This survey already has responses, so questions and options can no longer "
                   "be added, removed or changed in meaning (their wording can still be "
                   "corrected). Duplicate it to make a new version.")


# Reading ------------------------------------------------------------------------------

def get_survey(survey_id: int) -> Survey:
    survey = db.session.get(Survey, survey_id, options=[with_structure()])
    if survey is None:
        raise NotFound("There is no such survey.")
    return survey


def list_surveys() -> list[tuple[Survey, int]]:
    """Every survey with its number of responses (one grouped query)."""
    counts = (sa.select(SurveyResponse.survey_id, sa.func.count().label("n"))
              .group_by(SurveyResponse.survey_id).subquery())
    rows = db.session.execute(
        sa.select(Survey, sa.func.coalesce(counts.c.n, 0))
        .outerjoin(counts, counts.c.survey_id == Survey.id)
        .order_by(Survey.id.desc())).all()
    return [(s, n) for s, n in rows]


def has_responses(survey: Survey) -> bool:
    """Responses, or members recorded as having answered (a submission in flight)."""
    if survey.id is None:
        return False
    return bool(db.session.scalar(sa.select(sa.or_(
        sa.exists().where(SurveyResponse.survey_id == survey.id),
        sa.exists().where(SurveyParticipation.survey_id == survey.id)))))


def structure_locked(survey: Survey) -> bool:
    return survey.is_closed or has_responses(survey)


def _require_structure_editable(survey: Survey) -> None:
    if survey.is_closed:
        raise Conflict("The survey is closed; duplicate it to make a new version.")
    if has_responses(survey):
        raise Conflict(VERSION_MESSAGE)


def _check(survey: Survey) -> None:
    """Refuse a change that leaves the definition inconsistent (e.g. a condition that
    now points at a later question)."""
    db.session.flush()
    try:
        definition.validate(definition.export(survey), allow_empty=True)
    except definition.DefinitionError as exc:
        raise PortalError("That change would break the survey: " + "; ".join(exc.problems))


def _renumber(items: list) -> None:
    for i, item in enumerate(items):
        item.position = i


def _move(items: list, item: Any, direction: str) -> None:
    i = items.index(item)
    j = i - 1 if direction == "up" else i + 1
    if direction not in ("up", "down") or not 0 <= j < len(items):
        raise PortalError("It cannot move further that way.")
    order = list(items)
    order[i], order[j] = order[j], order[i]
    _renumber(order)
    # Sorting in place fires no collection events (a swap by index would look like a
    # removal to the delete-orphan cascade).
    items.sort(key=lambda x: x.position)


# Surveys ------------------------------------------------------------------------------

def create_survey(actor: User, title: str, introduction: str = "", anonymous: bool = True
                  ) -> Survey:
    survey = Survey(title=title.strip(), introduction=introduction or "", anonymous=anonymous,
                    audience={}, created_by_id=actor.id)
    survey.sections.append(SurveySection(title="Section 1", description="", position=0))
    db.session.add(survey)
    db.session.flush()
    audit.record(actor, "survey.created", survey, {"title": survey.title})
    return survey


def update_survey(actor: User, survey: Survey, *, title: str, introduction: str,
                  anonymous: bool, audience: dict[str, list[str]], opens_at: datetime | None,
                  closes_at: datetime | None, objective_code: str | None,
                  breakdown: list[str] | None = None) -> None:
    """Settings of a survey. Anonymity is fixed once open; the audience and the
    opening time once it has opened; the closing time can move while it is open."""
    if survey.is_closed:
        raise Conflict("The survey is closed; duplicate it to make a new version.")
    survey.set_anonymous(anonymous)
    if breakdown is not None:
        survey.set_breakdown(breakdown)
    if not survey.is_draft and (audience != (survey.audience or {})
                                or opens_at != survey.opens_at):
        raise Conflict("The audience and the opening time are fixed once the survey has "
                       "opened.", field="opens_at")
    if closes_at is not None and opens_at is not None and closes_at <= opens_at:
        raise PortalError("The closing time must be after the opening time.", field="closes_at")
    objective_id = None
    if objective_code:
        objective_id = db.session.scalar(sa.select(Objective.id).where(
            Objective.code == objective_code))
        if objective_id is None:
            raise PortalError("There is no such objective.", field="objective")
    survey.title = title.strip()
    survey.introduction = introduction or ""
    survey.audience = audience
    survey.opens_at = opens_at
    survey.closes_at = closes_at
    survey.objective_id = objective_id
    db.session.flush()
    audit.record(actor, "survey.updated", survey, {"title": survey.title})


def open_survey(actor: User, survey: Survey) -> None:
    try:
        definition.validate(definition.export(survey))
    except definition.DefinitionError as exc:
        raise PortalError("The survey cannot open yet: " + "; ".join(exc.problems))
    survey.open()
    db.session.flush()
    audit.record(actor, "survey.opened", survey)


def close_survey(actor: User, survey: Survey) -> None:
    survey.close()
    db.session.flush()
    audit.record(actor, "survey.closed", survey)


def delete_survey(actor: User, survey: Survey) -> None:
    if not survey.is_draft or has_responses(survey):
        raise Conflict("Only a draft survey without responses can be deleted; close it "
                       "instead.")
    audit.record(actor, "survey.deleted", survey, {"title": survey.title})
    db.session.delete(survey)
    db.session.flush()


def duplicate_survey(actor: User, survey: Survey) -> Survey:
    """A new draft version with the same definition (codes kept, so exports line up)."""
    data = definition.export(survey)
    copy = create_from_definition(data, actor, audit_action=None)
    copy.version = survey.version + 1
    copy.previous_version_id = survey.id
    copy.next_question_number = survey.next_question_number
    db.session.flush()
    audit.record(actor, "survey.duplicated", copy, {"from": survey.id})
    return copy


def create_from_definition(data: dict[str, Any], actor: User | None, *,
                           template_key: str | None = None,
                           audit_action: str | None = "survey.imported") -> Survey:
    """Create a draft survey from a VALIDATED definition (see definition.validate)."""
    objective_id = None
    if data.get("objective"):
        objective_id = db.session.scalar(sa.select(Objective.id).where(
            Objective.code == data["objective"]))
    survey = Survey(title=data["title"], introduction=data.get("introduction", ""),
                    anonymous=data.get("anonymous", True), audience=data.get("audience", {}),
                    breakdown_dimensions=list(data.get("breakdown", DEFAULT_BREAKDOWN)),
                    objective_id=objective_id, template_key=template_key,
                    created_by_id=actor.id if actor else None)
    numbers = [0]
    for si, sec in enumerate(data["sections"]):
        section = SurveySection(title=sec["title"], description=sec.get("description", ""),
                                show_if=sec.get("show_if"), position=si)
        survey.sections.append(section)
        for qi, q in enumerate(sec["questions"]):
            question = SurveyQuestion(
                code=q["code"], type=q["type"], prompt=q["prompt"], help_text=q.get("help", ""),
                required=q.get("required", False), settings=q["settings"],
                show_if=q.get("show_if"), position=qi,
                next_option_number=len(q["options"]) + 1)
            question.survey = survey
            for oi, o in enumerate(q["options"]):
                question.options.append(SurveyOption(code=o["code"], label=o["label"],
                                                     is_other=o.get("other", False),
                                                     position=oi))
            section.questions.append(question)
            if q["code"][1:].isdigit():
                numbers.append(int(q["code"][1:]))
    survey.next_question_number = max(numbers) + 1
    db.session.add(survey)
    db.session.flush()
    if audit_action:
        audit.record(actor, audit_action, survey, {"title": survey.title})
    return survey


# Sections -----------------------------------------------------------------------------

def add_section(actor: User, survey: Survey, title: str, description: str,
                show_if: dict | None) -> SurveySection:
    _require_structure_editable(survey)
    section = SurveySection(title=title.strip(), description=description or "",
                            show_if=show_if, position=len(survey.sections))
    survey.sections.append(section)
    _check(survey)
    audit.record(actor, "survey.section_added", survey, {"section": section.title})
    return section


def update_section(actor: User, section: SurveySection, title: str, description: str,
                   show_if: dict | None) -> None:
    survey = section.survey
    if show_if != section.show_if:
        _require_structure_editable(survey)
    section.title = title.strip()
    section.description = description or ""
    section.show_if = show_if
    _check(survey)
    audit.record(actor, "survey.section_updated", survey, {"section": section.id})


def delete_section(actor: User, section: SurveySection) -> None:
    survey = section.survey
    _require_structure_editable(survey)
    if len(survey.sections) == 1:
        raise PortalError("A survey keeps at least one section.")
    survey.sections.remove(section)
    _renumber(survey.sections)
    _check(survey)
    audit.record(actor, "survey.section_deleted", survey, {"section": section.id})


def move_section(actor: User, section: SurveySection, direction: str) -> None:
    survey = section.survey
    if survey.is_closed:
        raise Conflict("The survey is closed.")
    _move(survey.sections, section, direction)
    _check(survey)
    audit.record(actor, "survey.section_moved", survey, {"section": section.id,
                                                        "direction": direction})


# Questions ----------------------------------------------------------------------------

def _next_code(survey: Survey) -> str:
    used = {q.code for q in survey.ordered_questions()}
    n = survey.next_question_number or 1
    while f"q{n}" in used:
        n += 1
    survey.next_question_number = n + 1
    return f"q{n}"


def add_question(actor: User, section: SurveySection, *, qtype: str, prompt: str,
                 help_text: str, required: bool, settings: dict[str, Any],
                 show_if: dict | None, options: list[str], allow_other: bool
                 ) -> SurveyQuestion:
    survey = section.survey
    _require_structure_editable(survey)
    labels = [o.strip() for o in options if o.strip()]
    if qtype in definition.OPTION_TYPES:
        minimum = 1 if qtype == "likert_matrix" else 2
        if len(labels) + (1 if allow_other else 0) < minimum:
            raise PortalError(f"List at least {minimum} "
                              f"{'statement' if minimum == 1 else 'options'}, one per line.",
                              field="options")
    elif labels:
        raise PortalError("This type of question has no options.", field="options")
    if allow_other and qtype not in definition.CHOICE_TYPES:
        raise PortalError("Only choice questions can offer 'Other'.", field="allow_other")
    question = SurveyQuestion(code=_next_code(survey), type=qtype, prompt=prompt.strip(),
                              help_text=help_text or "", required=required, show_if=show_if,
                              position=len(section.questions))
    question.survey = survey
    for i, label in enumerate(labels):
        question.options.append(SurveyOption(code=str(i + 1), label=label, position=i))
    if allow_other:
        question.options.append(SurveyOption(code=str(len(labels) + 1),
                                             label="Other, please specify", is_other=True,
                                             position=len(labels)))
    question.next_option_number = len(question.options) + 1
    question.settings = _settings(qtype, settings, len(question.options))
    section.questions.append(question)
    _check(survey)
    audit.record(actor, "survey.question_added", survey, {"question": question.code})
    return question


def _settings(qtype: str, raw: dict[str, Any], n_options: int) -> dict[str, Any]:
    settings, problems = definition.normalise_settings(qtype, raw, n_options)
    if problems:
        key, message = problems[0]
        raise PortalError(message[0].upper() + message[1:] + ".", field=key)
    return settings


def update_question(actor: User, question: SurveyQuestion, *, prompt: str, help_text: str,
                    required: bool, settings: dict[str, Any], show_if: dict | None) -> None:
    survey = question.section.survey
    new_settings = _settings(question.type, settings, len(question.options))
    structural = (required != question.required or new_settings != (question.settings or {})
                  or show_if != question.show_if)
    if structural:
        _require_structure_editable(survey)
    question.prompt = prompt.strip()
    question.help_text = help_text or ""
    question.required = required
    question.settings = new_settings
    question.show_if = show_if
    _check(survey)
    audit.record(actor, "survey.question_updated", survey, {"question": question.code})


def delete_question(actor: User, question: SurveyQuestion) -> None:
    section = question.section
    _require_structure_editable(section.survey)
    section.questions.remove(question)
    _renumber(section.questions)
    _check(section.survey)
    audit.record(actor, "survey.question_deleted", section.survey, {"question": question.code})


def move_question(actor: User, question: SurveyQuestion, direction: str) -> None:
    """Up or down within its section; past the first or last question it moves into the
    neighbouring section (a structural change, checked against the logic)."""
    section = question.section
    survey = section.survey
    if survey.is_closed:
        raise Conflict("The survey is closed.")
    items = section.questions
    i = items.index(question)
    at_edge = (direction == "up" and i == 0) or (direction == "down" and i == len(items) - 1)
    if not at_edge:
        _move(items, question, direction)
    else:
        k = survey.sections.index(section) + (-1 if direction == "up" else 1)
        if direction not in ("up", "down") or not 0 <= k < len(survey.sections):
            raise PortalError("It cannot move further that way.")
        _require_structure_editable(survey)
        target = survey.sections[k]
        items.remove(question)
        _renumber(items)
        if direction == "up":
            target.questions.append(question)
        else:
            target.questions.insert(0, question)
        _renumber(target.questions)
    _check(survey)
    audit.record(actor, "survey.question_moved", survey, {"question": question.code,
                                                         "direction": direction})


# Options ------------------------------------------------------------------------------

def add_option(actor: User, question: SurveyQuestion, label: str, is_other: bool = False
               ) -> SurveyOption:
    survey = question.section.survey
    _require_structure_editable(survey)
    if not question.has_options:
        raise PortalError("This type of question has no options.", field="label")
    if is_other and (question.type not in definition.CHOICE_TYPES
                     or any(o.is_other for o in question.options)):
        raise PortalError("Only a choice question can have one 'Other' option.",
                          field="is_other")
    code = str(question.next_option_number or len(question.options) + 1)
    while question.option_by_code(code) is not None:
        code = str(int(code) + 1)
    option = SurveyOption(code=code, label=label.strip(), is_other=is_other,
                          position=len(question.options))
    question.options.append(option)
    question.next_option_number = int(code) + 1
    _check(survey)
    audit.record(actor, "survey.option_added", survey, {"question": question.code,
                                                       "option": code})
    return option


def update_option(actor: User, option: SurveyOption, label: str) -> None:
    option.label = label.strip()
    db.session.flush()
    audit.record(actor, "survey.option_updated", option.question.section.survey,
                 {"question": option.question.code, "option": option.code})


def delete_option(actor: User, option: SurveyOption) -> None:
    question = option.question
    survey = question.section.survey
    _require_structure_editable(survey)
    question.options.remove(option)
    _renumber(question.options)
    _check(survey)
    audit.record(actor, "survey.option_deleted", survey, {"question": question.code,
                                                         "option": option.code})


def move_option(actor: User, option: SurveyOption, direction: str) -> None:
    question = option.question
    if question.section.survey.is_closed:
        raise Conflict("The survey is closed.")
    _move(question.options, option, direction)
    db.session.flush()
    audit.record(actor, "survey.option_moved", question.section.survey,
                 {"question": question.code, "option": option.code, "direction": direction})


def import_definition(actor: User, text: str | bytes) -> Survey:
    """A new draft survey from a definition file; DefinitionError lists the problems."""
    data = definition.parse(text)
    return create_from_definition(data, actor)
