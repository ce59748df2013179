"""Results published back to members: per objective and per domain, the all-members
figures leadership sees (through the same disclosure step), the published action plans,
only for rounds leadership published; leaders choose, and every choice is audited."""

from __future__ import annotations

import re
from datetime import date, timedelta

import pytest
import sqlalchemy as sa

from portal.extensions import db
from portal.models import Action, AuditEvent, FeedbackRound
from portal.reports import dashboard
from portal.results import queries
from portal.timeutil import now_utc
from tests import factories

HIST_DONT_KNOW = {1: 10, 2: 10, 3: 10, 4: 10, 5: 10, 0: 4}   # raters minus answers = 4


def _rate(users, code, rnd, importance, performance):
    obj = factories.objective(code)
    for user, imp, perf in zip(users, importance, performance, strict=True):
        factories.make_rating(user, obj, rnd, imp, perf, commit=False)


def _expand(hist):
    return [v for v, n in hist.items() for _ in range(n)]


@pytest.fixture
def closed_round(app, plan):
    """A closed round whose figures hit each rule of the disclosure step:
    A1 has 4 "don't know" answers, so its number of raters would give them away;
    A2 is 30 to 1 on importance, so its share would tell the one; A3 has 5 raters;
    A4 shows everything."""
    rnd = factories.make_past_round("Spring 2026", status="open")
    members = factories.make_members(54)
    a1 = _expand(HIST_DONT_KNOW)
    _rate(members, "A1", rnd, a1, a1)
    _rate(members[:31], "A2", rnd, [2] + [5] * 30, [3] * 31)
    _rate(members[:5], "A3", rnd, [5] * 5, [4] * 5)
    _rate(members[:30], "A4", rnd, [5] * 20 + [4] * 10, [4] * 15 + [2] * 15)
    db.session.commit()
    rnd.close()
    db.session.commit()
    return rnd


def _page(client, url="/results/") -> str:
    resp = client.get(url)
    assert resp.status_code == 200, resp.status_code
    return resp.get_data(as_text=True)


def _card(page: str, code: str) -> str:
    m = re.search(rf'<li class="card results-objective" id="obj-{code}">(.*?)</li>\s*'
                  r'(?=<li class="card|</ol>)', page, re.S)
    assert m, f"no card for {code}"
    return m.group(1)


def _release(client, rnd, choice, token=None):
    prefix = f"round-{rnd.id}"
    token = client.csrf_token() if token is None else token
    return client.post(f"/results/publishing/{rnd.id}", data={
        f"{prefix}-csrf_token": token, f"{prefix}-release": choice})


# ---------------------------------------------------------------------------
# What members see


def test_a_member_sees_the_closed_rounds_all_members_figures(client, login, member,
                                                             closed_round):
    login(member)
    page = _page(client)
    assert "Spring 2026" in page and "Final figures" in page
    a4 = _card(page, "A4")
    assert '<strong class="figure">30</strong>' in a4          # raters
    assert '<strong class="figure">100%</strong>' in a4        # 30 of 30 rate it 4-5
    assert '<strong class="figure">50%</strong>' in a4         # 15 of 30 doing well
    assert "Members rate how well we are doing below how much it matters" in a4
    assert "Domain A." in page and "rate them important" in page
    # All members only: no segment appears anywhere on the page.
    for word in ("Career stage", "Library type", "Region", "segment"):
        assert word not in page


def test_figures_withheld_for_leaders_are_withheld_for_members(app, client, login, member,
                                                               closed_round):
    """Cell by cell against the leadership dashboard: what it hides, members never see
    as a number, and they read the same reason."""
    with app.test_request_context():
        dash = dashboard.build(closed_round)
        results = queries.build(closed_round)
    leader_cells = {row["code"].text: row for row in dash.tables["priorities"].rows}
    member_rows = {o.objective.code: o for d in results.domains for o in d.objectives}
    withheld = 0
    for code in ("A1", "A2", "A3", "A4"):
        lead, mine = leader_cells[code], member_rows[code]
        for key, fig in (("raters", mine.raters), ("imp_high", mine.imp_high),
                         ("perf_high", mine.perf_high), ("gap", mine.gap)):
            cell = lead[key]
            assert fig.withheld == cell.suppressed, (code, key)
            if cell.suppressed:
                withheld += 1
                assert fig.text == "Not shown"
                assert fig.reason.lower().startswith(cell.text.lower()), (code, key)
            else:
                assert fig.text == cell.text, (code, key)
    assert withheld >= 5
    assert member_rows["A1"].raters.withheld
    assert member_rows["A2"].imp_high.withheld and not member_rows["A2"].perf_high.withheld
    assert all(f.withheld for f in (member_rows["A3"].raters, member_rows["A3"].imp_high))

    login(member)
    page = _page(client)
    a1, a2, a3 = _card(page, "A1"), _card(page, "A2"), _card(page, "A3")
    assert "Withheld to protect a small group: with the figures beside it" in a1
    assert '<strong class="figure">54</strong>' not in a1
    assert "Hidden: fewer than 10 on one side" in a2
    assert "97%" not in a2 and "96.8" not in a2                 # 30 of 31
    assert "Fewer than 10 members: too few to show" in a3
    assert '<strong class="figure">5</strong>' not in a3 and "100%" not in a3


def test_published_actions_read_you_said_we_are_doing_progress(client, login, member, leader,
                                                                closed_round):
    obj = factories.objective("A4")
    for title, published, status in (("Run a listening tour", True, "in_progress"),
                                     ("Internal budget review", False, "planned"),
                                     ("An abandoned idea", True, "dropped")):
        db.session.add(Action(objective_id=obj.id, title=title, due_on=date(2027, 3, 31),
                              status=status, progress=40, finding_kind="shortfall",
                              finding_note="Leaders' own note", published=published,
                              owner_id=leader.id, created_by_id=leader.id))
    db.session.commit()
    login(member)
    a4 = _card(_page(client), "A4")
    assert "You said" in a4 and "we are not doing well enough on it" in a4
    assert "We are doing" in a4 and "Run a listening tour" in a4
    assert "In progress · 40% done · due" in a4 and "31 March 2027" in a4
    assert "Internal budget review" not in a4 and "An abandoned idea" not in a4
    assert "Leaders' own note" not in a4
    assert "has not published an action" in _card(_page(client), "A1")


@pytest.mark.parametrize("status, release", [
    ("draft", "on_close"), ("draft", "hidden"),
    ("open", "on_close"), ("open", "hidden"), ("closed", "hidden")])
def test_rounds_members_may_not_see_answer_404(client, login, member, plan, status, release):
    if status == "draft":   # a draft due to open would open on the first request
        start = now_utc() + timedelta(days=30)
        rnd = factories.make_round(status="draft", opens_at=start,
                                   closes_at=start + timedelta(days=30))
    else:
        rnd = factories.make_past_round(status=status)
    rnd.results_release = release
    db.session.commit()
    login(member)
    assert client.get(f"/results/{rnd.id}").status_code == 404
    assert "No results have been published yet" in _page(client)
    db.session.refresh(rnd)
    assert rnd.status == status


def test_a_closed_round_is_published_by_default_and_unknown_ids_are_404(client, login,
                                                                        member, plan):
    rnd = factories.make_past_round(status="closed")
    login(member)
    assert client.get(f"/results/{rnd.id}").status_code == 200
    assert client.get(f"/results/{rnd.id + 100}").status_code == 404


def test_visitors_sign_in_first(client, closed_round):
    resp = client.get("/results/")
    assert resp.status_code == 302 and "/auth/login" in resp.location


def test_home_nav_and_objective_pages_link_to_the_results(client, login, member, plan):
    login(member)
    home = _page(client, "/")
    assert 'href="/results/"' in home
    objective = _page(client, "/plan/objectives/A2")
    assert 'href="/results/#obj-A2"' in objective


def test_an_open_round_published_early_shows_the_leadership_snapshot(client, login, member,
                                                                      leader, plan):
    rnd = factories.make_past_round("Autumn", status="open")
    members = factories.make_members(15)
    _rate(members[:12], "A1", rnd, [5] * 12, [4] * 12)
    db.session.commit()
    login(leader)
    assert _release(client, rnd, "now").status_code == 302
    login(member)
    page = _page(client)
    assert "still open" in page and "Figures as of" in page
    assert '<strong class="figure">12</strong>' in _card(page, "A1")
    # Three more ratings: fewer than the threshold, so the figures stay where they were
    # (reading before and after would otherwise tell those three members' ratings).
    _rate(members[12:], "A1", rnd, [1] * 3, [1] * 3)
    db.session.commit()
    again = _card(_page(client, f"/results/{rnd.id}"), "A1")
    assert '<strong class="figure">12</strong>' in again
    assert '<strong class="figure">15</strong>' not in again


# ---------------------------------------------------------------------------
# What leaders choose


def test_a_leader_publishes_early_and_it_is_audited(client, login, leader, plan):
    rnd = factories.make_past_round("Autumn", status="open")
    login(leader)
    assert "When members see this round" in _page(client, "/results/publishing")
    resp = _release(client, rnd, "now")
    assert resp.status_code == 302 and resp.location.endswith("/results/publishing")
    assert "Saved for &#39;Autumn&#39;. Published early on" in _page(client, resp.location)
    db.session.refresh(rnd)
    assert rnd.results_release == "now" and rnd.results_released_at is not None
    event = db.session.scalar(sa.select(AuditEvent).where(
        AuditEvent.action == "round.results_release"))
    assert event.actor_id == leader.id and event.target_id == str(rnd.id)
    assert '"before": "on_close"' in event.detail and '"release": "now"' in event.detail
    # Keeping them back again hides the round from members at once.
    assert _release(client, rnd, "hidden").status_code == 302
    db.session.refresh(rnd)
    assert rnd.results_release == "hidden" and rnd.results_released_at is None
    assert client.get(f"/results/{rnd.id}").status_code == 404
    assert db.session.scalar(sa.select(sa.func.count()).select_from(AuditEvent).where(
        AuditEvent.action == "round.results_release")) == 2


def test_publishing_a_draft_round_now_is_refused(client, login, admin, plan):
    start = now_utc() + timedelta(days=30)
    rnd = factories.make_round("Next year", status="draft", opens_at=start,
                               closes_at=start + timedelta(days=30))
    login(admin)
    resp = _release(client, rnd, "now")
    assert resp.status_code == 409
    assert "has not opened yet" in resp.get_data(as_text=True)
    db.session.refresh(rnd)
    assert rnd.results_release == "on_close"
    assert db.session.scalar(sa.select(sa.func.count()).select_from(AuditEvent).where(
        AuditEvent.action == "round.results_release")) == 0


def test_an_unknown_choice_is_a_400_and_an_unknown_round_a_404(client, login, leader, plan):
    rnd = factories.make_past_round(status="closed")
    login(leader)
    resp = _release(client, rnd, "tomorrow")
    assert resp.status_code == 400
    assert "Select one of the options" in resp.get_data(as_text=True)
    assert _release(client, rnd, "now", token="").status_code == 400
    assert db.session.get(FeedbackRound, rnd.id).results_release == "on_close"
    assert _release(client, type("R", (), {"id": rnd.id + 50})(), "now").status_code == 404


def test_a_closed_round_is_shown_or_kept_back(client, login, leader, plan):
    rnd = factories.make_past_round("Old", status="closed")
    login(leader)
    page = _page(client, "/results/publishing")
    assert "Published: the round has closed." in page and "Keep them from members" in page
    assert (f'<input id="round-{rnd.id}-release-1" name="round-{rnd.id}-release" required '
            'type="radio" value="hidden">') in page
    assert 'value="now"' not in page
    assert _release(client, rnd, "now").status_code == 400    # only for open rounds
    assert _release(client, rnd, "hidden").status_code == 302
    db.session.refresh(rnd)
    assert rnd.results_release == "hidden"


def test_members_cannot_choose(client, login, member, plan):
    rnd = factories.make_past_round(status="open")
    login(member)
    assert client.get("/results/publishing").status_code == 403
    assert _release(client, rnd, "now").status_code == 403
    db.session.refresh(rnd)
    assert rnd.results_release == "on_close"


def test_the_page_costs_the_same_queries_whatever_the_actions(client, login, member, leader,
                                                              closed_round, query_counter):
    login(member)
    _page(client)                                   # warm up (session, caches)
    with query_counter() as few:
        _page(client)
    for code in ("A1", "A2", "A3", "A4", "B1", "C2"):
        for i in range(3):
            db.session.add(Action(objective_id=factories.objective(code).id,
                                  title=f"Action {i} on {code}", due_on=date(2027, 1, 1),
                                  status="planned", published=True, owner_id=leader.id))
    db.session.commit()
    with query_counter() as many:
        page = _page(client)
    assert "Action 2 on C2" in page
    assert len(many) == len(few), many
