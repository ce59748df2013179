"""The survey definition format and the professional-development needs template."""

from __future__ import annotations

import copy
import json

import pytest
import sqlalchemy as sa

from portal.extensions import db
from portal.models import Survey
from portal.surveys import definition
from portal.surveys.templates import template_text
from tests import factories


def test_every_type_definition_round_trips(app):
    survey = factories.make_survey(status="draft")
    exported = definition.export(survey)
    assert definition.parse(definition.dumps(exported)) == exported


@pytest.mark.parametrize(("change", "location"), [
    (lambda d: d.update(format="portal-survey/9"), "format"),
    (lambda d: d.pop("title"), "survey.title"),
    (lambda d: d["sections"][0]["questions"][0].update(code="Q 1"),
     "sections[0].questions[0].code"),
    (lambda d: d["sections"][0]["questions"][1].update(code="q1"),
     "sections[0].questions[1].code: 'q1' is used twice"),
    (lambda d: d["sections"][0]["questions"][1].update(
        options=d["sections"][0]["questions"][1]["options"][:1]),
     "sections[0].questions[1].options: list at least two options"),
    (lambda d: d["sections"][0]["questions"][2]["settings"].update(points=4),
     "sections[0].questions[2].settings.points"),
    (lambda d: d["sections"][1]["questions"][1]["settings"].update(min=5, max=1),
     "sections[1].questions[1].settings.min"),
    (lambda d: d["sections"][3]["questions"][0].update(
        show_if={"question": "q10", "any_of": ["1"]}), "sections[3].questions[0].show_if"),
    (lambda d: d["sections"][0].update(show_if={"question": "q1", "any_of": ["yes"]}),
     "sections[0].show_if"),
    (lambda d: d["sections"][2].update(show_if={"question": "q1", "any_of": ["maybe"]}),
     "sections[2].show_if: 'q1' has no option maybe"),
    (lambda d: d["sections"][3]["questions"][1]["options"].append(
        {"code": "1", "label": "x", "other": False}), "sections[3].questions[1].options"),
    (lambda d: d.update(audience={"region": ["mars"]}), "audience.region"),
    (lambda d: d.update(extra=1), "extra: unknown field"),
])
def test_bad_definitions_name_the_location(change, location):
    data = copy.deepcopy(factories.survey_definition())
    change(data)
    with pytest.raises(definition.DefinitionError) as err:
        definition.validate(data)
    assert any(p.startswith(location) for p in err.value.problems), err.value.problems


def test_not_json_reports_line_and_column():
    with pytest.raises(definition.DefinitionError) as err:
        definition.parse('{\n  "format": }')
    assert err.value.problems[0].startswith("line 2, column")


def test_pd_needs_template_is_valid_and_complete():
    data = definition.parse(template_text("pd-needs"))
    assert data["objective"] == "E3" and data["anonymous"] is True
    questions = [q for s in data["sections"] for q in s["questions"]]
    types = {q["type"] for q in questions}
    assert {"multiple_choice", "ranking", "single_choice", "likert", "likert_matrix",
            "long_text"} <= types
    text = json.dumps(data).lower()
    for topic in ("advocacy", "intellectual freedom", "digital literacy", "data and technology",
                  "artificial intelligence", "equity", "leadership", "youth", "cataloguing",
                  "accessibility", "community engagement", "other"):
        assert topic in text, topic
    for fmt in ("live webinar", "self-paced", "in-person workshop", "conference session",
                "mentoring", "certification", "cohort"):
        assert fmt in text, fmt
    for barrier in ("cost", "time", "employer", "travel", "relevant", "accessible"):
        assert barrier in text, barrier
    assert "per year" in text and "hours" in text and "career goals" in text
    assert sum(q["type"] in ("short_text", "long_text") for q in questions) == 1


def test_load_template_is_idempotent_and_linked_to_e3(runner, plan):
    result = runner.invoke(args=["surveys", "load-template", "pd-needs"])
    assert result.exit_code == 0 and "Loaded" in result.output
    result = runner.invoke(args=["surveys", "load-template", "pd-needs"])
    assert result.exit_code == 0 and "already loaded" in result.output
    surveys = db.session.scalars(sa.select(Survey)).all()
    assert len(surveys) == 1
    assert surveys[0].objective.code == "E3" and surveys[0].is_draft
    result = runner.invoke(args=["surveys", "load-template", "nope"])
    assert result.exit_code != 0
