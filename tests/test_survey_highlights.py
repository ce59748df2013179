"""Survey highlights on the board report: figures equal the raw answers, small groups hidden."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta

import pytest
from scipy.stats import binomtest

from portal.extensions import db
from portal.survey_results import highlights
from portal.surveys import templates
from portal.timeutil import now_utc
from tests import factories

TOPICS = ["ai", "data_tech", "leadership", "literacy", "equity", "advocacy", "community"]
FORMATS = ["webinar", "self_paced", "workshop", "mentoring", "cohort"]
BARRIERS = ["cost", "time", "employer", "travel"]


def pd_answers(i: int) -> dict:
    """Deterministic answers of respondent i to the PD-needs survey."""
    topics = [TOPICS[(i * k) % len(TOPICS)] for k in (1, 2, 3)][: 1 + i % 3]
    formats = [FORMATS[i % 5], FORMATS[(i + 2) % 5], FORMATS[(i + 3) % 5]]
    barriers = ["nothing"] if i % 9 == 0 else [BARRIERS[i % 4]] + (["time"] if i % 2 else [])
    return {
        "q1": {"options": sorted(set(topics)), "other": None},
        "q2": formats,
        "q3": {"option": "h1_2", "other": None},
        "q4": {"option": "lt100", "other": None},
        "q5": {"options": sorted(set(barriers)), "other": None},
        "q6": {"option": "yes", "other": None},
        "q7": 3,
        "q9": 4,
    }


@pytest.fixture
def pd_survey(app):
    survey, created = templates.load_template("pd-needs")
    assert created
    survey.open()
    db.session.commit()
    return survey


def fill(survey, n: int, answers=pd_answers):
    for i in range(n):
        factories.add_response(survey, answers(i), career_stage="mid")
    db.session.commit()


def labels(survey, code):
    return {o.code: o.label for o in survey.question_by_code(code).options}


def test_pd_needs_highlights_equal_the_raw_answers(pd_survey):
    fill(pd_survey, 60)
    for _ in range(3):
        factories.make_user()
    [h] = highlights.board_highlights()
    assert h.survey.id == pd_survey.id
    assert h.responses == 60
    assert (h.eligible.count, h.eligible.source) == (3, "accounts")
    # 60 of 3 eligible is no split into two groups of at least 10: no rate.
    assert h.rate is None
    raw = [pd_answers(i) for i in range(60)]
    topics = Counter(c for a in raw for c in a["q1"]["options"])
    firsts = Counter(a["q2"][0] for a in raw)
    barriers = Counter(c for a in raw for c in a["q5"]["options"] if c != "nothing")
    answered_q5 = sum(1 for a in raw if a["q5"]["options"])
    lists = {lst.heading: lst for lst in h.lists}
    expected = [
        ("Topics members most want to learn about", "q1", topics, 60, 5),
        ("Ways of learning ranked first", "q2", firsts, 60, 3),
        ("Main barriers to professional development", "q5", barriers, answered_q5, 3),
    ]
    for heading, code, counts, base, top in expected:
        lst = lists[heading]
        assert lst.respondents == base
        names = labels(pd_survey, code)
        want = sorted(counts.items(), key=lambda kv: -kv[1])[:top]
        got = [(s.label, s.count) for s in lst.items]
        # Equal counts may be listed in either order: compare the counts, and each
        # listed answer's count with the raw answers.
        assert [n for _, n in got] == [n for _, n in want]
        by_label = {names[c]: n for c, n in counts.items()}
        assert all(by_label[label] == n for label, n in got)
        for share in lst.items:
            assert share.pct == round(100 * share.count / base, 1)  # as the page shows it
            ci = binomtest(share.count, base).proportion_ci(method="wilson")
            assert share.ci == (round(100 * ci.low, 1), round(100 * ci.high, 1))
    assert "Nothing makes it hard" not in [s.label for s in lists[
        "Main barriers to professional development"].items]


def test_small_answer_counts_and_small_surveys_are_suppressed(pd_survey):
    def answers(i):
        a = pd_answers(0)
        # 25 choose AI; 4 also choose equity (hidden). More than one answer is allowed,
        # so the counts do not sum to a total and leadership (11) need not hide with it
        # (the disclosure step checks that equity keeps its interval).
        a["q1"] = {"options": ["ai"] + (["equity"] if i < 4 else [])
                   + (["leadership"] if 4 <= i < 15 else []), "other": None}
        return a

    fill(pd_survey, 25, answers)
    [h] = highlights.board_highlights()
    topics = next(lst for lst in h.lists if lst.heading.startswith("Topics"))
    assert [(s.label, s.count) for s in topics.items] == [
        ("Artificial intelligence in libraries", 25), ("Leadership and management", 11)]

    small = factories.make_survey()
    fill(small, 7, lambda i: {"q1": {"option": "yes", "other": None}})
    by_id = {h.survey.id: h for h in highlights.board_highlights()}
    assert by_id[small.id].responses is None and by_id[small.id].rate is None
    assert by_id[small.id].lists == []


def test_only_open_and_recently_closed_surveys(app):
    draft = factories.make_survey(status="draft")
    old = factories.make_survey(status="closed")
    old.closed_at = now_utc() - timedelta(days=highlights.RECENT_DAYS + 1)
    recent = factories.make_survey(status="closed")
    current = factories.make_survey()
    db.session.commit()
    ids = [h.survey.id for h in highlights.board_highlights()]
    assert ids == [current.id, recent.id]
    assert draft.id not in ids and old.id not in ids


def test_board_report_shows_survey_highlights(client, login, leader, plan, pd_survey):
    factories.make_round("Spring 2026")
    fill(pd_survey, 30)
    factories.make_user()      # one eligible member who did not respond (staff do not count)
    small = factories.make_survey()
    small.title = "A small pulse survey"
    fill(small, 4, lambda i: {"q1": {"option": "yes", "other": None}})
    login(leader)
    resp = client.get("/reports/board")
    html = resp.get_data(as_text=True)
    assert resp.status_code == 200
    assert "Professional development needs of library workers" in html
    # The fixture's eligible members minus 30 respondents is a small group, so the
    # number eligible is not printed beside the 30 (it would tell the rest).
    assert "30 responses; the number of eligible members and the response rate are hidden" in html
    assert "Topics members most want to learn about" in html
    assert "A small pulse survey" in html and "fewer than 10 responses" in html
    assert "active member accounts with a verified e-mail" in html
    assert f'href="/reports/surveys/{pd_survey.id}"' in html
