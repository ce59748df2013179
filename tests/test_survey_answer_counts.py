"""The answer counts kept by the database equal a GROUP BY over the answers, whatever wrote them."""

from __future__ import annotations

import random

import sqlalchemy as sa

from portal.extensions import db
from portal.models import (
    SurveyAnswer,
    SurveyAnswerCount,
    SurveyQuestion,
    SurveyQuestionCount,
    SurveyResponse,
)
from portal.models.survey_counts import value_of
from portal.survey_results import queries
from tests import factories
from tests.test_surveys_taking import SECTION_1, SECTION_2, SECTION_3, SECTION_4, take_survey


def live(survey) -> tuple[dict, dict, dict]:
    """What the counts must be: histograms, respondents and texts straight from the answers."""
    in_survey = SurveyAnswer.question_id.in_(
        sa.select(SurveyQuestion.id).where(SurveyQuestion.survey_id == survey.id))
    hist: dict = {}
    for qid, item, value, n in db.session.execute(
            sa.select(SurveyAnswer.question_id, SurveyAnswer.item, SurveyAnswer.num_value,
                      sa.func.count()).where(in_survey)
            .group_by(SurveyAnswer.question_id, SurveyAnswer.item, SurveyAnswer.num_value)):
        hist.setdefault(qid, {})[(item, value)] = n
    respondents = dict(db.session.execute(
        sa.select(SurveyAnswer.question_id, sa.func.count(sa.distinct(SurveyAnswer.response_id)))
        .where(in_survey).group_by(SurveyAnswer.question_id)).all())
    texts = dict(db.session.execute(
        sa.select(SurveyAnswer.question_id, sa.func.count())
        .where(in_survey, SurveyAnswer.text_value.is_not(None), SurveyAnswer.text_value != "")
        .group_by(SurveyAnswer.question_id)).all())
    return hist, respondents, texts


def kept(survey) -> tuple[dict, dict, dict]:
    hist: dict = {}
    for c in db.session.scalars(sa.select(SurveyAnswerCount).join(
            SurveyQuestion, SurveyQuestion.id == SurveyAnswerCount.question_id)
            .where(SurveyQuestion.survey_id == survey.id, SurveyAnswerCount.n != 0)):
        hist.setdefault(c.question_id, {})[(c.item, value_of(c.value_key))] = c.n
    rows = db.session.scalars(sa.select(SurveyQuestionCount).join(
        SurveyQuestion, SurveyQuestion.id == SurveyQuestionCount.question_id)
        .where(SurveyQuestion.survey_id == survey.id)).all()
    return (hist, {r.question_id: r.respondents for r in rows if r.respondents},
            {r.question_id: r.texts for r in rows if r.texts})


def assert_consistent(survey) -> None:
    db.session.expire_all()
    assert kept(survey) == live(survey)
    # ... and the results page reads exactly those.
    hist, respondents, texts = live(survey)
    assert queries.histograms(survey, queries.ALL) == hist
    assert queries.respondents_per_question(survey, queries.ALL, hist) == respondents
    assert queries.text_counts(survey, queries.ALL) == texts


def random_answers(rng: random.Random) -> dict:
    answers = {"q1": {"option": rng.choice(["yes", "no", "other"]), "other": None},
               "q4": rng.randint(0, 10)}
    if answers["q1"]["option"] == "other":
        answers["q1"]["other"] = rng.choice(["Archive", "Museum", ""]) or None
    if rng.random() < 0.8:
        answers["q2"] = {"options": rng.sample(["a", "b", "c", "x"], rng.randint(1, 2)),
                         "other": "Grants" if rng.random() < 0.5 else None}
    if rng.random() < 0.7:
        answers["q3"] = rng.choice([1, 2, 3, 4, 5, 0])
    if rng.random() < 0.6:
        answers["q5"] = rng.randint(0, 100)
    if answers["q1"]["option"] == "yes":
        answers["q7"] = {k: rng.randint(1, 5) for k in rng.sample(["s1", "s2"], rng.randint(1, 2))}
        answers["q8"] = rng.sample(["web", "course", "mentor"], 2)
    if rng.random() < 0.5:
        answers["q10"] = rng.choice(["Lead a team.", "Write grants.", "Teach."])
    return answers


def test_bulk_inserted_responses_are_counted(app):
    survey = factories.make_survey()
    rng = random.Random(7)
    for _ in range(40):
        factories.add_response(survey, random_answers(rng), career_stage="mid")
    db.session.commit()
    assert_consistent(survey)


def test_anonymous_and_attributed_submissions_and_changes_are_counted(app, client, login):
    anonymous = factories.make_survey()
    named = factories.make_survey(anonymous=False)
    members = factories.make_members(4)
    for i, member in enumerate(members):
        login(member)
        sections = (SECTION_1, SECTION_2, SECTION_3,
                    {**SECTION_4, "q-q10": f"Goal {i}."})
        assert take_survey(client, anonymous, sections).status_code == 200
        assert take_survey(client, named, sections).status_code == 200
    assert_consistent(anonymous)
    assert_consistent(named)
    # A named response changed: its answers are deleted and written again.
    login(members[0])
    client.post_form(f"/surveys/{named.id}/start")
    changed = ({**SECTION_1, "q-q2": ["c"]}, SECTION_2, SECTION_3, {**SECTION_4, "q-q10": ""})
    assert take_survey(client, named, changed).status_code == 200
    assert_consistent(named)


def test_deleting_responses_and_questions_keeps_the_counts(app):
    survey = factories.make_survey()
    rng = random.Random(3)
    for _ in range(25):
        factories.add_response(survey, random_answers(rng))
    db.session.commit()
    victims = db.session.scalars(sa.select(SurveyResponse.id).limit(7)).all()
    db.session.execute(sa.delete(SurveyResponse).where(SurveyResponse.id.in_(victims)))
    db.session.execute(sa.delete(SurveyAnswer).where(
        SurveyAnswer.question_id == survey.ordered_questions()[1].id))
    db.session.commit()
    assert_consistent(survey)
