"""The leaders' comment explorer, attacked as a careful leader would.

Comments are public (members read them with names), so without a segment filter the
explorer lists them however few. A segment filter says who wrote what: its answers
must not be an oracle ("none" and "a few" alike), must not be differenced against
the unfiltered parent, and must never name a count or list texts it withholds.
"""

from __future__ import annotations

import csv
import io
import re

import pytest
from flask import g

from portal import segments
from portal.extensions import db
from portal.models import Comment
from portal.reports import comments as report_comments
from tests import factories

LONE = "LONESECRET the south branch needs a bookmobile for events"
REGIONS = [f"region:{code}" for code in segments.BY_KEY["region"].codes] + ["region:-"]


@pytest.fixture
def world(app, plan):
    """25 West members write about events; one member, name hidden, writes LONE."""
    rnd = factories.make_round("Spring")
    a1 = factories.objective("A1")
    west = factories.make_members(25, region="west", career_stage="early")
    for i, u in enumerate(west):
        factories.make_raw_comment(a1, rnd, f"West note {i} about events", user=u,
                                   region="west", career_stage="early", commit=False)
    lone = factories.make_members(1, region="south", career_stage="early")[0]
    lone_comment = factories.make_raw_comment(a1, rnd, LONE, user=lone, region="south",
                                              career_stage="early")
    lone_comment.show_name = False
    db.session.commit()
    return {"round": rnd, "a1": a1, "west": west, "lone": lone, "comment": lone_comment}


@pytest.fixture
def leader_client(client, login, leader):
    g.pop("csrf_token", None)
    login(leader)
    client.get("/reports/")  # shows (and so clears) the welcome flash
    return client


def _normal(body: str) -> str:
    """The page without what differs between any two requests (the CSRF token) and
    without which option the filter form marks as chosen."""
    body = re.sub(r'name="csrf_token" value="[^"]*"', 'name="csrf_token"', body)
    return re.sub(r'\sselected(="selected")?', "", body)


def _move_lone(world, region: str | None) -> None:
    world["comment"].region = region
    db.session.commit()


def _answer(client, url: str) -> tuple[int, str, str]:
    resp = client.get(url)
    return resp.status_code, resp.mimetype, _normal(resp.get_data(as_text=True))


def _refused(body: str) -> bool:
    return 'id="comments-suppressed"' in body and 'id="result-count"' not in body


# ---------------------------------------------------------------------------
# 1. Public anyway


def test_public_comments_are_listed_however_few_with_the_names_members_see(
        app, plan, leader_client):
    rnd = factories.make_round("Autumn")
    a1 = factories.objective("A1")
    named = factories.make_members(1, region="south")[0]
    shy = factories.make_members(1, region="south")[0]
    factories.make_raw_comment(a1, rnd, "Named remark on outreach", user=named, region="south")
    hidden_name = factories.make_raw_comment(a1, rnd, "Shy remark on outreach", user=shy,
                                             region="south")
    hidden_name.show_name = False
    factories.make_raw_comment(a1, rnd, "Former member remark on outreach", user=None)
    for status in ("hidden", "pending_review", "deleted"):
        factories.make_raw_comment(a1, rnd, f"Moderated {status} remark", user=named,
                                   status=status)
    db.session.commit()

    resp = leader_client.get(f"/reports/comments?objective={a1.id}")
    html = resp.get_data(as_text=True)
    assert resp.status_code == 200
    assert "3 comments match" in html and not _refused(html)
    for text in ("Named remark", "Shy remark", "Former member remark"):
        assert text in html
    assert "Moderated" not in html
    assert named.display_name in html                  # as members see it
    assert shy.display_name not in html                # the author hid it from members
    assert html.count("<strong>A member</strong>") == 2  # the shy one and the former member

    rows = list(csv.reader(io.StringIO(
        leader_client.get(f"/reports/comments.csv?objective={a1.id}").get_data(as_text=True))))
    assert len(rows) == 4 and not any("Moderated" in r[-1] for r in rows)
    assert not any(named.display_name in cell for r in rows for cell in r)

    # The drill-down's summary is public too when it is not filtered by segment.
    drill = leader_client.get(f"/reports/objectives/A1?round={rnd.id}").get_data(as_text=True)
    assert "3 visible comments and replies" in drill


def test_a_phrase_alone_lists_the_single_public_comment(world, leader_client):
    html = leader_client.get("/reports/comments?keyword=LONESECRET").get_data(as_text=True)
    assert "1 comment matches." in html and "bookmobile" in html
    assert "<strong>A member</strong>" in html and world["lone"].display_name not in html


def test_nothing_matching_without_a_segment_filter_says_so(world, leader_client):
    html = leader_client.get("/reports/comments?keyword=zeppelin").get_data(as_text=True)
    assert "No comments match these filters." in html and not _refused(html)


# ---------------------------------------------------------------------------
# 2. No oracles


@pytest.mark.parametrize("query", ["segment=region:south&keyword=LONESECRET",
                                   "segment=region:south", "segment=region:south&keyword=a",
                                   "segment=region:south&keyword=south"])
def test_none_and_few_give_the_same_answer_page_and_csv(world, leader_client, query):
    few_page = _answer(leader_client, f"/reports/comments?{query}")
    few_csv = _answer(leader_client, f"/reports/comments.csv?{query}")
    _move_lone(world, "northeast")
    none_page = _answer(leader_client, f"/reports/comments?{query}")
    none_csv = _answer(leader_client, f"/reports/comments.csv?{query}")
    assert few_page == none_page
    assert few_csv == none_csv
    assert few_page[0] == 200 and _refused(few_page[2])
    assert few_csv[0] == 404 and "segment filter" in few_csv[2]
    for body in (few_page[2], few_csv[2]):
        assert "bookmobile" not in body.replace(query, "")
        assert not re.search(r"\b\d+ comments? match", body)
        assert "No comments match" not in body and "Fewer than" not in body


def test_nineteen_and_none_give_the_same_answer(app, plan, leader_client):
    rnd = factories.make_round()
    a1 = factories.objective("A1")
    people = factories.make_members(19, region="south")
    made = [factories.make_raw_comment(a1, rnd, f"South note {i}", user=u, region="south",
                                       commit=False) for i, u in enumerate(people)]
    db.session.commit()
    few = _answer(leader_client, "/reports/comments?segment=region:south")
    for c in made:
        c.region = "west"
    db.session.commit()
    assert few == _answer(leader_client, "/reports/comments?segment=region:south")
    assert _refused(few[2])


def test_the_segment_profile_attack_learns_nothing(world, leader_client):
    """The careful leader's attack: the lone comment reads "A member"; filtering by
    every value of its segment together with its phrase must answer the same way."""
    public = leader_client.get("/reports/comments?keyword=LONESECRET").get_data(as_text=True)
    assert "bookmobile" in public and "<strong>A member</strong>" in public
    answers = {v: _answer(leader_client, f"/reports/comments?segment={v}&keyword=LONESECRET")
               for v in REGIONS}
    assert len(set(answers.values())) == 1, "the answers tell the author's region apart"
    assert _refused(answers["region:south"][2])
    csvs = {_answer(leader_client, f"/reports/comments.csv?segment={v}&keyword=LONESECRET")
            for v in REGIONS}
    assert len(csvs) == 1
    # And through the objective drill-down's comment summary.
    notices = set()
    for code in segments.BY_KEY["region"].codes:
        html = leader_client.get(f"/reports/objectives/A1?dimension=region&value={code}"
                                 ).get_data(as_text=True)
        notices.add(re.search(r'id="comments-suppressed">(.*?)</p>', html, re.S).group(1))
    assert len(notices) == 1 and "fewer than 20" in notices.pop()


def test_summaries_of_none_and_few_are_equal(world):
    flt = report_comments.CommentFilter(round_id=world["round"].id, dimension="region",
                                        value="south")
    few = report_comments.summarise(flt)
    _move_lone(world, None)
    none = report_comments.summarise(flt)
    assert few == none and few.withheld and few.total == 0
    assert few.total_display == none.total_display


# ---------------------------------------------------------------------------
# 3. No differencing


def test_differencing_against_the_parent_is_refused(world, leader_client):
    """West (25) is big enough alone, but everyone minus West is the lone member."""
    parent = leader_client.get("/reports/comments?keyword=events").get_data(as_text=True)
    assert "26 comments match" in parent
    for query in ("segment=region:west&keyword=events", "segment=region:west",
                  "segment=career_stage:early&keyword=LONESECRET"):
        html = leader_client.get(f"/reports/comments?{query}").get_data(as_text=True)
        assert _refused(html), query
        assert "25 comments" not in html and "West note" not in html, query
        assert leader_client.get(f"/reports/comments.csv?{query}").status_code == 404, query
    drill = leader_client.get("/reports/objectives/A1?dimension=region&value=west"
                              ).get_data(as_text=True)
    assert 'id="comments-suppressed"' in drill and "Main themes" not in drill


def test_several_allowed_segments_cannot_single_out_a_withheld_one(world, leader_client):
    """With West and East both large, listing every allowed value and subtracting them
    from the public list must leave none or at least 20 comments, never the lone one."""
    a1, rnd = world["a1"], world["round"]
    for i, u in enumerate(factories.make_members(25, region="northeast")):
        factories.make_raw_comment(a1, rnd, f"Northeast note {i} about events", user=u,
                                   region="northeast", commit=False)
    db.session.commit()
    listed: set[str] = set()
    allowed = 0
    for value in REGIONS:
        resp = leader_client.get(f"/reports/comments?segment={value}&keyword=events")
        html = resp.get_data(as_text=True)
        assert resp.status_code == 200
        if not _refused(html):
            allowed += 1
            assert "25 comments match" in html
            listed |= set(re.findall(r"<blockquote>(.*?)</blockquote>", html))
    assert allowed == 1                       # one of the two large ones stays withheld
    left_over = 51 - len(listed)
    assert left_over >= 20
    assert LONE not in listed


def test_an_allowed_segment_shows_its_count_and_texts_without_names(world, leader_client):
    a1, rnd = world["a1"], world["round"]
    _move_lone(world, "west")                 # now everyone is West: the complement is 0
    html = leader_client.get("/reports/comments?segment=region:west").get_data(as_text=True)
    assert "26 comments match" in html and "West note 24" in html and "bookmobile" in html
    assert "<strong>" not in html.split('id="result-count"')[1].split("</ol>")[0]
    assert world["west"][0].display_name not in html
    for i, u in enumerate(factories.make_members(20, region="northeast")):
        factories.make_raw_comment(a1, rnd, f"Northeast note {i}", user=u, region="northeast",
                                   commit=False)
    db.session.commit()
    both = leader_client.get("/reports/comments?segment=region:west").get_data(as_text=True)
    assert "26 comments match" in both
    resp = leader_client.get("/reports/comments.csv?segment=region:northeast")
    assert resp.status_code == 200 and len(resp.get_data(as_text=True).splitlines()) == 21


def test_twenty_comments_by_one_author_are_still_a_small_group(app, plan, leader_client):
    rnd = factories.make_round()
    a1 = factories.objective("A1")
    prolific = factories.make_members(1, region="south")[0]
    for i in range(25):
        factories.make_raw_comment(a1, rnd, f"Prolific note {i}", user=prolific,
                                   region="south", commit=False)
    db.session.commit()
    html = leader_client.get("/reports/comments?segment=region:south").get_data(as_text=True)
    assert _refused(html) and "Prolific note" not in html
    public = leader_client.get("/reports/comments").get_data(as_text=True)
    assert "25 comments match" in public


# ---------------------------------------------------------------------------
# 4. Unknown filters


@pytest.mark.parametrize("query", ["segment=region:mars", "segment=shoe_size:9",
                                   "segment=region", "segment=region:",
                                   "segment=shoe_size:-&keyword=LONESECRET"])
def test_unknown_filter_values_are_404(world, leader_client, query):
    assert leader_client.get(f"/reports/comments?{query}").status_code == 404
    assert leader_client.get(f"/reports/comments.csv?{query}").status_code == 404


@pytest.mark.parametrize("query", ["segment=region:south&keyword=%25",
                                   "segment=region:south&keyword=_&page=99999",
                                   "segment=region:-&keyword=LONESECRET",
                                   "segment=membership_type:-&keyword=LONESECRET&page=2"])
def test_isolating_requests_get_the_reason_not_a_figure(world, leader_client, query):
    resp = leader_client.get(f"/reports/comments?{query}")
    html = resp.get_data(as_text=True)
    assert resp.status_code == 200 and _refused(html)
    assert "Remove the segment filter" in html
    assert not re.search(r"\b\d+ comments? match", html) and "Page 1 of" not in html


def test_no_count_of_a_refused_selection_reaches_the_summary(world):
    flt = report_comments.CommentFilter(dimension="region", value="south", keyword="LONE")
    decision = report_comments.decide(flt)
    assert not decision.allowed and decision.total == 0 and decision.reason
    page = report_comments.search(flt)
    assert page.withheld and page.total == 0 and page.items == []
    assert report_comments.export_csv(flt) is None
    assert db.session.get(Comment, world["comment"].id).region == "south"
