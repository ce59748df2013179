"""One eligible base everywhere (issue 16, point 8): the roster when imported, verified
member accounts otherwise (staff left out); no rate above 100% or over a zero base."""

from __future__ import annotations

import io

import pytest
import sqlalchemy as sa
from hypothesis import given
from hypothesis import strategies as st

from portal import stats
from portal.extensions import db
from portal.models import RosterEntry
from portal.reports import participation, queries
from tests import factories


@pytest.fixture
def rated(app, plan, leader):
    objs = queries.report_objectives([])
    rnd = factories.make_past_round("Spring 2026", "closed", days_ago=30)
    members = factories.make_members(30, career_stage="early") + factories.make_members(
        20, career_stage="senior")
    factories.make_user(role="admin")
    for u in members[:40]:
        factories.make_rating(u, objs[0], rnd, 4, 3, commit=False)
    db.session.commit()
    return {"round": rnd, "members": members, "objs": objs}


def _upload(client, text: str, **extra):
    return client.post_form("/admin/registration/roster",
                            {"file": (io.BytesIO(text.encode()), "roster.csv"), **extra},
                            content_type="multipart/form-data")


def _roster(n: int, start: int = 0) -> str:
    lines = ["member_id,email,membership_type,career_stage"]
    lines += [f"R{i},r{i}@example.org,regular,{'early' if i % 2 else 'senior'}"
              for i in range(start, start + n)]
    return "\n".join(lines) + "\n"


def test_staff_accounts_are_not_eligible(client, rated, leader, login):
    overall, _ = participation.participation(rated["round"].id, "raw")
    assert overall.eligible == 50 and overall.raters == 40       # not the leader or admin
    live, _ = participation.participation(rated["round"].id, "live")
    assert (live.eligible, live.raters) == (50, 40)
    login(leader)
    html = client.get(f"/reports/priorities?round={rated['round'].id}").get_data(as_text=True)
    assert "leaders&#39; and admins&#39; accounts left out" in html
    summary = client.get(f"/reports/?round={rated['round'].id}").get_data(as_text=True)
    assert "40 of 50 eligible members (80%)" in summary


def test_a_leader_who_becomes_a_member_joins_the_base(app, rated, leader):
    leader.role = "member"
    db.session.commit()
    overall, _ = participation.participation(rated["round"].id, "live")
    assert overall.eligible == 51
    leader.role = "leader"
    db.session.commit()
    overall, _ = participation.participation(rated["round"].id, "live")
    assert overall.eligible == 50


def test_the_roster_is_the_base_once_imported(client, rated, admin, login):
    login(admin)
    assert _upload(client, _roster(60)).status_code == 302
    with client.application.test_request_context():
        overall, by_dim = participation.participation(rated["round"].id, "live")
    assert (overall.eligible, overall.raters) == (60, 40)
    assert overall.rate == pytest.approx(40 / 60)
    career = {p.label: p for p in by_dim["career_stage"]}
    assert career["Early career (0–5 years)"].eligible == 30
    # Dimensions the roster does not record get no rate rather than one above 100%.
    for p in by_dim["region"]:
        assert p.rate is None or p.rate <= 1
    html = client.get(f"/reports/?round={rated['round'].id}").get_data(as_text=True)
    assert "40 of 60 eligible members (67%)" in html
    assert "the members on the imported roster" in html


def test_a_roster_smaller_than_the_raters_is_refused(client, rated, admin, login):
    login(admin)
    resp = _upload(client, _roster(12))
    html = resp.get_data(as_text=True)
    assert resp.status_code == 400
    assert "the file lists 12 members, but 40 members rated objectives in one feedback " \
           "round" in html
    assert db.session.scalar(sa.select(sa.func.count()).select_from(RosterEntry)) == 0


def test_replacing_the_roster_is_confirmed_and_never_shrinks_below_raters(client, rated,
                                                                            admin, login):
    login(admin)
    assert _upload(client, _roster(60)).status_code == 302
    resp = _upload(client, _roster(3))
    assert resp.status_code == 400 and "a roster must list at least 40" in resp.get_data(
        as_text=True)
    resp = _upload(client, _roster(50, start=20))
    html = resp.get_data(as_text=True)
    assert resp.status_code == 200 and "Replace the roster?" in html
    assert "10 would be added, 20 removed and" in html
    assert db.session.scalar(sa.select(sa.func.count()).select_from(RosterEntry)) == 60
    resp = client.post_form("/admin/registration/roster",
                            {"pending": _roster(50, start=20), "confirm": "y"})
    assert resp.status_code == 302
    assert db.session.scalar(sa.select(sa.func.count()).select_from(RosterEntry)) == 50


@given(st.one_of(st.none(), st.integers(-5, 10_000)), st.one_of(st.none(),
                                                                 st.integers(-5, 10_000)))
def test_no_rate_above_100_percent_or_over_a_zero_base(raters, eligible):
    rate = participation._rate(raters, eligible)
    if rate is not None:
        assert eligible > 0 and 0 <= rate <= 1
    pct = stats.percent(raters, eligible or 0)
    if pct is not None:
        assert 0 <= pct <= 100
