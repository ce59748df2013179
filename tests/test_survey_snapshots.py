"""Results of an open survey move in steps of at least PRIVACY_MIN_N respondents per
slice (portal/survey_results/snapshots.py): a leader who reads a filtered slice twice
cannot learn one newcomer's answers by difference."""

from __future__ import annotations

import sqlalchemy as sa

from portal.extensions import db
from portal.models import Survey, SurveyParticipation, SurveyResponse, SurveySnapshot
from portal.survey_results import queries, summaries
from portal.survey_results.queries import Slice
from portal.templating import format_datetime
from tests import factories
from tests.test_survey_anonymity import _columns, _submit_many

MID = Slice("career_stage", "mid")


def _add(survey, batch: int, stage: str, count: int, q4: int) -> None:
    """`count` responses of one stage in release batch `batch`, all answering q4 = `q4`."""
    for _ in range(count):
        factories.add_response(survey, {"q1": {"option": "yes", "other": None}, "q4": q4},
                               batch=batch, career_stage=stage, region="west")
    db.session.commit()


def _read(survey, where=queries.ALL):
    """One reading, as a page does it: figures, then the snapshots are kept."""
    total, items = summaries.summarise(survey, where)
    q4 = next(s for s in items if s.question.code == "q4")
    hist = queries.histograms(survey, where)[q4.question.id]
    db.session.commit()
    return total, dict(hist)


def test_a_filtered_slice_moves_only_after_n_new_responses(app):
    survey = factories.make_survey()
    _add(survey, 1, "mid", 12, q4=7)
    _add(survey, 1, "early", 10, q4=2)
    assert _read(survey)[0] == 22
    mid_total, mid_hist = _read(survey, MID)
    assert mid_total == 12 and mid_hist == {(0, 7.0): 12}

    # Batch 2: a large batch, but only 3 of it mid-career (each answering 9).
    _add(survey, 2, "mid", 3, q4=9)
    _add(survey, 2, "early", 20, q4=2)
    assert _read(survey)[0] == 45                       # all respondents moved
    assert _read(survey, MID) == (12, {(0, 7.0): 12})   # mid-career did not
    columns, _rows = summaries.crosstab_table(survey, survey.question_by_code("q1"),
                                              "career_stage", queries.ALL)
    assert {c[0]: c[2] for c in columns} == {"early": 30, "mid": 12}
    assert queries.segment_counts(survey, "career_stage", queries.ALL) == {
        "early": 30, "mid": 12}

    # Batch 3 brings 7 more: 10 since the snapshot, so the slice moves, whole.
    _add(survey, 3, "mid", 7, q4=9)
    assert _read(survey, MID) == (22, {(0, 7.0): 12, (0, 9.0): 10})
    assert db.session.scalar(sa.select(SurveySnapshot.last_batch).where(
        SurveySnapshot.slice_key == "career_stage=mid")) == 3

    # After batch 4 (one mid-career) the figures stay; at the close they are final.
    _add(survey, 4, "mid", 1, q4=10)
    assert _read(survey, MID)[0] == 22
    survey.close()
    db.session.commit()
    assert _read(survey, MID) == (23, {(0, 7.0): 12, (0, 9.0): 10, (0, 10.0): 1})
    assert _read(survey)[0] == 53


def test_an_answer_filter_is_a_slice_of_its_own(app):
    survey = factories.make_survey()
    q1 = survey.question_by_code("q1")
    yes = q1.option_by_code("yes").id
    _add(survey, 1, "early", 15, q4=2)
    by_answer = Slice(question_id=q1.id, option_id=yes)
    assert _read(survey, by_answer)[0] == 15
    _add(survey, 2, "early", 4, q4=3)
    assert _read(survey, by_answer)[0] == 15
    # The crossed slice took its snapshot with the first reading too.
    both = Slice("career_stage", "early", q1.id, yes)
    assert _read(survey, both)[0] == 15
    _add(survey, 3, "early", 6, q4=3)
    assert _read(survey, both)[0] == 25 and _read(survey, by_answer)[0] == 25


def test_a_slice_without_a_snapshot_shows_nothing(app):
    survey = factories.make_survey()
    _add(survey, 1, "early", 12, q4=2)
    _add(survey, 1, "senior", 3, q4=5)
    # No snapshot yet, and 3 respondents: the disclosure step refuses the selection
    # (no count at all, portal/disclosure/surveys.py).
    assert _read(survey, Slice("career_stage", "senior")) == (None, {})
    # In the cross-tab the small column is counted, so it is hidden with its complement
    # rather than missing (all respondents minus the others would give it).
    columns, _rows = summaries.crosstab_table(survey, survey.question_by_code("q1"),
                                              "career_stage", queries.ALL)
    assert {c[0]: c[2] for c in columns} == {"early": None, "senior": None}


def test_the_page_says_when_the_figures_were_taken(client, login, leader, app):
    survey = factories.make_survey()
    _add(survey, 1, "mid", 12, q4=7)
    _add(survey, 1, "senior", 2, q4=7)
    login(leader)
    page = client.get(f"/reports/surveys/{survey.id}?segment=career_stage:mid")
    assert page.status_code == 200
    taken = db.session.scalar(sa.select(SurveySnapshot.taken_at).where(
        SurveySnapshot.survey_id == survey.id, SurveySnapshot.slice_key == "career_stage=mid"))
    body = page.get_data(as_text=True)
    assert (f"Results as of {format_datetime(taken)}; they move forward once 10 more "
            "responses arrive in this selection.") in body
    body = client.get(f"/reports/surveys/{survey.id}?segment=career_stage:senior"
                      ).get_data(as_text=True)
    assert "No results yet for this selection" in body
    for url in (f"/reports/surveys/{survey.id}/crosstab?question=q1&dimension=career_stage",
                f"/reports/surveys/{survey.id}/questions/q10/texts"):
        assert "Results as of" in client.get(url).get_data(as_text=True)
    survey = db.session.get(Survey, survey.id)
    survey.close()
    db.session.commit()
    body = client.get(f"/reports/surveys/{survey.id}?segment=career_stage:mid"
                      ).get_data(as_text=True)
    assert "Results as of" not in body and "No results yet" not in body


def test_batches_and_snapshots_link_nothing_to_a_member(app):
    survey = factories.make_survey()
    _submit_many(survey, 25, close=False)
    # Submissions and releases write no snapshot: those come from readings only.
    assert db.session.scalar(sa.select(sa.func.count()).select_from(SurveySnapshot)) == 0
    per_batch = dict(db.session.execute(
        sa.select(SurveyResponse.batch, sa.func.count()).group_by(SurveyResponse.batch)).all())
    assert per_batch == {1: 10, 2: 10}     # one number per release, none per response
    survey = db.session.get(Survey, survey.id)
    survey.close()
    db.session.commit()
    from portal.surveys import pool
    pool.release_due()
    per_batch = dict(db.session.execute(
        sa.select(SurveyResponse.batch, sa.func.count()).group_by(SurveyResponse.batch)).all())
    # The padded final batch: its re-keyed rows carry its number, not their old one.
    assert per_batch[3] == 10 and sum(per_batch.values()) == 25
    assert set(per_batch) == {1, 2, 3}

    insp = sa.inspect(db.engine)
    assert _columns("survey_snapshots") == {
        "survey_id", "slice_key", "last_batch", "previous_batch", "taken_at"}
    assert {fk["referred_table"] for fk in insp.get_foreign_keys("survey_snapshots")} == {
        "surveys"}
    targets = {fk["referred_table"] for fk in insp.get_foreign_keys("survey_responses")}
    assert "users" not in targets and "survey_participations" not in targets
    assert _columns("survey_participations") == {"survey_id", "user_id"}
    assert db.session.scalar(sa.select(sa.func.count()).select_from(SurveyParticipation)) == 25
