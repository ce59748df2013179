"""Demo survey responses: valid answers, copied segments, deterministic, kept apart."""

from __future__ import annotations

from collections import Counter

import sqlalchemy as sa
from sqlalchemy.orm import aliased

from portal import segments
from portal.extensions import db
from portal.models import Survey, SurveyAnswer, SurveyParticipation, SurveyResponse, User
from portal.survey_results import highlights, queries
from portal.surveys import answers as ans
from portal.surveys.services import answers_of_response, final_answers

ARGS = ["demo-data", "--members", "400", "--seed", "5", "--quiet", "--password", "demo pass"]


def _survey_fingerprint(survey):
    hist = queries.histograms(survey, queries.ALL)
    return (queries.count_responses(survey),
            sorted((q, k, n) for q, cells in hist.items() for k, n in cells.items()),
            sorted(queries.segment_counts(survey, "career_stage", queries.ALL).items(),
                   key=lambda kv: kv[0] or ""))


def test_demo_data_adds_valid_anonymous_survey_responses(app, runner):
    result = runner.invoke(args=ARGS)
    assert result.exit_code == 0, result.output
    survey = db.session.scalar(sa.select(Survey).where(Survey.template_key == "pd-needs"))
    assert survey is not None and survey.is_open and survey.accepts_answers()
    n = queries.count_responses(survey)
    assert f"{n:,} survey responses" in result.output
    participants = db.session.scalar(sa.select(sa.func.count()).select_from(
        SurveyParticipation).where(SurveyParticipation.survey_id == survey.id))
    # About a third of the 400 members answered; one participation per response.
    assert participants == n and 90 <= n <= 200

    # Every response is one a member could have submitted: it passes the survey's own
    # checks and holds no answer that logic would have hidden.
    for rid in db.session.scalars(sa.select(SurveyResponse.id)):
        answers = answers_of_response(survey, rid)
        assert final_answers(survey, answers) == answers
        assert ans.prune(survey.sections, answers) == answers

    # The responses carry only the breakdown dimensions, as releases store them:
    # recoded within each batch (one release day may hold several), so every stored
    # combination of a day is shared by at least PRIVACY_MIN_N responses.
    keys = survey.breakdown_keys
    by_day = Counter(tuple(r) for r in db.session.execute(sa.select(
        SurveyResponse.submitted_on, *[getattr(SurveyResponse, k) for k in keys])).all())
    assert min(by_day.values()) >= 10
    members = Counter(tuple(r) for r in db.session.execute(sa.select(
        *[getattr(User, k) for k in keys]).join(
        SurveyParticipation, SurveyParticipation.user_id == User.id)).all())
    stored = Counter(tuple(r[1:]) for r in by_day.elements())
    assert sum(stored.values()) == sum(members.values())
    for combo in stored:  # every stored value is a prefix of real members' values
        kept = tuple(v for v in combo if v != segments.GENERALISED)
        assert any(m[:len(kept)] == kept for m in members)
    others = [getattr(SurveyResponse, k) for k in segments.KEYS if k not in keys]
    assert db.session.scalar(sa.select(sa.func.count()).where(
        sa.or_(*[c.is_not(None) for c in others]))) == 0

    # The structure a reader should find: members without employer support rate it lower.
    q6, q7 = survey.question_by_code("q6"), survey.question_by_code("q7")
    a6, a7 = aliased(SurveyAnswer), aliased(SurveyAnswer)
    mean_support = dict(db.session.execute(
        sa.select(a6.item, sa.func.avg(a7.num_value))
        .join(a7, a7.response_id == a6.response_id)
        .where(a6.question_id == q6.id, a7.question_id == q7.id).group_by(a6.item)).all())
    assert mean_support[q6.option_by_code("yes").id] > mean_support[
        q6.option_by_code("no").id] + 1
    [h] = highlights.board_highlights()
    assert h.responses == n and {lst.heading for lst in h.lists if lst.items} == {
        heading for _code, heading, _top, _skip in highlights.PD_NEEDS_LISTS}


def test_demo_survey_responses_are_deterministic(app, runner):
    assert runner.invoke(args=ARGS).exit_code == 0
    survey = db.session.scalar(sa.select(Survey).where(Survey.template_key == "pd-needs"))
    first = _survey_fingerprint(survey)
    db.session.remove()
    from tests.conftest import _wipe
    _wipe()
    assert runner.invoke(args=ARGS).exit_code == 0
    survey = db.session.scalar(sa.select(Survey).where(Survey.template_key == "pd-needs"))
    assert _survey_fingerprint(survey) == first
