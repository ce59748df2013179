"""The survey builder: building every question type, logic, order, lifecycle, versions, JSON."""

from __future__ import annotations

import io
import json

import pytest
import sqlalchemy as sa

from portal.extensions import db
from portal.models import AuditEvent, Survey, SurveyOption, SurveyQuestion, SurveySection
from portal.surveys import definition
from tests import factories


@pytest.fixture
def as_admin(client, login, admin):
    login(admin)
    return client


def _new_survey(client, title="Needs", anonymous="y") -> Survey:
    resp = client.post_form("/admin/surveys/new", {"title": title, "anonymous": anonymous})
    assert resp.status_code == 302
    return db.session.scalar(sa.select(Survey).where(Survey.title == title))


def _add_question(client, survey, section, **data):
    base = {"type": "short_text", "prompt": "Prompt?", "points": "5", "top_n": "3",
            "low_label": "Not likely", "high_label": "Very likely"}
    return client.post_form(f"/admin/surveys/{survey.id}/sections/{section.id}/questions/new",
                            {**base, **data})


def test_only_admins_reach_the_builder(client, login, member, leader):
    assert client.get("/admin/surveys/").status_code == 302
    login(member)
    assert client.get("/admin/surveys/").status_code == 403
    login(leader)
    assert client.get("/admin/surveys/").status_code == 403
    assert client.post_form("/admin/surveys/new", {"title": "x"}).status_code == 403
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Survey)) == 0


def test_admin_builds_every_question_type_with_logic(as_admin, admin):
    client = as_admin
    survey = _new_survey(client)
    section = survey.sections[0]
    assert _add_question(client, survey, section, type="single_choice", prompt="Employed?",
                         required="y", options="Yes\nNo", allow_other="y").status_code == 302
    assert _add_question(client, survey, section, type="multiple_choice", prompt="Topics?",
                         options="AI\nData\nAdvocacy", min_selections="1",
                         max_selections="2").status_code == 302
    assert _add_question(client, survey, section, type="likert", prompt="Happy?",
                         points="7", allow_na="y").status_code == 302
    resp = client.post_form(f"/admin/surveys/{survey.id}/sections/new",
                            {"title": "Work", "show_if": ["q1=1"]})
    assert resp.status_code == 302
    db.session.expire_all()
    work = survey.sections[1]
    assert work.show_if == {"question": "q1", "any_of": ["1"]}
    specs = [
        {"type": "likert_matrix", "prompt": "Workplace", "options": "Paid time\nFees"},
        {"type": "rating_0_10", "prompt": "Recommend?"},
        {"type": "ranking", "prompt": "Formats", "options": "Webinar\nCourse\nMentor",
         "top_n": "2"},
        {"type": "number", "prompt": "Hours", "num_min": "0", "num_max": "80", "integer": "y"},
        {"type": "short_text", "prompt": "Title", "max_length": "50",
         "show_if": ["q2=1", "q2=2"]},
        {"type": "long_text", "prompt": "Goals", "max_length": "1000"},
        {"type": "date", "prompt": "Started", "date_min": "1960-01-01"},
    ]
    for spec in specs:
        resp = _add_question(client, survey, work, **spec)
        assert resp.status_code == 302, resp.get_data(as_text=True)[:3000]
    db.session.expire_all()
    types = [q.type for q in survey.ordered_questions()]
    assert types == ["single_choice", "multiple_choice", "likert", "likert_matrix",
                     "rating_0_10", "ranking", "number", "short_text", "long_text", "date"]
    likert = survey.question_by_code("q3")
    assert likert.settings["points"] == 7 and len(likert.settings["labels"]) == 7
    q1 = survey.question_by_code("q1")
    assert [o.is_other for o in q1.options] == [False, False, True]
    assert survey.question_by_code("q8").show_if == {"question": "q2", "any_of": ["1", "2"]}
    assert survey.question_by_code("q7").settings == {"min": 0, "max": 80, "integer": True}
    # It validates as a whole and opens.
    definition.validate(definition.export(survey))
    assert client.post_form(f"/admin/surveys/{survey.id}/open").status_code == 302
    db.session.expire_all()
    assert survey.status == "open"
    actions = set(db.session.scalars(sa.select(AuditEvent.action).where(
        AuditEvent.actor_id == admin.id)))
    assert {"survey.created", "survey.question_added", "survey.section_added",
            "survey.opened"} <= actions


def test_reorder_questions_and_options(as_admin):
    client = as_admin
    survey = _new_survey(client)
    section = survey.sections[0]
    _add_question(client, survey, section, type="single_choice", prompt="A?", options="x\ny\nz")
    _add_question(client, survey, section, prompt="B?")
    q1, q2 = survey.question_by_code("q1"), survey.question_by_code("q2")
    resp = client.post_form(f"/admin/surveys/{survey.id}/questions/{q2.id}/move",
                            {"direction": "up"})
    assert resp.status_code == 302
    db.session.expire_all()
    assert [q.code for q in survey.ordered_questions()] == ["q2", "q1"]
    z = q1.option_by_code("3")
    resp = client.post_form(f"/admin/surveys/{survey.id}/questions/{q1.id}/options/{z.id}/move",
                            {"direction": "up"})
    assert resp.status_code == 302
    db.session.expire_all()
    assert [o.label for o in q1.options] == ["x", "z", "y"]
    resp = client.post_form(f"/admin/surveys/{survey.id}/questions/{q1.id}/move",
                            {"direction": "sideways"})
    assert resp.status_code == 400
    first = survey.question_by_code("q2")
    resp = client.post_form(f"/admin/surveys/{survey.id}/questions/{first.id}/move",
                            {"direction": "up"})
    assert resp.status_code == 400 and "cannot move further" in resp.get_data(as_text=True)


@pytest.mark.parametrize(("data", "field_message"), [
    ({"type": "multiple_choice", "options": "a\nb", "min_selections": "3",
      "max_selections": "2"}, "inimum is larger than the maximum"),
    ({"type": "single_choice", "options": "only one"}, "List at least 2 options"),
    ({"type": "number", "num_min": "10", "num_max": "1"}, "inimum is larger than the maximum"),
    ({"type": "ranking", "options": "a\nb", "top_n": "3"}, "annot rank the top 3 of 2"),
    ({"type": "likert", "points": "5", "labels": "one\ntwo"}, "ive exactly 5 labels"),
    ({"type": "short_text", "options": "a\nb"}, "has no options"),
    # WTForms' anonymous defaults now name the field (portal/forms.py, issue 18).
    ({"type": "short_text", "prompt": ""}, "Enter the question."),
    ({"type": "teleport"}, "Select one of the options listed for the type of question."),
])
def test_bad_question_settings_are_refused_next_to_the_field(as_admin, data, field_message):
    survey = _new_survey(as_admin)
    resp = _add_question(as_admin, survey, survey.sections[0], **data)
    assert resp.status_code in (400, 409, 422)
    html = resp.get_data(as_text=True)
    assert field_message in html and 'class="field-error"' in html
    assert db.session.scalar(sa.select(sa.func.count()).select_from(SurveyQuestion)) == 0


def test_condition_must_look_back_at_an_earlier_section(as_admin):
    client = as_admin
    survey = _new_survey(client)
    _add_question(client, survey, survey.sections[0], type="single_choice", prompt="A?",
                  options="x\ny")
    client.post_form(f"/admin/surveys/{survey.id}/sections/new",
                     {"title": "Second", "show_if": ["q1=2"]})
    db.session.expire_all()
    second = survey.sections[1]
    # Moving the section it depends on after it would break the logic: refused.
    first = survey.sections[0]
    resp = client.post_form(f"/admin/surveys/{survey.id}/sections/{first.id}/move",
                            {"direction": "down"})
    assert resp.status_code == 400 and "earlier section" in resp.get_data(as_text=True)
    db.session.expire_all()
    assert [s.id for s in survey.sections] == [first.id, second.id]
    # A question in the same section cannot depend on its neighbour.
    resp = _add_question(client, survey, first, prompt="B?", show_if=["q1=1"])
    assert resp.status_code == 422  # q1=1 is not offered: not a valid choice


def test_anonymity_is_fixed_once_open(as_admin):
    survey = factories.make_survey()
    resp = as_admin.post_form(f"/admin/surveys/{survey.id}",
                              {"title": survey.title, "introduction": "", "objective": ""})
    assert resp.status_code == 409
    assert "fixed once the survey has opened" in resp.get_data(as_text=True)
    db.session.expire_all()
    assert survey.anonymous is True


def test_settings_schedule_and_audience(as_admin):
    survey = _new_survey(as_admin)
    resp = as_admin.post_form(f"/admin/surveys/{survey.id}", {
        "title": "Needs", "introduction": "Hi", "anonymous": "y", "objective": "",
        "opens_at": "2031-01-01T09:00", "closes_at": "2030-12-01T09:00"})
    assert resp.status_code == 422 and "after the opening time" in resp.get_data(as_text=True)
    resp = as_admin.post_form(f"/admin/surveys/{survey.id}", {
        "title": "Needs", "introduction": "Hi", "anonymous": "y", "objective": "",
        "opens_at": "2031-01-01T09:00", "closes_at": "2031-02-01T09:00",
        "aud_career_stage": ["early", "mid"], "aud_region": ["west"]})
    assert resp.status_code == 302
    db.session.expire_all()
    assert survey.audience == {"career_stage": ["early", "mid"], "region": ["west"]}
    assert survey.opens_at.year == 2031
    resp = as_admin.post_form(f"/admin/surveys/{survey.id}", {
        "title": "Needs", "anonymous": "y", "objective": "", "aud_region": ["mars"]})
    assert resp.status_code == 422


def test_structure_is_frozen_once_there_are_responses(as_admin):
    survey = factories.make_survey()
    factories.add_response(survey, {"q1": {"option": "yes", "other": None}, "q4": 7})
    db.session.commit()
    q1 = survey.question_by_code("q1")
    section = survey.sections[0]
    page = as_admin.get(f"/admin/surveys/{survey.id}").get_data(as_text=True)
    assert "Duplicate it to make a new version" in page
    resp = _add_question(as_admin, survey, section, prompt="New?")
    assert resp.status_code == 409 and "new version" in resp.get_data(as_text=True)
    opt = q1.option_by_code("no")
    resp = as_admin.post_form(
        f"/admin/surveys/{survey.id}/questions/{q1.id}/options/{opt.id}/delete")
    assert resp.status_code == 409
    # Wording can still be corrected.
    resp = as_admin.post_form(
        f"/admin/surveys/{survey.id}/questions/{q1.id}/options/{opt.id}", {"label": "Nope"})
    assert resp.status_code == 302
    resp = as_admin.post_form(f"/admin/surveys/{survey.id}/questions/{q1.id}", {
        "prompt": "Do you work in a library now?", "required": "y"})
    assert resp.status_code == 302
    db.session.expire_all()
    assert q1.prompt == "Do you work in a library now?" and opt.label == "Nope"
    # ... but not its meaning.
    resp = as_admin.post_form(f"/admin/surveys/{survey.id}/questions/{q1.id}",
                              {"prompt": "Do you work in a library now?"})
    assert resp.status_code == 409
    # Duplicate: a new draft version with the same codes.
    resp = as_admin.post_form(f"/admin/surveys/{survey.id}/duplicate")
    assert resp.status_code == 302
    copy = db.session.scalar(sa.select(Survey).where(Survey.previous_version_id == survey.id))
    assert copy.version == 2 and copy.is_draft
    assert [q.code for q in copy.ordered_questions()] == \
        [q.code for q in survey.ordered_questions()]
    assert _add_question(as_admin, copy, copy.sections[0], prompt="New?").status_code == 302
    db.session.expire_all()
    assert copy.ordered_questions()[-2].code == "q11" or \
        any(q.code == "q11" for q in copy.ordered_questions())


def test_open_refuses_an_empty_section_and_close_works(as_admin):
    survey = _new_survey(as_admin)
    _add_question(as_admin, survey, survey.sections[0], prompt="A?")
    as_admin.post_form(f"/admin/surveys/{survey.id}/sections/new", {"title": "Empty"})
    resp = as_admin.post_form(f"/admin/surveys/{survey.id}/open")
    assert resp.status_code == 400 and "list at least one question" in resp.get_data(
        as_text=True)
    db.session.expire_all()
    assert survey.is_draft
    empty = survey.sections[1]
    as_admin.post_form(f"/admin/surveys/{survey.id}/sections/{empty.id}/delete")
    assert as_admin.post_form(f"/admin/surveys/{survey.id}/open").status_code == 302
    assert as_admin.post_form(f"/admin/surveys/{survey.id}/open").status_code == 409
    assert as_admin.post_form(f"/admin/surveys/{survey.id}/close").status_code == 302
    db.session.expire_all()
    assert survey.is_closed
    assert as_admin.post_form(f"/admin/surveys/{survey.id}/delete").status_code == 409


def test_export_and_import_round_trip(as_admin):
    survey = factories.make_survey(status="draft")
    resp = as_admin.get(f"/admin/surveys/{survey.id}/definition.json")
    assert resp.status_code == 200 and resp.mimetype == "application/json"
    data = json.loads(resp.get_data(as_text=True))
    assert definition.validate(data) == data
    resp = as_admin.post_form("/admin/surveys/import", {
        "file": (io.BytesIO(resp.get_data()), "def.json")},
        content_type="multipart/form-data")
    assert resp.status_code == 302
    copy = db.session.scalars(sa.select(Survey).order_by(Survey.id.desc())).first()
    assert copy.id != survey.id
    assert definition.export(copy) == definition.export(survey)


def test_bad_definition_file_lists_each_problem_with_its_location(as_admin):
    data = factories.survey_definition()
    data["sections"][0]["questions"][1]["type"] = "essay"
    data["sections"][1]["questions"][0]["settings"] = {"colour": "red"}
    data["sections"][2]["show_if"] = {"question": "q99", "any_of": ["1"]}
    data["audience"] = {"planet": ["mars"]}
    resp = as_admin.post_form("/admin/surveys/import", {"text": json.dumps(data)})
    assert resp.status_code == 422
    html = resp.get_data(as_text=True)
    for location in ("sections[0].questions[1].type", "sections[1].questions[0].settings.colour",
                     "sections[2].show_if", "audience.planet"):
        assert location in html
    resp = as_admin.post_form("/admin/surveys/import", {"text": '{"format": '})
    assert resp.status_code == 422 and "line 1, column" in resp.get_data(as_text=True)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Survey)) == 0
    assert db.session.scalar(sa.select(sa.func.count()).select_from(SurveySection)) == 0
    assert db.session.scalar(sa.select(sa.func.count()).select_from(SurveyOption)) == 0


def test_builder_pages_render(as_admin):
    survey = factories.make_survey(status="draft")
    q = survey.question_by_code("q7")
    for url in ("/admin/surveys/", f"/admin/surveys/{survey.id}",
                f"/admin/surveys/{survey.id}/sections/new",
                f"/admin/surveys/{survey.id}/sections/{survey.sections[2].id}",
                f"/admin/surveys/{survey.id}/sections/{survey.sections[0].id}/questions/new",
                f"/admin/surveys/{survey.id}/questions/{q.id}"):
        resp = as_admin.get(url)
        assert resp.status_code == 200, url
        html = resp.get_data(as_text=True)
        assert html.count("<h1") == 1 and 'style="' not in html
    other = factories.make_survey(status="draft")
    assert as_admin.get(f"/admin/surveys/{other.id}/questions/{q.id}").status_code == 404


def test_deleting_a_section_question_or_option_is_asked_on_a_page_of_its_own(as_admin):
    survey = factories.make_survey(status="draft")
    section = survey.sections[0]
    q1 = survey.question_by_code("q1")
    opt = q1.option_by_code("no")
    edit = as_admin.get(f"/admin/surveys/{survey.id}").get_data(as_text=True)
    assert "data-confirm=\"Delete" not in edit
    assert f'href="/admin/surveys/{survey.id}/sections/{section.id}/delete"' in edit
    assert f'href="/admin/surveys/{survey.id}/questions/{q1.id}/delete"' in edit
    question_page = as_admin.get(f"/admin/surveys/{survey.id}/questions/{q1.id}")
    assert (f'href="/admin/surveys/{survey.id}/questions/{q1.id}/options/{opt.id}/delete"'
            in question_page.get_data(as_text=True))
    pages = {
        f"/admin/surveys/{survey.id}/sections/{section.id}/delete":
            (f"Delete the section “{section.title}”?", "Delete the section"),
        f"/admin/surveys/{survey.id}/questions/{q1.id}/delete":
            ("Delete question Q1?", "Delete the question"),
        f"/admin/surveys/{survey.id}/questions/{q1.id}/options/{opt.id}/delete":
            ("Delete option no of question Q1?", "Delete the option"),
    }
    for path, (heading, button) in pages.items():
        resp = as_admin.get(path)
        html = resp.get_data(as_text=True)
        assert resp.status_code == 200 and f"<h1>{heading}</h1>" in html, path
        assert "This cannot be undone." in html and button in html
        assert 'class="button danger"' in html and "Cancel: keep it" in html
    # The GET changed nothing; the POST deletes.
    db.session.expire_all()
    assert q1.option_by_code("no") is not None
    opt_path = f"/admin/surveys/{survey.id}/questions/{q1.id}/options/{opt.id}/delete"
    assert as_admin.post(opt_path).status_code == 400  # no CSRF token
    assert as_admin.post_form(opt_path).status_code == 302
    db.session.expire_all()
    assert q1.option_by_code("no") is None
    # Unknown parts are a 404; a survey with responses explains why nothing can go.
    assert as_admin.get(f"/admin/surveys/{survey.id}/questions/999999/delete").status_code \
        == 404
    answered = factories.make_survey()
    factories.add_response(answered, {"q1": {"option": "yes", "other": None}, "q4": 7})
    db.session.commit()
    q = answered.question_by_code("q4")
    html = as_admin.get(f"/admin/surveys/{answered.id}/questions/{q.id}/delete").get_data(
        as_text=True)
    assert "Duplicate it to make a new version" in html and 'class="button danger"' not in html
