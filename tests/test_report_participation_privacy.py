"""Participation "k of n" never gives away a small group on either side.

31 of 32 eligible tells the leader that exactly one member did not take part: the
raters and the rate are withheld whenever k or n - k is 1 to PRIVACY_MIN_N - 1, and the
page says why.
"""

from __future__ import annotations

import csv
import io

import pytest

from portal import privacy
from portal.extensions import db
from portal.reports import participation
from tests import factories

REASON = "hidden: fewer than 10 on one side"


@pytest.fixture
def closed(app, plan):
    return factories.make_past_round("Closed round", "closed", days_ago=40)


@pytest.fixture
def a1(plan):
    return factories.objective("A1")


def _rate(members, rnd, obj):
    for m in members:
        factories.make_rating(m, obj, rnd, 4, 4, commit=False)
    db.session.commit()


def _participation_rows(client, rnd) -> dict[tuple[str, str], list[str]]:
    resp = client.get(f"/reports/export/dashboard/participation.csv?round={rnd.id}")
    assert resp.status_code == 200
    rows = list(csv.reader(io.StringIO(resp.get_data(as_text=True))))
    return {(r[0], r[1]): r[2:] for r in rows[1:]}


def test_one_member_who_did_not_rate_is_not_given_away(client, login, leader, closed, a1):
    # 32 members are eligible (the leader's staff account is not); 31 rate: 31 of 32.
    members = factories.make_members(32, career_stage="mid")
    _rate(members[:31], closed, a1)
    overall, by_dim = participation.participation(closed.id)
    assert (overall.eligible, overall.raters, overall.rate) == (32, None, None)
    assert overall.reason == REASON == privacy.split_suppressed_label()
    # Every segment adds up to the overall raters, so theirs are withheld too.
    mid = next(p for p in by_dim["career_stage"] if p.label.startswith("Mid"))
    assert mid.raters is None and mid.rate is None and mid.reason == REASON

    login(leader)
    rows = _participation_rows(client, closed)
    assert rows[("All", "All eligible members")] == ["32", REASON, REASON]
    assert not any(v == "31" for row in rows.values() for v in row[1:])
    html = client.get(f"/reports/priorities?round={closed.id}").get_data(as_text=True)
    assert REASON in html and "31 of 32" not in html
    board = client.get(f"/reports/board?round={closed.id}").get_data(as_text=True)
    assert "Participation:" in board and REASON in board
    assert "31 of 32" not in board and "97%" not in board


def test_a_split_with_both_sides_large_enough_is_shown(client, login, leader, closed, a1):
    members = factories.make_members(20, career_stage="mid")    # the leader is staff
    _rate(members[:10], closed, a1)
    overall, _ = participation.participation(closed.id)
    assert (overall.eligible, overall.raters, overall.reason) == (20, 10, "")
    assert overall.rate == pytest.approx(0.5)
    login(leader)
    assert _participation_rows(client, closed)[("All", "All eligible members")] == [
        "20", "10", "50.0"]
    board = client.get(f"/reports/board?round={closed.id}").get_data(as_text=True)
    assert "10 of 20 eligible members rated (50%)" in board


def test_a_segment_with_one_non_rater_is_withheld_with_a_complement(closed, a1, app):
    early = factories.make_members(12, career_stage="early")
    mid = factories.make_members(20, career_stage="mid")
    senior = factories.make_members(20, career_stage="senior")
    _rate(early[:11] + mid[:10] + senior[:15], closed, a1)   # early: 11 of 12
    overall, by_dim = participation.participation(closed.id)
    assert (overall.eligible, overall.raters) == (52, 36)
    rows = {p.label: p for p in by_dim["career_stage"]}
    early_row = next(p for label, p in rows.items() if label.startswith("Early"))
    assert early_row.raters is None and early_row.rate is None and early_row.reason == REASON
    # Alone it could be worked out as 36 minus the others: one more is withheld.
    others = [p for p in rows.values() if p is not early_row and p.raters is None]
    assert others, rows


def test_open_round_participation_moves_in_steps(client, login, leader, plan, a1):
    rnd = factories.make_round("Open round")
    members = factories.make_members(41, career_stage="mid")    # the leader is staff
    _rate(members[:20], rnd, a1)
    login(leader)
    first = _participation_rows(client, rnd)[("All", "All eligible members")]
    assert first == ["41", "20", "48.8"]
    _rate(members[20:21], rnd, a1)
    assert _participation_rows(client, rnd)[("All", "All eligible members")] == first
    _rate(members[21:30], rnd, a1)                 # ten new raters since the copy
    assert _participation_rows(client, rnd)[("All", "All eligible members")] == [
        "41", "30", "73.2"]
