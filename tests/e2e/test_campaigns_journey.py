"""An admin's campaign: the form with bad input, the preview, a campaign to one segment
of the verified members, its status page and the job queue; then a member follows the
personal link. axe-core, reflow and screenshots at 1280 and 375 px on each page."""

from __future__ import annotations

import re
from datetime import timedelta

import sqlalchemy as sa

from portal.extensions import db
from portal.mail import outbox
from portal.models import Campaign, Survey
from portal.timeutil import now_utc
from tests.e2e.conftest import check_page, lookup, sign_in, sign_out
from tests.e2e.keyboard import focused_id


def _submit(page, name: str) -> None:
    with page.expect_navigation():
        page.get_by_role("button", name=name, exact=True).click()
    page.wait_for_load_state("load")


def test_admin_sends_a_campaign_and_a_member_follows_the_link(page, live_app):
    sign_in(page, "admin@example.org")
    page.goto(page.base + "/admin/campaigns")
    check_page(page, "admin campaigns", shots=True)
    page.get_by_role("link", name="New campaign").click()
    page.wait_for_load_state("load")
    check_page(page, "admin campaign new", shots=True)
    survey_id = lookup(live_app, lambda: db.session.scalar(
        sa.select(Survey.id).where(Survey.status == "open")))
    page.get_by_label("Survey", exact=True).select_option(str(survey_id))
    page.get_by_label("Message", exact=True).fill("Hello {nmae}, answer here: {link}")
    page.get_by_label("Send at (UTC; empty: now)").fill(
        (now_utc() - timedelta(days=2)).strftime("%Y-%m-%dT%H:%M"))
    page.get_by_label("Stop date (UTC)").fill(
        (now_utc() + timedelta(days=3)).strftime("%Y-%m-%dT%H:%M"))
    _submit(page, "Create campaign")
    assert focused_id(page) == "error-summary"
    summary = page.locator("#error-summary").inner_text()
    assert "Unknown placeholder {nmae}" in summary and "in the past" in summary
    assert "after the stop date" in summary  # 2 reminders 7 days apart do not fit
    check_page(page, "admin campaign new errors", shots=True)
    assert lookup(live_app, lambda: db.session.scalar(
        sa.select(sa.func.count()).select_from(Campaign))) == 0
    page.get_by_label("Message", exact=True).fill("Hello {name}, answer here: {link}")
    page.get_by_label("Send at (UTC; empty: now)").fill("")
    page.get_by_label("Number of reminders").fill("1")
    page.get_by_label("Days between reminders (at least)").fill("1")
    page.get_by_label("Members with an account and a confirmed address").check()
    page.get_by_label("Career stage").select_option("mid")
    _submit(page, "Preview")
    assert "Hello Ada Admin, answer here:" in page.locator(".mail-preview").inner_text()
    check_page(page, "admin campaign preview", shots=True)
    before = len(lookup(live_app, outbox))
    _submit(page, "Create campaign")
    assert "scheduled" in page.locator(".flashes").inner_text()
    check_page(page, "admin campaign", shots=True)
    sent = lookup(live_app, outbox)[before:]
    assert sent and all(m.subject.startswith("Your views, please") for m in sent)
    assert "member@example.org" in [m.to for m in sent]  # Mia is mid-career
    page.goto(page.base + "/admin/jobs")
    check_page(page, "admin jobs", shots=True)
    sign_out(page)
    # Mia follows her link.
    mia = [m for m in sent if m.to == "member@example.org"][-1]
    link = re.search(r"https?://\S+/campaigns/i/\S+", mia.body).group(0)
    path = "/campaigns/" + link.split("/campaigns/", 1)[1]
    sign_in(page, "member@example.org")
    page.goto(page.base + path)
    check_page(page, "campaign link", shots=True)
    _submit(page, "Continue to the survey")
    assert f"/surveys/{survey_id}" in page.url
    page.goto(page.base + path)
    assert "already been used" in page.locator("main").inner_text()
    check_page(page, "campaign link used", shots=True)
    unsubscribe = re.search(r"https?://\S+/campaigns/unsubscribe/\S+", mia.body).group(0)
    page.goto(page.base + "/campaigns/" + unsubscribe.split("/campaigns/", 1)[1])
    check_page(page, "campaign unsubscribe", shots=True)
    _submit(page, "Unsubscribe")
    assert "You are unsubscribed" in page.locator("h1").inner_text()
