"""Exports: CSV with a codebook, XLSX with three sheets, definition JSON; suppression; streaming."""

from __future__ import annotations

import csv
import io
import json
from collections import Counter

import openpyxl
import pytest

from portal.extensions import db
from portal.survey_results import exports
from portal.survey_results.queries import Slice
from tests import factories
from tests.test_survey_results import answers


@pytest.fixture
def filled(app):
    survey = factories.make_survey()
    for i in range(32):
        stage = "early" if i < 20 else "mid" if i < 30 else "senior"
        factories.add_response(survey, answers(i), career_stage=stage, region="west")
    db.session.commit()
    return survey


@pytest.fixture
def as_leader(client, login, leader):
    login(leader)
    return client


def _csv(resp) -> list[dict]:
    return list(csv.DictReader(io.StringIO(resp.get_data(as_text=True))))


def test_csv_one_row_per_response_with_stable_codes(as_leader, filled):
    resp = as_leader.get(f"/reports/surveys/{filled.id}/responses.csv")
    assert resp.status_code == 200 and resp.is_streamed
    assert "attachment" in resp.headers["Content-Disposition"]
    rows = _csv(resp)
    assert len(rows) == 32
    header = list(rows[0])
    # Only the survey's breakdown dimensions are stored, so only they are exported.
    assert header[:4] == ["response_id", "career_stage", "library_type", "submitted_month"]
    for code in ("q1", "q1_other", "q2_a", "q2_b", "q2_x", "q2_other", "q3", "q4", "q5",
                 "q6", "q7_s1", "q7_s2", "q8_web", "q8_course", "q8_mentor", "q9", "q10"):
        assert code in header
    by_q5 = {int(r["q5"]): r for r in rows}
    r0, r1 = by_q5[0], by_q5[1]
    assert r0["q1"] == "no" and r1["q1"] == "yes"
    assert (r0["q2_a"], r0["q2_b"], r0["q2_c"]) == ("1", "1", "0")
    assert r0["q3"] == "na" and r1["q3"] == "2"
    assert r0["q8_web"] == "1" and r0["q8_mentor"] == "2" and r0["q8_course"] == ""
    assert r1["q10"] == "Goal number 1"
    # The two seniors are a small group: their segment value is suppressed, and the
    # complementary next smallest (mid, 10) with them.
    stages = {r["career_stage"] for r in rows}
    assert stages == {"early", "suppressed"}
    assert sum(r["career_stage"] == "suppressed" for r in rows) == 12


def test_no_exported_combination_of_segments_and_month_is_rarer_than_k(as_leader, app):
    survey = factories.make_survey()
    groups = [("early", "academic", 15), ("mid", "public", 15), ("early", "public", 3)]
    i = 0
    for stage, library, n in groups:
        for _ in range(n):
            factories.add_response(survey, answers(i), career_stage=stage,
                                   library_type=library)
            i += 1
    db.session.commit()
    rows = _csv(as_leader.get(f"/reports/surveys/{survey.id}/responses.csv"))
    assert len(rows) == 33  # every response is exported ...
    combos = Counter((r["career_stage"], r["library_type"], r["submitted_month"])
                     for r in rows)
    # ... but the 3 early-career public librarians are not a visible combination.
    assert all(n >= 10 for n in combos.values()), combos
    assert ("early", "public", rows[0]["submitted_month"]) not in combos
    codebook = {r[0]: r for r in csv.reader(io.StringIO(as_leader.get(
        f"/reports/surveys/{survey.id}/codebook.csv").get_data(as_text=True)))}
    assert "shared by fewer than 10 rows" in codebook["submitted_month"][5]


def test_codebook_describes_every_column(as_leader, filled):
    rows = list(csv.reader(io.StringIO(as_leader.get(
        f"/reports/surveys/{filled.id}/codebook.csv").get_data(as_text=True))))
    header, body = rows[0], rows[1:]
    assert header == ["column", "question", "text", "type", "values", "note"]
    codebook = {r[0]: r for r in body}
    data_header = next(csv.reader(io.StringIO(as_leader.get(
        f"/reports/surveys/{filled.id}/responses.csv").get_data(as_text=True))))
    assert list(codebook) == data_header
    assert "yes = Yes" in codebook["q1"][4]
    assert "na = Not applicable" in codebook["q3"][4]
    assert "suppressed" in codebook["career_stage"][5]


def test_filtered_export_obeys_suppression(as_leader, filled):
    resp = as_leader.get(f"/reports/surveys/{filled.id}/responses.csv"
                         "?segment=career_stage:senior")
    assert resp.status_code == 403 and "small group" in resp.get_data(as_text=True)
    # Mid-career (10) is refused too: with it, all - early would give the seniors away.
    assert as_leader.get(f"/reports/surveys/{filled.id}/responses.csv"
                         "?segment=career_stage:mid").status_code == 403
    # Early career (20) goes with them here: shown, it would give mid + senior (12) by
    # difference, and their answers cell by cell. All respondents may be exported.
    resp = as_leader.get(f"/reports/surveys/{filled.id}/responses.csv")
    rows = _csv(resp)
    assert len(rows) == 32
    assert "withheld" not in {r["q10"] for r in rows}
    assert as_leader.get(f"/reports/surveys/{filled.id}/responses.xlsx"
                         "?segment=career_stage:senior").status_code == 403


def test_xlsx_has_responses_summary_and_codebook(as_leader, filled):
    resp = as_leader.get(f"/reports/surveys/{filled.id}/responses.xlsx")
    assert resp.status_code == 200 and resp.is_streamed
    wb = openpyxl.load_workbook(io.BytesIO(resp.get_data()), read_only=True)
    try:
        assert wb.sheetnames == ["Responses", "Summary", "Codebook"]
        responses = list(wb["Responses"].iter_rows(values_only=True))
        assert len(responses) == 33 and responses[0][0] == "response_id"
        summary = list(wb["Summary"].iter_rows(values_only=True))
        assert ("Responses in this selection", 32) in [tuple(r[:2]) for r in summary]
        assert any(r[0] == "Mean" for r in summary)  # the Likert and rating estimates
        codebook = list(wb["Codebook"].iter_rows(values_only=True))
        assert [r[0] for r in codebook[1:]] == list(responses[0])
    finally:
        wb.close()


def test_text_starting_like_a_formula_is_defused(app):
    survey = factories.make_survey()
    for i in range(25):
        factories.add_response(survey, {**answers(i), "q10": "=HYPERLINK(1)" if i == 0
                                        else f"Goal {i}"})
    db.session.commit()
    text = "".join(exports.iter_csv(exports.plan(survey, Slice())))
    assert "'=HYPERLINK(1)" in text


def test_definition_json_for_leaders(as_leader, filled):
    resp = as_leader.get(f"/reports/surveys/{filled.id}/definition.json")
    data = json.loads(resp.get_data(as_text=True))
    assert data["format"] == "portal-survey/1" and len(data["sections"]) == 4


def test_csv_streams_in_chunks(app, filled, monkeypatch):
    monkeypatch.setattr(exports, "CHUNK_ROWS", 5)
    chunks = list(exports.iter_csv(exports.plan(filled)))
    assert len(chunks) >= 7
