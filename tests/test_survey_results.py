"""Results for leaders: figures, estimates, suppression, filters, cross-tabs, texts, charts."""

from __future__ import annotations

import re
import statistics

import pytest

from portal.extensions import db
from portal.survey_results import queries, summaries
from portal.survey_results.queries import Slice
from tests import factories


def answers(i: int) -> dict:
    """Deterministic answers for response number i."""
    return {
        "q1": {"option": "yes" if i % 3 else "no", "other": None},
        "q2": {"options": ["a"] if i % 2 else ["a", "b"], "other": None},
        "q3": (i % 5) + 1 if i % 7 else 0,
        "q4": i % 11,
        "q5": i,
        "q8": ["course", "web"] if i % 4 else ["web", "mentor"],
        "q10": f"Goal number {i}",
    }


@pytest.fixture
def survey(app):
    return factories.make_survey()


@pytest.fixture
def filled(survey):
    """30 responses: 20 early-career, 10 mid-career... and 2 seniors (small group)."""
    for i in range(32):
        stage = "early" if i < 20 else "mid" if i < 30 else "senior"
        factories.add_response(survey, answers(i), career_stage=stage, region="west")
    db.session.commit()
    return survey


@pytest.fixture
def plain(survey):
    """The same 32 answers without segments: no linked table hides anything more."""
    for i in range(32):
        factories.add_response(survey, answers(i))
    db.session.commit()
    return survey


@pytest.fixture
def as_leader(client, login, leader):
    login(leader)
    return client


def test_members_cannot_see_results(client, login, member, filled):
    login(member)
    assert client.get(f"/reports/surveys/{filled.id}").status_code == 403
    assert client.get(f"/reports/surveys/{filled.id}/responses.csv").status_code == 403


def test_summary_figures_and_estimates(plain):
    filled = plain
    total, items = summaries.summarise(filled)
    assert total == 32
    by_code = {s.question.code: s for s in items}
    q1 = by_code["q1"]
    assert q1.n == 32
    counts = {r.label: r.count for r in q1.tables[0].rows}
    yes = sum(1 for i in range(32) if i % 3)
    assert counts == {"Yes": yes, "No": 32 - yes, "Other, please specify": 0}
    # Likert: "not applicable" (0) is counted in the table but left out of the mean.
    likert = [(i % 5) + 1 for i in range(32) if i % 7]
    # Its cells are about 5 people each, so hidden: the mean is shown only as
    # precisely as keeps them hidden, and the median and SD not at all.
    d = by_code["q3"].description
    assert d is None or (d.mean_n == len(likert) and d.median is None and d.sd is None
                         and abs(d.mean - statistics.mean(likert)) <= 0.5 * 10 ** -d.decimals)
    # 0-10 rating: NPS.
    ratings = [i % 11 for i in range(32)]
    nps = by_code["q4"].nps
    promoters = sum(r >= 9 for r in ratings)
    detractors = sum(r <= 6 for r in ratings)
    assert nps.nps_score is None or \
        nps.nps_score == round(100 * (promoters - detractors) / 32)
    # Ranking: mean rank and share ranked first.
    ranking = {r.label: r for r in by_code["q8"].tables[0].rows}
    web_first = sum(1 for i in range(32) if i % 4 == 0)
    assert web_first == 8
    # 8 put Webinar first: hidden, and so is the complementary Course (24), and the mean
    # ranks that would give them away; how often each was ranked stays visible.
    assert ranking["Webinar"].count is None and ranking["Course"].count is None
    # Borda points follow the mean rank's rule (they are a function of it and times
    # ranked); the share ranking it at all is times ranked over respondents.
    assert ranking["Webinar"].extra == {"times_ranked": 32, "mean_rank": None,
                                        "borda": None, "top_pct": 100.0,
                                        "top_ci": _wilson_pct(32, 32), "top_n": 2}
    assert ranking["Mentoring"].count == 0
    assert ranking["Course"].extra["times_ranked"] == 24
    # With a larger group the figures appear.
    for i in range(32, 40):
        factories.add_response(filled, {**answers(i), "q8": ["web", "course"]})
    db.session.commit()
    _, items = summaries.summarise(filled)
    ranking = {r.label: r for r in {s.question.code: s for s in items}["q8"].tables[0].rows}
    assert ranking["Webinar"].count == 16 and ranking["Course"].count == 24
    assert ranking["Webinar"].pct == pytest.approx(100 * 16 / 40)
    assert ranking["Course"].extra["mean_rank"] == round((24 * 1 + 8 * 2) / 32, 2)
    # Borda (2 points for first, 1 for second) per respondent, from the raw rankings.
    rankings = [answers(i)["q8"] for i in range(32)] + [["web", "course"]] * 8
    for code, label in (("course", "Course"), ("web", "Webinar")):
        points = sum(2 - r.index(code) for r in rankings if code in r)
        assert ranking[label].extra["borda"] == round(points / 40, 2)
        times = sum(code in r for r in rankings)
        if 0 < 40 - times < 10:  # 8 did not rank Course: a small group, so no share
            assert ranking[label].extra["top_pct"] is None
            assert ranking[label].extra["top_ci"] is None
            continue
        assert ranking[label].extra["top_pct"] == round(100 * times / 40, 1)
        assert ranking[label].extra["top_ci"] == _wilson_pct(times, 40)


def _wilson_pct(k: int, n: int) -> tuple[float, float]:
    from scipy.stats import binomtest

    ci = binomtest(k, n).proportion_ci(confidence_level=0.95, method="wilson")
    return round(100 * ci.low, 1), round(100 * ci.high, 1)


def test_small_cells_are_suppressed_with_their_complement(filled):
    total, items = summaries.summarise(filled)
    q1 = {s.question.code: s for s in items}["q1"]
    # "Other" is 0 (shown); nothing is 1..9 here. In the q4 table values 0..10 appear
    # about three times each: all hidden.
    q4 = {s.question.code: s for s in items}["q4"]
    assert all(r.count is None for r in q4.tables[0].rows)
    assert q1.tables[0].rows[2].count == 0
    # A selection of two people shows nothing at all: while the survey is open it has
    # no snapshot yet (survey_results/snapshots.py); once closed, it is refused: no
    # count, no figures.
    total, items = summaries.summarise(filled, Slice("career_stage", "senior"))
    assert not total and not any(s.n for s in items)
    filled.close()
    db.session.commit()
    total, items = summaries.summarise(filled, Slice("career_stage", "senior"))
    assert total is None and all(s.n is None for s in items)


def test_complementary_cell_hidden(survey):
    for i in range(25):
        factories.add_response(survey, {"q1": {"option": "yes" if i < 12 else
                                                "no" if i < 22 else "other",
                                                "other": "x" if i >= 22 else None},
                                         "q4": 5})
    db.session.commit()
    _, items = summaries.summarise(survey)
    rows = {r.label: r.count for r in items[0].tables[0].rows}
    # Other = 3 is hidden, and so is the next smallest (No = 10), so Other cannot be
    # recovered as 25 - 12 - 10.
    assert rows == {"Yes": 12, "No": None, "Other, please specify": None}


def test_results_page(as_leader, filled, query_counter):
    with query_counter() as statements:
        resp = as_leader.get(f"/reports/surveys/{filled.id}")
    assert resp.status_code == 200
    # Grouped queries, not one per question or response (the disclosure step reads
    # the count tables of every selection: a fixed handful more; +3 for the snapshots
    # of an open survey).
    assert len(statements) < 53
    html = resp.get_data(as_text=True)
    assert html.count("<h1") == 1
    assert "Net promoter score" in html and "95% interval" in html
    assert "<svg" in html and "<title" in html and "<desc" in html
    svg = re.findall(r"<svg.*?</svg>", html, re.S)
    assert svg and all("style" not in s for s in svg)
    assert 'style="' not in html
    assert "fewer than 10" in html


def test_filters_by_segment_and_by_answer(as_leader, filled):
    resp = as_leader.get(f"/reports/surveys/{filled.id}?segment=career_stage:early")
    assert resp.status_code == 200
    assert "In this selection" in resp.get_data(as_text=True)
    assert queries.count_responses(filled, Slice("career_stage", "early")) == 20
    q1 = filled.question_by_code("q1")
    yes = q1.option_by_code("yes")
    resp = as_leader.get(f"/reports/surveys/{filled.id}?answer={q1.id}:{yes.id}")
    assert resp.status_code == 200
    assert queries.count_responses(filled, Slice(question_id=q1.id, option_id=yes.id)) == \
        sum(1 for i in range(32) if i % 3)
    resp = as_leader.get(f"/reports/surveys/{filled.id}?segment=planet:mars")
    assert resp.status_code == 404  # a filter value the portal does not offer


def test_response_rate_against_eligible_members(as_leader, filled):
    for _ in range(3):
        factories.make_user()
    factories.make_user(verified=False)
    factories.make_user(active=False)
    html = as_leader.get(f"/reports/surveys/{filled.id}").get_data(as_text=True)
    # 3 verified active members are eligible (the leader is staff); 32 responses.
    eligible = queries.eligible_members(filled)
    assert (eligible.count, eligible.source) == (3, "accounts")
    # 32 of 3 is no split into two groups of 10: the rate is withheld, with the reason.
    assert "active member accounts with a verified e-mail" in html
    assert "The response rate is hidden to protect a small group" in html


def test_response_rate_against_the_roster_when_there_is_one(as_leader, filled):
    for i in range(60):
        factories.make_roster_entry(f"r{i}@example.org",
                                    career_stage="early" if i < 40 else "mid")
    eligible = queries.eligible_members(filled)
    assert (eligible.count, eligible.source) == (60, "roster")
    html = as_leader.get(f"/reports/surveys/{filled.id}").get_data(as_text=True)
    assert "<dd>60</dd>" in html and "53.3%" in html  # 32 of 60
    assert "imported membership roster" in html and "active accounts" not in html


def test_roster_denominator_follows_the_audience_where_the_roster_records_it(app):
    survey = factories.make_survey(audience={"career_stage": ["early"],
                                             "region": ["west"]})
    for i in range(30):
        factories.make_roster_entry(f"r{i}@example.org",
                                    career_stage="early" if i < 12 else "senior")
    # The roster records career stage (applied) but no region (cannot be applied).
    eligible = queries.eligible_members(survey)
    assert eligible.count == 12 and eligible.unrestricted == ("region",)
    assert "does not record region" in eligible.explanation
    factories.make_roster_entry("x@example.org", career_stage="early", region="south")
    eligible = queries.eligible_members(survey)
    assert eligible.count == 0 and eligible.unrestricted == ()


def test_texts_need_enough_answers_and_are_searchable(as_leader, filled):
    resp = as_leader.get(f"/reports/surveys/{filled.id}/questions/q10/texts")
    html = resp.get_data(as_text=True)
    assert resp.status_code == 200 and "Goal number" in html
    resp = as_leader.get(f"/reports/surveys/{filled.id}/questions/q10/texts?search=number+1")
    html = resp.get_data(as_text=True)
    # "Goal number 1", 10..19: 11 answers, fewer than 20: the suppressed view.
    assert "Goal number" not in html and "at least 20" in html
    resp = as_leader.get(f"/reports/surveys/{filled.id}/questions/q10/texts?search=goal")
    html = resp.get_data(as_text=True)
    assert "Goal number" in html and not re.search(r"\d+ answers", html)
    resp = as_leader.get(f"/reports/surveys/{filled.id}/questions/q10/texts?page=2")
    assert "Page 2" in resp.get_data(as_text=True)
    # Only 10 mid-career texts: below PRIVACY_MIN_COMMENTS (20).
    resp = as_leader.get(
        f"/reports/surveys/{filled.id}/questions/q10/texts?segment=career_stage:mid")
    html = resp.get_data(as_text=True)
    assert "Goal number" not in html and "at least 20" in html


def test_crosstab_by_segment(as_leader, filled):
    resp = as_leader.get(f"/reports/surveys/{filled.id}/crosstab?question=q1"
                         f"&dimension=career_stage")
    assert resp.status_code == 200
    columns, rows = summaries.crosstab_table(filled, filled.question_by_code("q1"),
                                             "career_stage", Slice())
    labels = [c[1] for c in columns]
    assert labels[:2] == ["Early career (0–5 years)", "Mid-career (6–15 years)"]
    # Seniors (2) are hidden, and the next smallest column (mid, 10) with them.
    shown = {c[0]: c[2] for c in columns}
    assert shown["mid"] is None and shown["senior"] is None
    for _, cells in rows:
        assert cells[1] is None and cells[2] is None
        assert all(c is None or c == 0 or c >= 10 for c in cells)


def test_draft_surveys_have_no_results(as_leader, app):
    draft = factories.make_survey(status="draft")
    assert as_leader.get(f"/reports/surveys/{draft.id}").status_code == 404
    assert "Every type" not in as_leader.get("/reports/surveys/").get_data(as_text=True)


def test_no_n_plus_one_on_index(as_leader, query_counter):
    for _ in range(2):
        factories.make_survey()
    with query_counter() as statements:
        assert as_leader.get("/reports/surveys/").status_code == 200
    for _ in range(4):
        factories.make_survey()
    with query_counter() as statements2:
        assert as_leader.get("/reports/surveys/").status_code == 200
    assert len(statements2) == len(statements)


@pytest.fixture
def large(survey):
    """120 responses without segments: every cell of q3 and q4 holds 10 or more."""
    for i in range(120):
        factories.add_response(survey, answers(i))
    db.session.commit()
    return survey


def test_likert_not_applicable_apart_and_intervals_match_scipy(large):
    import numpy as np
    from scipy.stats import binomtest

    from tests.test_stats import _nps_reference, bounded_reference

    _, items = summaries.summarise(large)
    by_code = {s.question.code: s for s in items}
    q3 = by_code["q3"]
    raw = [(i % 5) + 1 if i % 7 else 0 for i in range(120)]
    scale = [v for v in raw if v]
    table = q3.tables[0]
    # "Not applicable" is counted apart: out of the percentages as out of the mean.
    assert [(r.label, r.count, r.pct) for r in table.apart] == \
        [("Not applicable", raw.count(0), None)]
    assert table.pct_base == len(scale) == q3.description.mean_n
    assert len(table.rows) == 5
    for row in table.rows:
        k = scale.count(int(row.label.split(" ")[0]))
        assert row.count == k and row.pct == round(100 * k / len(scale), 1)
        ci = binomtest(k, len(scale)).proportion_ci(confidence_level=0.95, method="wilson")
        assert row.ci == (round(100 * ci.low, 1), round(100 * ci.high, 1))
    assert sum(r.pct for r in table.rows) == pytest.approx(100, abs=0.3)
    d = q3.description
    lo, hi = bounded_reference(np.array(scale, dtype=float), 1, 5)
    assert (d.lo, d.hi) == (round(lo, d.decimals), round(hi, d.decimals))
    # 0-10: the score's interval from the raw answers (Rocks' adjusted Wald).
    nps = by_code["q4"].nps
    score, lo, hi = _nps_reference(np.array([i % 11 for i in range(120)]))
    assert (nps.nps_score, nps.nps_lo, nps.nps_hi) == (round(score), round(lo), round(hi))
    assert nps.nps_lo < nps.nps_score < nps.nps_hi


def test_results_page_shows_intervals_and_not_applicable_apart(as_leader, large):
    page = as_leader.get(f"/reports/surveys/{large.id}")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    na = sum(1 for i in range(120) if i % 7 == 0)
    assert f"Not applicable: {na} (left out of the percentages and the mean" in html
    assert "% of answers on the scale" in html and "95% interval" in html
    assert "adjusted Wald" in html


def test_crosstab_column_percentages_and_chi_square_match_scipy(as_leader, survey):
    from scipy.stats import chi2_contingency

    for i in range(120):
        factories.add_response(survey, answers(i), career_stage="early" if i < 70 else "mid")
    db.session.commit()
    question = survey.question_by_code("q1")
    columns, rows = summaries.crosstab_table(survey, question, "career_stage", Slice())
    figures = summaries.crosstab_figures(survey, question, Slice(), columns, rows)
    groups = {"early": range(70), "mid": range(70, 120)}
    yes = {g: sum(1 for i in r if i % 3) for g, r in groups.items()}
    table = [[yes["early"], yes["mid"]],
             [len(groups["early"]) - yes["early"], len(groups["mid"]) - yes["mid"]]]
    codes = [c for c, _l, _n in columns]
    pos = [codes.index("early"), codes.index("mid")]
    assert [figures.col_pct[0][j] for j in pos] == \
        [round(100 * yes[g] / len(groups[g]), 1) for g in ("early", "mid")]
    ref = chi2_contingency(table, correction=False)
    assert figures.test.method == "chi-square"
    assert figures.test.p == pytest.approx(ref.pvalue)
    page = as_leader.get(f"/reports/surveys/{survey.id}/crosstab?question=q1"
                         "&dimension=career_stage")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "column percentages" in html and "Chi-square" in html


def test_crosstab_runs_no_test_over_hidden_cells(as_leader, filled):
    question = filled.question_by_code("q1")
    columns, rows = summaries.crosstab_table(filled, question, "career_stage", Slice())
    figures = summaries.crosstab_figures(filled, question, Slice(), columns, rows)
    assert figures.test is None and "hidden" in figures.no_test_reason
    hidden_col = [j for j, (_c, _l, n) in enumerate(columns) if n is None]
    assert hidden_col and all(figures.col_pct[i][j] is None
                              for i in range(len(rows)) for j in hidden_col)
    page = as_leader.get(f"/reports/surveys/{filled.id}/crosstab?question=q1"
                         "&dimension=career_stage")
    assert page.status_code == 200 and "No test: it would need the hidden cells." in \
        page.get_data(as_text=True)


def test_crosstab_letters_and_adjusted_residuals_match_scipy(as_leader, survey):
    """Column-proportion letters and adjusted residuals on the page are those of a
    recomputation: in a 2x2 table the adjusted residual squared is Pearson's chi-square,
    and each letter is a two-proportion test below 0.05 after Bonferroni."""
    from scipy.stats import chi2_contingency

    for i in range(120):
        factories.add_response(survey, answers(i), career_stage="early" if i < 70 else "mid")
    db.session.commit()
    question = survey.question_by_code("q1")
    columns, rows = summaries.crosstab_table(survey, question, "career_stage", Slice())
    figures = summaries.crosstab_figures(survey, question, Slice(), columns, rows)
    shown = [(i, cells) for i, (_l, cells) in enumerate(rows) if any(cells)]
    table = [cells for _i, cells in shown]
    ref = chi2_contingency(table, correction=False)
    first = shown[0][0]
    assert figures.residuals[first][0] ** 2 == pytest.approx(ref.statistic)
    # Two columns: one pair, so Bonferroni changes nothing; the letter follows p < 0.05.
    p = ref.pvalue
    (a, b) = table[0]
    cols = [sum(c) for c in zip(*table, strict=True)]
    higher = 0 if a / cols[0] > b / cols[1] else 1
    expected = ["", ""]
    if p < 0.05:
        expected[higher] = "AB"[1 - higher]
    assert figures.letters[first] == expected
    html = as_leader.get(f"/reports/surveys/{survey.id}/crosstab?question=q1"
                         "&dimension=career_stage").get_data(as_text=True)
    assert "adjusted residuals" in html and "Bonferroni-corrected within the answer's row" in html


def test_column_letters_use_bonferroni_within_the_row():
    from portal.stats.crosstab import adjusted_residuals, column_letters

    # Three columns, three pairs: p of A against C is about 0.03, which passes alone
    # but not after multiplying by 3.
    table = [[30, 25, 19], [20, 25, 31]]
    from scipy.stats import chi2_contingency

    p_ac = chi2_contingency([[30, 19], [20, 31]], correction=False).pvalue
    assert 0.05 / 3 < p_ac < 0.05
    assert column_letters(table) == [["", "", ""], ["", "", ""]]
    assert column_letters([[45, 25, 10], [5, 25, 40]]) == [["BC", "C", ""], ["", "A", "AB"]]
    # Empty rows or columns give no residual and no letter.
    res = adjusted_residuals([[5, 0], [0, 0]])
    assert res[1] == [None, None] and res[0][1] is None
    assert column_letters([[5, 0], [3, 0]]) == [["", ""], ["", ""]]
