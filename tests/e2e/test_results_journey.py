"""Results published back to members: a leader publishes the open round early, a member
reads it ("Figures as of ...") and an older round whose small groups are protected:
each withheld figure reads "Not shown" with its reason, never a number. axe-core at
1280 and 375 px, reflow, and screenshots of the member results page at both widths."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
import sqlalchemy as sa

from portal.extensions import db
from portal.models import Action, FeedbackRound, User
from portal.timeutil import now_utc
from tests import factories
from tests.e2e.conftest import check_a11y, check_page, lookup, screenshot, sign_in, sign_out

ROUND = "Member feedback 2024"
OPEN_ROUND = "Member feedback 2026"


@pytest.fixture(scope="module")
def small_round(live_app):
    """A closed round from long ago (so no leadership page takes it as its default),
    rated by 16 demo members so that each disclosure rule shows (PRIVACY_MIN_N is 3):
    A1 has 2 raters; A2 is 9 to 1 on importance; A3 has one "don't know", which its
    number of raters would give away; A4 shows everything and has a published action."""

    def make():
        now = now_utc()
        rnd = FeedbackRound(name=ROUND, opens_at=now - timedelta(days=800),
                            closes_at=now - timedelta(days=770), status="draft")
        rnd.open(now - timedelta(days=800))
        rnd.close(now - timedelta(days=770))
        db.session.add(rnd)
        db.session.flush()
        users = list(db.session.scalars(sa.select(User).where(
            User.email.like("member0%@demo.example.org")).order_by(User.id).limit(16)))
        plan = {
            "A1": [(5, 4)] * 2,
            "A2": [(2, 3)] + [(5, 3)] * 9,
            "A3": [(v, v) for v in (1, 2, 3, 4, 5) for _ in range(3)] + [(0, 0)],
            "A4": [(5, 2)] * 6 + [(4, 2)] * 4,
        }
        for code, pairs in plan.items():
            obj = factories.objective(code)
            for user, (imp, perf) in zip(users, pairs, strict=False):
                factories.make_rating(user, obj, rnd, imp, perf, commit=False)
        leader = db.session.scalar(sa.select(User).where(User.email == "leader@example.org"))
        db.session.add(Action(objective_id=factories.objective("A4").id,
                              title="Hold listening sessions in every region",
                              due_on=date(2027, 6, 30), status="in_progress", progress=40,
                              finding_kind="shortfall", published=True,
                              owner_id=leader.id, created_by_id=leader.id))
        db.session.commit()
        return rnd.id

    def open_the_demo_round():
        """The journey publishes the demo's open round early. Another journey (the
        admin's) closes it and opens a round of its own; whatever ran before, the demo
        round is the open one here and the states come back afterwards."""
        rnd = db.session.scalar(sa.select(FeedbackRound).where(FeedbackRound.name == OPEN_ROUND))
        others = db.session.scalars(sa.select(FeedbackRound).where(
            FeedbackRound.status == "open", FeedbackRound.id != rnd.id)).all()
        before = (rnd.status, rnd.closed_at,
                  [(o.id, o.closed_at, o.results_release) for o in others])
        for other in others:   # closed for now, and kept from members
            other.status, other.closed_at = "closed", now_utc()
            other.results_release = "hidden"
        db.session.flush()
        rnd.status, rnd.closed_at = "open", None
        db.session.commit()
        return before

    round_id = lookup(live_app, make)
    before = lookup(live_app, open_the_demo_round)
    yield round_id

    def restore():   # the other journeys find the rounds as they left them
        rnd = db.session.scalar(sa.select(FeedbackRound).where(FeedbackRound.name == OPEN_ROUND))
        rnd.results_release, rnd.results_released_at = "on_close", None
        status, closed_at, others = before
        rnd.status, rnd.closed_at = status, closed_at
        db.session.flush()
        for other_id, other_closed, release in others:
            other = db.session.get(FeedbackRound, other_id)
            other.status, other.closed_at = "open", other_closed
            other.results_release = release
        db.session.commit()

    lookup(live_app, restore)


def _card(page, code: str):
    return page.locator(f"#obj-{code}")


def test_member_results_journey(page, small_round):
    # A leader publishes the open round's results early.
    sign_in(page, "leader@example.org")
    # Any leadership page carries the link; the methods page reads no figures, so the
    # journey does not wait on the summary's first solve (timed in test_page_types).
    page.goto(page.base + "/reports/methods")
    page.locator(".report-nav").get_by_role("link", name="Results for members").click()
    page.wait_for_load_state()
    check_page(page, "leader results-publishing", shots=True)
    section = page.locator("section.results-release", has_text=OPEN_ROUND)
    section.get_by_label("Now, while the round is open").check()
    section.get_by_role("button", name=f"Save for {OPEN_ROUND}").click()
    page.wait_for_load_state()
    assert "Published early on" in page.locator(".flashes").inner_text()
    sign_out(page)

    # A member reads it from the main navigation: the snapshot, with its date.
    sign_in(page, "member@example.org")
    page.locator(".site-nav").get_by_role("link", name="What members said").click()
    page.wait_for_load_state()
    assert OPEN_ROUND in page.locator("main").inner_text()
    assert "Figures as of" in page.locator("#results-as-of").inner_text()
    check_page(page, "member results-open", shots=True)

    # The older round, where the disclosure step protects small groups.
    page.get_by_role("navigation", name="Published rounds").get_by_role(
        "link", name=ROUND).click()
    page.wait_for_load_state()
    assert f"/results/{small_round}" in page.url
    assert "Final figures" in page.locator("#results-as-of").inner_text()
    a1, a2, a3, a4 = (_card(page, c).inner_text() for c in ("A1", "A2", "A3", "A4"))
    assert "No figures shown" in a1 and "Fewer than 3 members: too few to show" in a1
    assert "100%" not in a1                       # both raters said 4-5: never shown
    assert "Hidden: fewer than 3 on one side" in a2
    assert "90%" not in a2                        # 9 of 10 would tell the one
    assert "Withheld to protect a small group" in a3
    assert "16" not in a3.split("Rate it important")[0]   # the raters, withheld
    raters, important, doing_well, gap = _card(page, "A4").locator(
        ".results-figures dd").all_inner_texts()
    assert raters.strip() == "10"
    assert important.startswith("100%") and doing_well.startswith("0%")
    assert gap.startswith("−") or gap.startswith("-")
    assert "You said" in a4 and "not doing well enough" in a4
    assert "Hold listening sessions in every region" in a4 and "40% done" in a4
    check_page(page, "member results", shots=True)
    page.set_viewport_size({"width": 375, "height": 800})
    check_a11y(page, "member results at 375px")
    screenshot(page, "member-results-withheld-card")
    page.set_viewport_size({"width": 1280, "height": 900})

    # Each objective page links to what members said about it.
    page.goto(page.base + "/plan/objectives/A4")
    page.get_by_role("link", name="What members as a whole said about objective A4").click()
    page.wait_for_load_state()
    assert page.url.endswith("/results/#obj-A4")
    assert _card(page, "A4").is_visible()

    # An unknown round answers 404, as one members may not see does.
    assert page.goto(page.base + f"/results/{small_round + 1000}").status == 404
    check_a11y(page, "results not found")
