"""A share is two counts: "97% of 31" tells that one member answered otherwise.

When either side of a share (k or n - k) is a group of 1 to PRIVACY_MIN_N - 1 people,
the share is hidden wherever it would appear: dashboard, drill-down, heatmap, charts,
trends and exports, while the distribution table's own suppressed cells stay hidden.
"""

from __future__ import annotations

import pytest

from portal.reports import heatmap, snapshots
from tests import factories

HIDDEN = "hidden: fewer than 10 on one side"


@pytest.fixture
def lopsided(app, plan):
    """31 members: on A1 thirty rate importance 5 and one rates 2; on A2 a 20/11 split."""
    rnd = factories.make_round("Spring", status="open")
    members = factories.make_members(31, career_stage="mid")
    a1, a2 = factories.objective("A1"), factories.objective("A2")
    for i, user in enumerate(members):
        factories.make_rating(user, a1, rnd, 2 if i == 0 else 5, 3, commit=False)
        factories.make_rating(user, a2, rnd, 5 if i < 20 else 2, 3, commit=False)
    from portal.extensions import db
    db.session.commit()
    return rnd


def test_the_drilldown_hides_a_share_whose_other_side_is_one_member(client, lopsided, leader,
                                                                     login):
    login(leader)
    page = client.get("/reports/objectives/A1").get_data(as_text=True)
    assert HIDDEN in page
    assert "97%" not in page  # 30 of 31
    balanced = client.get("/reports/objectives/A2").get_data(as_text=True)
    assert "65%" in balanced  # 20 of 31: both sides are large enough
    assert HIDDEN not in balanced.split("Answers for")[0]


def test_dashboard_charts_and_export_leave_the_share_out(client, lopsided, leader, login):
    login(leader)
    dash = client.get("/reports/priorities").get_data(as_text=True)
    assert "97% rate it" not in dash and HIDDEN in dash
    charts = client.get("/reports/charts").get_data(as_text=True)
    assert "97%" not in charts and "96.8" not in charts
    export = client.get("/reports/export/dashboard/priorities.csv").get_data(as_text=True)
    assert "96.8" not in export and HIDDEN in export
    assert "64.5" in export  # A2's 20 of 31 is still there


def test_heatmap_cells_hide_lopsided_shares(app, lopsided):
    snapshots.advance_open_round()     # what the leadership request would do first
    hm = heatmap.build(lopsided, "career_stage")
    by_code = {obj.code: (total, cells) for obj, total, cells in hm.rows}
    total, cells = by_code["A1"]
    assert total is None
    assert cells[("mid",)].split_hidden and cells[("mid",)].value is None
    total, cells = by_code["A2"]
    assert total == pytest.approx(20 / 31)
    assert cells[("mid",)].value == pytest.approx(20 / 31)
