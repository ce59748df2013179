"""The leadership summary and the board report in a real browser (issue 16): axe-core,
reflow at 320 and 640 px, screenshots at 1280 and 375 px, keyboard use of the cards'
evidence links, the reference switch, and the PDF download."""

from __future__ import annotations

import sqlalchemy as sa

from portal.extensions import db
from portal.models import FeedbackRound
from tests.e2e.conftest import check_a11y, check_page, lookup, sign_in


def _round(live_app) -> int:
    return lookup(live_app, lambda: db.session.scalar(sa.select(FeedbackRound.id).where(
        FeedbackRound.name == "Member feedback 2026")))


def test_summary_cards_in_the_browser(page, live_app):
    sign_in(page, "leader@example.org")
    round_id = _round(live_app)
    # The first leadership page of a round solves its disclosure decisions once.
    page.goto(page.base + f"/reports/?round={round_id}", timeout=90_000)
    assert page.locator("h1").inner_text().startswith("What members told us")
    cards = page.locator("section.headline-card")
    assert cards.count() == 6
    for i in range(cards.count()):
        text = cards.nth(i).locator(".headline-sentence").inner_text()
        assert text.endswith("."), text
    top = page.locator("#card-priorities .headline-sentence").inner_text()
    assert "% of members rate it important (" in top
    check_page(page, "leader summary", shots=True)
    # Keyboard: the shortfalls card's evidence link opens the gap chart.
    link = page.locator("#card-shortfalls .card-link a")
    link.focus()
    with page.expect_navigation(timeout=60_000):
        page.keyboard.press("Enter")
    assert "/reports/charts" in page.url
    # The reference switch, through the form.
    page.goto(page.base + f"/reports/priorities?round={round_id}")
    page.get_by_label("Labels compare with").select_option("average")
    page.get_by_role("button", name="Show").click()
    page.wait_for_load_state()
    assert "reference=average" in page.url
    assert "compared with the averages over objectives" in page.locator("main").inner_text()
    check_a11y(page, "leader priorities by averages")


def test_board_report_page_and_pdf(page, live_app):
    sign_in(page, "leader@example.org")
    round_id = _round(live_app)
    page.goto(page.base + f"/reports/board?round={round_id}", timeout=90_000)
    check_page(page, "leader board document", shots=True)
    assert page.locator("#appendix-title").inner_text() == "Appendix"
    # The download link, fetched with the page's own session.
    href = page.get_by_role("link", name="Download the board report as a PDF").get_attribute(
        "href")
    resp = page.request.get(page.base + href, timeout=120_000)
    assert resp.status == 200 and resp.headers["content-type"] == "application/pdf"
    assert resp.body()[:5] == b"%PDF-"
    page.emulate_media(media="print")
    try:
        check_a11y(page, "leader board document printed")
    finally:
        page.emulate_media(media="screen")
