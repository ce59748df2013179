"""Open-round figures come from snapshots that move only in steps of PRIVACY_MIN_N members.

The attack these tests replay: a leader reads a page, waits for one member to rate,
reads it again and subtracts. Every read goes through a leadership request (whose
before_request advances the snapshots), then the figures the page used are read
with the same loader the pages call.
"""

from __future__ import annotations

import csv
import io

import pytest
import sqlalchemy as sa

from portal.extensions import db
from portal.models import (
    Rating,
    ReportSnapshot,
    ReportSnapshotChange,
    ReportSnapshotCrossCell,
)
from portal.reports import queries, snapshots
from portal.templating import format_datetime
from tests import factories


@pytest.fixture
def rnd(app, plan):
    return factories.make_round("Open round")


@pytest.fixture
def a1(plan):
    return factories.objective("A1")


@pytest.fixture
def as_leader(client, login, leader):
    login(leader)
    return client


def _read(client, rnd, a1):
    """What a leader sees of A1: the drill-down page, then the loader it uses."""
    resp = client.get(f"/reports/objectives/A1?round={rnd.id}")
    assert resp.status_code == 200
    db.session.expire_all()
    return queries.load_counts(rnd.id, "", objective_id=a1.id).get((a1.id, ""))


def _segment(rnd, a1, dimension, value):
    return queries.load_counts(rnd.id, dimension, objective_id=a1.id).get((a1.id, value))


def _rate_all(members, rnd, obj, imp, perf):
    for m in members:
        factories.make_rating(m, obj, rnd, imp, perf, commit=False)
    db.session.commit()


def _distribution_csv(client, rnd) -> str:
    resp = client.get(f"/reports/export/objective-A1/distribution.csv?round={rnd.id}")
    assert resp.status_code == 200
    return resp.get_data(as_text=True)


def test_one_more_rating_does_not_move_the_figures_ten_more_do(as_leader, rnd, a1):
    _rate_all(factories.make_members(12, career_stage="mid"), rnd, a1, 4, 3)
    before = _read(as_leader, rnd, a1)
    assert before.rows == 12 and before.importance == {4: 12}
    page_before = _distribution_csv(as_leader, rnd)

    late = factories.make_members(10, career_stage="mid")
    _rate_all(late[:1], rnd, a1, 1, 1)
    after_one = _read(as_leader, rnd, a1)
    assert after_one == before                      # the one member is not given away
    assert _distribution_csv(as_leader, rnd) == page_before
    # The live summaries did take the rating: only the leadership view waits.
    assert queries.load_counts(rnd.id, "", "live", a1.id)[(a1.id, "")].rows == 13

    _rate_all(late[1:9], rnd, a1, 1, 1)
    assert _read(as_leader, rnd, a1) == before      # nine changed: still the old figures
    _rate_all(late[9:], rnd, a1, 1, 1)
    moved = _read(as_leader, rnd, a1)
    assert moved.rows == 22 and moved.importance == {4: 12, 1: 10}
    assert _distribution_csv(as_leader, rnd) != page_before


def test_a_segment_with_fewer_changes_keeps_its_old_figures_while_all_members_move(
        as_leader, rnd, a1):
    early = factories.make_members(12, career_stage="early")
    mid = factories.make_members(12, career_stage="mid")
    _rate_all(early + mid, rnd, a1, 5, 5)
    _read(as_leader, rnd, a1)
    early_before = _segment(rnd, a1, "career_stage", "early")
    assert early_before.importance == {5: 12}

    _rate_all(factories.make_members(10, career_stage="mid"), rnd, a1, 3, 3)
    for rating in db.session.scalars(sa.select(Rating).where(
            Rating.user_id.in_([m.id for m in early[:3]]))):
        rating.importance, rating.performance = 2, 2
    db.session.commit()

    total = _read(as_leader, rnd, a1)
    assert total.rows == 34 and total.importance == {5: 21, 3: 10, 2: 3}   # 13 changed
    assert _segment(rnd, a1, "career_stage", "mid").importance == {5: 12, 3: 10}
    # Three early-career members changed: their segment still shows the old figures.
    assert _segment(rnd, a1, "career_stage", "early") == early_before
    live = queries.load_counts(rnd.id, "career_stage", "live", a1.id)[(a1.id, "early")]
    assert live.importance == {5: 9, 2: 3}


def test_a_member_changing_a_rating_many_times_counts_once(as_leader, rnd, a1):
    members = factories.make_members(12, career_stage="mid")
    _rate_all(members, rnd, a1, 3, 3)
    before = _read(as_leader, rnd, a1)
    rating = db.session.scalar(sa.select(Rating).where(Rating.user_id == members[0].id))
    for i in range(12):
        rating.importance = 1 + i % 5
        db.session.commit()
        assert _read(as_leader, rnd, a1) == before, i
    rows = db.session.scalars(sa.select(ReportSnapshotChange.user_id).where(
        ReportSnapshotChange.dimension == "", ReportSnapshotChange.objective_id == a1.id)).all()
    assert rows == [members[0].id]                  # one row for the member, not twelve

    for m in members[1:9]:                          # eight more: nine distinct in all
        r = db.session.scalar(sa.select(Rating).where(Rating.user_id == m.id))
        r.importance = 5
    db.session.commit()
    assert _read(as_leader, rnd, a1) == before
    r = db.session.scalar(sa.select(Rating).where(Rating.user_id == members[9].id))
    r.importance = 5
    db.session.commit()                             # the tenth distinct member
    moved = _read(as_leader, rnd, a1)
    assert moved != before and moved.importance[5] >= 9


def test_closing_the_round_shows_the_final_live_figures(as_leader, rnd, a1):
    _rate_all(factories.make_members(12), rnd, a1, 4, 4)
    before = _read(as_leader, rnd, a1)
    _rate_all(factories.make_members(3), rnd, a1, 2, 2)
    assert _read(as_leader, rnd, a1) == before
    rnd.close()
    db.session.commit()
    final = _read(as_leader, rnd, a1)
    assert final.rows == 15 and final.importance == {4: 12, 2: 3}
    html = as_leader.get(f"/reports/priorities?round={rnd.id}").get_data(as_text=True)
    assert "Figures as of" not in html
    # The copies of a closed round (and the change rows naming members) are dropped.
    assert db.session.scalar(sa.select(sa.func.count()).select_from(ReportSnapshot)) == 0
    assert db.session.scalar(sa.select(sa.func.count()).select_from(ReportSnapshotChange)) == 0


def test_a_slice_below_the_threshold_has_no_snapshot_and_shows_no_figures(as_leader, rnd,
                                                                          a1):
    _rate_all(factories.make_members(5), rnd, a1, 4, 4)
    html = as_leader.get(f"/reports/objectives/A1?round={rnd.id}").get_data(as_text=True)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(ReportSnapshot)) == 0
    assert "No figures yet for this open round" in html
    counts = _read(as_leader, rnd, a1)
    # Below the threshold every figure is suppressed; the page only learns the group
    # exists (to keep hiding its complement), as before snapshots.
    assert counts is None or counts.rows < 10
    resp = as_leader.get(f"/reports/export/dashboard/priorities.csv?round={rnd.id}")
    a1_row = next(r for r in csv.reader(io.StringIO(resp.get_data(as_text=True)))
                  if r[0] == "A1")
    assert "fewer than 10" in a1_row


@pytest.mark.parametrize("path", ["/reports/?round={r}", "/reports/priorities?round={r}",
                                  "/reports/objectives/A1?round={r}",
                                  "/reports/segments?round={r}&dimension=career_stage",
                                  "/reports/segments?round={r}&dimension=career_stage&by=region",
                                  "/reports/charts?round={r}", "/reports/board?round={r}",
                                  "/reports/trends?round={r}&compare={c}"])
def test_the_pages_say_when_their_snapshot_was_taken(as_leader, rnd, a1, path):
    old = factories.make_past_round("Earlier", "closed", days_ago=400)
    members = factories.make_members(12, career_stage="mid", region="west")
    _rate_all(members, rnd, a1, 4, 4)
    _rate_all(members, old, a1, 3, 3)
    html = as_leader.get(path.format(r=rnd.id, c=old.id)).get_data(as_text=True)
    taken = db.session.scalar(sa.select(sa.func.min(ReportSnapshot.taken_at)))
    assert taken is not None
    assert f"Figures as of {format_datetime(taken)}" in html
    assert "they move forward once 10 more members have rated" in html


def test_crossed_cells_follow_the_rule_of_their_pair_of_values(as_leader, rnd, a1):
    _rate_all(factories.make_members(12, career_stage="early", region="west"), rnd, a1, 5, 4)
    as_leader.get(f"/reports/segments?round={rnd.id}&dimension=career_stage&by=region")
    before = queries.load_cross_counts(rnd.id, "career_stage", "region", "importance")
    assert before[(a1.id, "early", "west")] == {5: 12}
    assert db.session.scalar(sa.select(sa.func.count()).select_from(
        ReportSnapshotCrossCell)) > 0
    # Nine more in the same pair of values, and ten in another region of early career:
    # the early/west cell has not moved by ten, so it keeps its figures.
    _rate_all(factories.make_members(9, career_stage="early", region="west"), rnd, a1, 1, 1)
    _rate_all(factories.make_members(10, career_stage="early", region="south"), rnd, a1, 1, 1)
    as_leader.get(f"/reports/segments?round={rnd.id}&dimension=career_stage&by=region")
    after = queries.load_cross_counts(rnd.id, "career_stage", "region", "importance")
    assert after[(a1.id, "early", "west")] == {5: 12}
    assert after[(a1.id, "early", "south")] == {1: 10}
    assert _segment(rnd, a1, "career_stage", "early").rows == 31   # 19 changed


def test_the_job_is_one_read_when_nothing_changed(app, rnd, a1, query_counter):
    _rate_all(factories.make_members(12), rnd, a1, 4, 4)
    assert snapshots.advance_open_round() is True
    with query_counter() as statements:
        assert snapshots.advance_open_round() is False
    assert len(statements) == 1, statements


def test_the_command_advances_the_snapshots(runner, rnd, a1):
    _rate_all(factories.make_members(12), rnd, a1, 4, 4)
    result = runner.invoke(args=["reports", "snapshots"])
    assert result.exit_code == 0 and "Snapshots advanced." in result.output
    db.session.expire_all()
    assert queries.load_counts(rnd.id, "", objective_id=a1.id)[(a1.id, "")].rows == 12
    result = runner.invoke(args=["reports", "snapshots"])
    assert "nothing new" in result.output
