"""Issue 18 in a real browser: primary, secondary and danger buttons look different
(computed styles), destructive actions are confirmed on pages of their own that are
axe-clean, and a text field with a maximum counts characters as the member types."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from portal.extensions import db
from portal.models import Comment, FeedbackRound, Survey
from tests import factories
from tests.e2e.conftest import check_a11y, check_page, lookup, screenshot, sign_in

STYLE_JS = """el => {
  const s = getComputedStyle(el);
  return {background: s.backgroundColor, color: s.color, border: s.borderTopColor,
          shadow: s.boxShadow};
}"""


@pytest.fixture(scope="module")
def ids(live_app):
    def find():
        # A member of this module's own, so the shared members' survey state is untouched.
        factories.make_user(role="member", email="buttons@example.org",
                            display_name="Bea Buttons")
        return {
            "flagged_comment": db.session.scalar(sa.select(Comment.id).where(
                Comment.body.like("Seeded comment that someone flagged.%"))),
            "round": db.session.scalar(sa.select(FeedbackRound.id).where(
                FeedbackRound.status == "open")),
            "survey": db.session.scalar(sa.select(Survey.id).where(
                Survey.template_key == "pd-needs")),
        }

    return lookup(live_app, find)


def _style(page, locator):
    return locator.evaluate(STYLE_JS)


def test_primary_secondary_and_danger_buttons_differ(page, ids):
    sign_in(page, "buttons@example.org")
    page.goto(page.base + f"/surveys/{ids['survey']}")
    page.get_by_role("button", name="Start the survey").click()
    page.wait_for_load_state()
    primary = page.get_by_role("button", name="Save and continue")
    secondary = page.get_by_role("button", name="Save and finish later")
    primary_style, secondary_style = _style(page, primary), _style(page, secondary)
    screenshot(page, "buttons-survey-section")
    page.goto(page.base + "/account/delete")
    danger = page.get_by_role("button", name="Delete my account")
    danger_style = _style(page, danger)
    styles = [primary_style, secondary_style, danger_style]
    backgrounds = {s["background"] for s in styles}
    assert len(backgrounds) == 3, styles  # filled blue, white, filled red
    assert len({(s["background"], s["color"], s["border"]) for s in styles}) == 3, styles
    assert secondary_style["background"] == "rgb(255, 255, 255)"
    assert danger_style["background"] == "rgb(164, 22, 26)"
    # The button hierarchy keeps AA contrast and a visible keyboard focus.
    check_a11y(page, "delete account confirmation")
    danger.focus()
    page.keyboard.press("Shift+Tab")
    page.keyboard.press("Tab")
    outline = danger.evaluate("el => getComputedStyle(el).outlineStyle")
    assert outline not in ("none", ""), outline


@pytest.mark.parametrize(("name", "path", "button"), [
    ("hide-comment", "/admin/moderation/comments/{flagged_comment}/hide", "Hide comment"),
    ("close-round", "/admin/rounds/{round}/close", "Close the round now"),
])
def test_destructive_actions_are_confirmed_on_clean_pages(browser, live_server, ids, name,
                                                          path, button):
    ctx = browser.new_context(viewport={"width": 1280, "height": 900})
    page = ctx.new_page()
    page.set_default_timeout(10_000)
    page.base = live_server.url
    try:
        sign_in(page, "admin@example.org")
        response = page.goto(page.base + path.format(**ids))
        assert response is not None and response.status == 200
        danger = page.get_by_role("button", name=button)
        assert "danger" in danger.get_attribute("class")
        assert _style(page, danger)["background"] == "rgb(164, 22, 26)"
        check_page(page, f"confirm {name}", shots=True)
    finally:
        ctx.close()


def test_the_comment_box_counts_characters_politely(page, ids):
    sign_in(page, "buttons@example.org")
    page.goto(page.base + "/plan/objectives/A1")
    box = page.get_by_label("Your comment")
    count = page.locator("#body-count")
    assert count.inner_text() == "You have 5,000 characters remaining"
    assert count.get_attribute("aria-hidden") == "true"
    live = page.locator("#body-count + [aria-live='polite']")
    box.fill("Evening webinars")
    assert count.inner_text() == "You have 4,984 characters remaining"
    # The announcement waits for a pause in typing.
    page.wait_for_function(
        "() => document.querySelector('#body-count + [aria-live]').textContent !== ''")
    assert live.inner_text() == "You have 4,984 characters remaining"
    box.fill("x" * 5003)
    assert count.inner_text() == "You have 3 characters too many"
    assert "char-count-over" in count.get_attribute("class")
    assert box.input_value() == "x" * 5003  # the browser does not cut the text
    check_a11y(page, "comment box with a count")
    screenshot(page, "comment-count")
    page.set_viewport_size({"width": 375, "height": 800})
    screenshot(page, "comment-count")
