"""Members take a survey: list and states, sections in order, save and resume, submit once."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from portal.extensions import db
from portal.models import (
    SurveyAnswer,
    SurveyAttribution,
    SurveyDraft,
    SurveyParticipation,
    SurveyResponse,
)
from portal.surveys import pool
from portal.timeutil import now_utc
from tests import factories

SECTION_1 = {"q-q1": "yes", "q-q2": ["a", "b"], "q-q3": "4"}
SECTION_2 = {"q-q4": "9", "q-q5": "12", "q-q6": "2010-05-01"}
SECTION_3 = {"q-q7-s1": "4", "q-q7-s2": "2", "q-q8-rank1": "course", "q-q8-rank2": "web"}
SECTION_4 = {"q-q9": "Librarian", "q-q10": "Lead a team."}



def post_section(client, survey_id, number, data, action="next"):
    return client.post_form(f"/surveys/{survey_id}/sections/{number}",
                            {**data, "action": action})


def take_survey(client, survey, sections=(SECTION_1, SECTION_2, SECTION_3, SECTION_4)):
    client.post_form(f"/surveys/{survey.id}/start")
    for number, data in enumerate(sections, start=1):
        resp = post_section(client, survey.id, number, data)
        assert resp.status_code == 302, resp.get_data(as_text=True)[:3000]
    return client.post_form(f"/surveys/{survey.id}/submit")


def counts():
    return {t.__tablename__: db.session.scalar(sa.select(sa.func.count()).select_from(t))
            for t in (SurveyParticipation, SurveyResponse, SurveyAnswer, SurveyDraft,
                      SurveyAttribution)}


@pytest.fixture
def survey(app):
    return factories.make_survey()


def test_list_shows_open_surveys_with_state(client, login, member, survey):
    closed = factories.make_survey(status="closed")
    closed.title = "Old one"
    draft = factories.make_survey(status="draft")
    draft.title = "Not yet"
    db.session.commit()
    login(member)
    page = client.get("/surveys/").get_data(as_text=True)
    assert "Every type" in page and "Not started" in page
    assert "Old one" not in page and "Not yet" not in page
    post_section(client, survey.id, 1, SECTION_1, action="save")
    assert "In progress" in client.get("/surveys/").get_data(as_text=True)
    take_survey(client, survey)
    assert "Submitted" in client.get("/surveys/").get_data(as_text=True)


def test_nav_has_surveys_for_signed_in_members(client, login, member):
    assert b'href="/surveys/"' not in client.get("/").data
    login(member)
    assert b'href="/surveys/"' in client.get("/").data


def test_unverified_and_anonymous_visitors_cannot_answer(client, login, survey):
    assert client.get("/surveys/").status_code == 302
    login(factories.make_user(verified=False))
    assert client.get(f"/surveys/{survey.id}").status_code == 403


def test_full_walkthrough_with_progress_and_receipt(client, login, member, survey):
    login(member)
    intro = client.get(f"/surveys/{survey.id}").get_data(as_text=True)
    assert "<strong>all</strong>" in intro and "What is kept, and what is not" in intro
    resp = client.post_form(f"/surveys/{survey.id}/start")
    assert resp.headers["Location"].endswith(f"/surveys/{survey.id}/sections/1")
    page = client.get(f"/surveys/{survey.id}/sections/1").get_data(as_text=True)
    # "At work" depends on an answer in this section, so it is counted from the start
    # and the count does not jump once it is revealed (issue 18: was "1 of 3", "1 of 4").
    assert "Section 1 of 4" in page and "<progress" in page
    post_section(client, survey.id, 1, SECTION_1, action="save")
    page = client.get(f"/surveys/{survey.id}/sections/1").get_data(as_text=True)
    assert "Section 1 of 4" in page
    assert post_section(client, survey.id, 1, SECTION_1).headers["Location"].endswith(
        "/sections/2")
    assert post_section(client, survey.id, 2, SECTION_2).status_code == 302
    assert post_section(client, survey.id, 3, SECTION_3).status_code == 302
    resp = post_section(client, survey.id, 4, SECTION_4)
    assert resp.headers["Location"].endswith(f"/surveys/{survey.id}/review")
    review = client.get(f"/surveys/{survey.id}/review").get_data(as_text=True)
    assert "1. Course" in review and "Advocacy; AI" in review
    resp = client.post_form(f"/surveys/{survey.id}/submit")
    assert resp.status_code == 200
    receipt = resp.get_data(as_text=True)
    assert "your answers are received" in receipt and "Lead a team." in receipt
    assert "not linked to your account" in receipt and "cannot be changed" in receipt
    c = counts()
    # One member's answers wait, sealed, for a batch; nothing is in the results yet.
    assert c["survey_participations"] == 1 and c["survey_responses"] == 0
    assert c["survey_drafts"] == 0 and c["survey_attributions"] == 0
    assert pool.waiting(survey.id) == 1
    assert pool.release(survey.id, final=True).released == 1
    assert counts()["survey_responses"] == 1 and pool.waiting(survey.id) == 0
    values = dict(db.session.execute(
        sa.select(SurveyAnswer.question_id, SurveyAnswer.num_value)
        .where(SurveyAnswer.item == 0, SurveyAnswer.num_value.is_not(None))).all())
    q = {q.code: q.id for q in survey.ordered_questions()}
    assert values[q["q4"]] == 9 and values[q["q5"]] == 12 and values[q["q3"]] == 4
    response = db.session.scalar(sa.select(SurveyResponse))
    assert response.submitted_on == now_utc().date()


def test_save_and_resume(client, login, member, survey):
    login(member)
    client.post_form(f"/surveys/{survey.id}/start")
    resp = post_section(client, survey.id, 1, {"q-q1": "yes", "q-q3": "2"}, action="save")
    assert resp.status_code == 302 and resp.headers["Location"].endswith("/surveys/")
    draft = db.session.scalar(sa.select(SurveyDraft))
    assert draft.answers["q3"] == 2 and draft.completed_sections == []
    # Come back later (a new session): the answers are filled in.
    client.post_form("/auth/logout")
    login(member)
    resp = client.post_form(f"/surveys/{survey.id}/start")
    assert resp.headers["Location"].endswith("/sections/1")
    page = client.get(f"/surveys/{survey.id}/sections/1").get_data(as_text=True)
    assert 'value="2" checked' in page and 'value="yes" checked' in page


def test_logic_hides_section_and_question(client, login, member, survey):
    login(member)
    client.post_form(f"/surveys/{survey.id}/start")
    post_section(client, survey.id, 1, {"q-q1": "no"})
    post_section(client, survey.id, 2, {"q-q4": "3"})
    # Section "At work" is skipped; "Words" is now section 3 and q9 is hidden.
    page = client.get(f"/surveys/{survey.id}/sections/3").get_data(as_text=True)
    assert "Section 3 of 3" in page and "Career goals?" in page and "Job title?" not in page
    resp = post_section(client, survey.id, 3, {"q-q9": "Boss", "q-q10": "x"})
    assert resp.status_code == 422
    assert "does not apply given your earlier answers" in resp.get_data(as_text=True)
    assert "q10" not in db.session.scalar(sa.select(SurveyDraft)).answers


def test_changing_an_earlier_answer_drops_answers_that_no_longer_apply(client, login, member,
                                                                        survey):
    login(member)
    client.post_form(f"/surveys/{survey.id}/start")
    post_section(client, survey.id, 1, SECTION_1)
    post_section(client, survey.id, 2, SECTION_2)
    post_section(client, survey.id, 3, SECTION_3)
    assert "q7" in db.session.scalar(sa.select(SurveyDraft)).answers
    post_section(client, survey.id, 1, {**SECTION_1, "q-q1": "no"})
    db.session.expire_all()
    answers = db.session.scalar(sa.select(SurveyDraft)).answers
    assert "q7" not in answers and "q8" not in answers


BAD_INPUT = [
    (1, {"q-q1": "maybe"}, "Choose one of the options listed."),
    (1, {"q-q1": "yes", "q-q2": ["a", "b", "c"]}, "Choose at most 2"),
    (1, {"q-q1": "other"}, "Please say what"),
    (1, {"q-q1": "yes", "q-q3": "9"}, "Choose one point on the scale."),
    (1, {}, "Answer this question."),
    (2, {"q-q4": "11"}, "Choose a number from 0 to 10."),
    (2, {"q-q4": "5", "q-q5": "101"}, "at most 100"),
    (2, {"q-q4": "5", "q-q5": "2.5"}, "Enter a whole number."),
    (2, {"q-q4": "5", "q-q5": "lots"}, "Enter a number"),
    (2, {"q-q4": "5", "q-q6": "2023-02-30"}, "Enter a real date"),
    (2, {"q-q4": "5", "q-q6": "yesterday"}, "Enter a real date"),
    (3, {"q-q8-rank1": "web", "q-q8-rank2": "web"}, "at most one rank"),
    (3, {"q-q8-rank2": "web"}, "without gaps"),
    (3, {"q-q7-s1": "6"}, "Choose one point on the scale."),
    (4, {"q-q9": "x" * 21}, "20 characters or fewer"),
]


@pytest.mark.parametrize(("number", "data", "message"), BAD_INPUT)
def test_bad_answers_get_a_message_and_store_nothing(client, login, member, survey, number,
                                                     data, message):
    login(member)
    client.post_form(f"/surveys/{survey.id}/start")
    for n, previous in enumerate((SECTION_1, SECTION_2, SECTION_3)[: number - 1], start=1):
        assert post_section(client, survey.id, n, previous).status_code == 302
    before = dict(db.session.scalar(sa.select(SurveyDraft)).answers)
    resp = post_section(client, survey.id, number, data)
    assert resp.status_code == 422
    html = resp.get_data(as_text=True)
    assert message in html
    assert 'class="field-error"' in html and "aria-describedby" in html
    db.session.expire_all()
    assert db.session.scalar(sa.select(SurveyDraft)).answers == before


def test_section_posted_out_of_order_is_refused(client, login, member, survey):
    login(member)
    client.post_form(f"/surveys/{survey.id}/start")
    resp = post_section(client, survey.id, 3, SECTION_3)
    assert resp.status_code == 409
    assert "in order" in resp.get_data(as_text=True)
    assert db.session.scalar(sa.select(SurveyDraft)).answers == {}
    assert post_section(client, survey.id, 9, {}).status_code in (404, 409)


def test_submitting_incomplete_survey_is_refused(client, login, member, survey):
    login(member)
    client.post_form(f"/surveys/{survey.id}/start")
    post_section(client, survey.id, 1, SECTION_1)
    resp = client.post_form(f"/surveys/{survey.id}/submit")
    assert resp.status_code == 409
    assert counts()["survey_participations"] == 0


def test_second_submission_is_refused(client, login, member, survey):
    login(member)
    assert take_survey(client, survey).status_code == 200
    # Sending the form again (a reload of the thank-you page) stores nothing more and
    # thanks again, rather than answering 409 (issue 18).
    resp = client.post_form(f"/surveys/{survey.id}/submit")
    html = resp.get_data(as_text=True)
    assert resp.status_code == 200 and "already submitted" in html
    assert "Thank you: your answers are received" in html
    resp = client.post_form(f"/surveys/{survey.id}/start")
    assert resp.status_code == 409
    assert post_section(client, survey.id, 1, SECTION_1).status_code == 409
    assert counts()["survey_participations"] == 1 and pool.waiting(survey.id) == 1


def test_closed_survey_refuses_answers(client, login, member, survey):
    login(member)
    client.post_form(f"/surveys/{survey.id}/start")
    post_section(client, survey.id, 1, SECTION_1)
    survey.close()
    db.session.commit()
    resp = post_section(client, survey.id, 2, SECTION_2)
    assert resp.status_code == 409 and "closed" in resp.get_data(as_text=True)
    assert client.post_form(f"/surveys/{survey.id}/submit").status_code == 409
    assert counts()["survey_responses"] == 0


def test_closing_time_acts_by_itself(client, login, member, survey):
    survey.closes_at = now_utc() + timedelta(seconds=1)
    db.session.commit()
    login(member)
    client.post_form(f"/surveys/{survey.id}/start")
    survey.closes_at = now_utc() - timedelta(seconds=1)
    db.session.commit()
    resp = post_section(client, survey.id, 1, SECTION_1)
    assert resp.status_code == 409
    db.session.expire_all()
    assert survey.status == "closed"


def test_opening_time_acts_by_itself(client, login, member):
    survey = factories.make_survey(status="draft", opens_at=now_utc() - timedelta(minutes=1))
    login(member)
    assert "Every type" in client.get("/surveys/").get_data(as_text=True)
    db.session.expire_all()
    assert survey.status == "open"


def test_outside_audience_is_refused(client, login, survey):
    survey_for_students = factories.make_survey(audience={"career_stage": ["student"]})
    mid = factories.make_user(career_stage="mid")
    login(mid)
    assert "Every type" in client.get("/surveys/").get_data(as_text=True)
    resp = client.post_form(f"/surveys/{survey_for_students.id}/start")
    assert resp.status_code == 403 and "different group" in resp.get_data(as_text=True)
    resp = client.post_form(f"/surveys/{survey_for_students.id}/submit")
    assert resp.status_code == 403
    assert counts()["survey_drafts"] == 0
    login(factories.make_user(career_stage="student"))
    assert client.post_form(f"/surveys/{survey_for_students.id}/start").status_code == 302


def test_attributed_survey_can_be_changed_until_close(client, login, member):
    survey = factories.make_survey(anonymous=False)
    login(member)
    resp = take_survey(client, survey)
    assert resp.status_code == 200
    assert "Your name is kept" in resp.get_data(as_text=True)
    link = db.session.scalar(sa.select(SurveyAttribution))
    assert link.user_id == member.id
    page = client.get(f"/surveys/{survey.id}").get_data(as_text=True)
    assert "Your stored answers" in page and "Lead a team." in page
    # Change one answer and submit again: still one response, updated.
    client.post_form(f"/surveys/{survey.id}/start")
    changed = {**SECTION_4, "q-q10": "Become a director."}
    resp = take_survey(client, survey, (SECTION_1, SECTION_2, SECTION_3, changed))
    assert resp.status_code == 200
    c = counts()
    assert c["survey_responses"] == 1 and c["survey_participations"] == 1
    texts = db.session.scalars(sa.select(SurveyAnswer.text_value).where(
        SurveyAnswer.text_value.is_not(None))).all()
    assert "Become a director." in texts and "Lead a team." not in texts
    survey.close()
    db.session.commit()
    assert client.post_form(f"/surveys/{survey.id}/start").status_code == 409
