"""Issue 18, points 4 and 9 in a real browser: endorse and flag without a reload where
JavaScript runs (focus kept, the live region speaks), the same forms posting without it,
and deleting one's own comment or a draft survey confirmed on a page of its own."""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa
from playwright.sync_api import expect

from portal.extensions import db
from portal.feedback import comment_services as cs
from portal.models import Comment, CommentFlag, Endorsement, Survey, User
from tests import factories
from tests.e2e.conftest import check_a11y, check_page, lookup, screenshot, sign_in
from tests.e2e.keyboard import focused_matches

READER = "reader@example.org"
NO_JS = "nojs@example.org"


@pytest.fixture(scope="module")
def ids(live_app):
    def make():
        # Members of this module's own, so other modules' comments and counts are untouched.
        author = factories.make_user(email="author@example.org", display_name="Ann Author")
        reader = factories.make_user(email=READER, display_name="Rae Reader")
        nojs = factories.make_user(email=NO_JS, display_name="Nat NoScript")
        endorsed = factories.make_comment(author, "E3", "Evening webinars for rural staff.")
        for _ in range(3):
            cs.endorse(factories.make_user(), endorsed)
        flag_me = factories.make_comment(author, "E3", "A comment the reader flags in place.")
        plain = factories.make_comment(author, "E4", "A comment endorsed without scripts.")
        own = factories.make_comment(reader, "E4", "The reader's own words, soon deleted.")
        nojs_own = factories.make_comment(nojs, "E4", "Nat's words, deleted without scripts.")
        draft = factories.make_survey(status="draft", title="A draft to delete")
        db.session.commit()
        return {"endorsed": endorsed.id, "flag_me": flag_me.id, "plain": plain.id,
                "own": own.id, "nojs_own": nojs_own.id, "draft": draft.id,
                "reader": reader.id}

    return lookup(live_app, make)


def _count_endorsements(live_app, comment_id: int, email: str) -> int:
    return lookup(live_app, lambda: db.session.scalar(
        sa.select(sa.func.count()).select_from(Endorsement)
        .join(User, User.id == Endorsement.user_id)
        .where(Endorsement.comment_id == comment_id, User.email == email)))


def _navigations(page) -> list[str]:
    seen: list[str] = []
    page.on("framenavigated",
            lambda frame: seen.append(frame.url) if frame == page.main_frame else None)
    return seen


def test_endorse_without_a_reload_keeps_focus_and_announces(page, live_app, ids):
    sign_in(page, READER)
    page.goto(page.base + "/plan/objectives/E3?sort=newest")
    url = page.url
    navigations = _navigations(page)
    page.evaluate("() => { window.stillThisPage = true; }")  # lost on any reload
    article = page.locator(f"#comment-{ids['endorsed']}")
    actions = article.locator(":scope > .comment-actions")
    expect(actions).to_contain_text("3 endorsements")
    button = actions.get_by_role("button", name="Endorse")
    button.focus()
    page.keyboard.press("Enter")
    live = page.locator("#comment-status[aria-live=polite]")
    expect(live).to_have_text("Endorsed. 4 members endorse this.")
    expect(actions).to_contain_text("4 endorsements")
    assert focused_matches(page, f"#comment-{ids['endorsed']} form[data-endorse] button",
                           "Withdraw endorsement")
    assert page.evaluate("() => window.stillThisPage === true")
    assert navigations == [] and page.url == url
    assert _count_endorsements(live_app, ids["endorsed"], READER) == 1
    check_a11y(page, "objective after endorsing in place")
    # The same button, pressed again, withdraws; focus still has not moved.
    page.keyboard.press("Enter")
    expect(live).to_have_text("Endorsement withdrawn. 3 members endorse this.")
    expect(actions).to_contain_text("3 endorsements")
    assert focused_matches(page, f"#comment-{ids['endorsed']} form[data-endorse] button",
                           "Endorse")
    assert _count_endorsements(live_app, ids["endorsed"], READER) == 0
    assert navigations == [] and page.evaluate("() => window.stillThisPage === true")


def test_a_refused_endorsement_is_shown_and_the_page_catches_up(page, live_app, ids):
    sign_in(page, READER)
    page.goto(page.base + "/plan/objectives/E3?sort=newest")
    actions = page.locator(f"#comment-{ids['endorsed']} > .comment-actions")
    # Meanwhile, in another tab, the reader has endorsed it already.
    lookup(live_app, lambda: (cs.endorse(db.session.get(User, ids["reader"]),
                                         db.session.get(Comment, ids["endorsed"])),
                              db.session.commit()))
    actions.get_by_role("button", name="Endorse").click()
    problem = page.locator(f"#comment-{ids['endorsed']} > .comment-problem")
    expect(problem).to_have_text(
        "You have already endorsed this comment. 4 members endorse this.")
    expect(page.locator("#comment-status")).to_have_text(problem.inner_text())
    expect(actions.get_by_role("button", name="Withdraw endorsement")).to_be_visible()
    expect(actions).to_contain_text("4 endorsements")
    # An expired form (the token changed): nothing changes, and the page says so.
    page.evaluate("""() => document.querySelectorAll('form[data-endorse] input[name=csrf_token]')
                     .forEach(i => { i.value = 'expired'; })""")
    actions.get_by_role("button", name="Withdraw endorsement").click()
    expect(problem).to_contain_text("This page is out of date, so nothing changed.")
    assert _count_endorsements(live_app, ids["endorsed"], READER) == 1
    check_a11y(page, "objective with a refused endorsement")
    page.reload()
    actions.get_by_role("button", name="Withdraw endorsement").click()
    expect(page.locator("#comment-status")).to_contain_text("Endorsement withdrawn.")


def test_flag_opens_under_the_comment_and_is_sent_in_place(page, live_app, ids):
    sign_in(page, READER)
    page.goto(page.base + "/plan/objectives/E3?sort=newest")
    navigations = _navigations(page)
    article = page.locator(f"#comment-{ids['flag_me']}")
    link = article.get_by_role("link", name="Flag this comment for moderators")
    link.focus()
    page.keyboard.press("Enter")
    panel = article.locator(":scope > .flag-panel")
    expect(panel.get_by_role("group", name="Why are you flagging this comment?")).to_be_visible()
    assert link.get_attribute("aria-expanded") == "true"
    assert focused_matches(page, "input[name=reason]")  # focus moved into the form
    check_a11y(page, "objective with the flag form open")
    screenshot(page, "flag-in-place")
    page.set_viewport_size({"width": 375, "height": 800})
    screenshot(page, "flag-in-place")
    page.set_viewport_size({"width": 1280, "height": 900})
    # "Something else" without saying what: the form comes back with its errors.
    panel.get_by_label("Something else").check()
    panel.get_by_role("button", name="Send to the moderators").click()
    summary = panel.locator(".error-summary")
    expect(summary).to_contain_text("Tell the moderators what is wrong with this comment.")
    assert focused_matches(page, ".flag-panel .error-summary")
    assert panel.get_by_label("Something else").is_checked()  # the choice is kept
    check_a11y(page, "objective with flag errors in place")
    screenshot(page, "flag-in-place-errors")
    panel.get_by_label("What is wrong with it?").fill("It repeats another comment word for word.")
    panel.get_by_role("button", name="Send to the moderators").click()
    live = page.locator("#comment-status")
    expect(live).to_have_text("Thank you. The moderators will look at this comment.")
    actions = article.locator(":scope > .comment-actions")
    expect(actions).to_contain_text("You flagged this comment")
    expect(panel).to_have_count(0)
    assert focused_matches(page, f"#comment-{ids['flag_me']} .comment-actions li",
                           "You flagged this comment")
    assert navigations == []
    flag = lookup(live_app, lambda: db.session.execute(
        sa.select(CommentFlag.reason, CommentFlag.note).where(
            CommentFlag.comment_id == ids["flag_me"])).one())
    assert tuple(flag) == ("other", "It repeats another comment word for word.")
    check_a11y(page, "objective after flagging in place")


def test_cancel_closes_the_flag_form_and_returns_focus(page, ids):
    sign_in(page, READER)
    page.goto(page.base + "/plan/objectives/E4?sort=newest")
    article = page.locator(f"#comment-{ids['plain']}")
    link = article.get_by_role("link", name="Flag this comment for moderators")
    link.click()
    article.get_by_role("button", name="Cancel").click()
    expect(article.locator(".flag-panel")).to_have_count(0)
    assert focused_matches(page, f"#comment-{ids['plain']} a[data-flag-link]")
    assert link.get_attribute("aria-expanded") == "false"
    link.click()
    # The form arrives by fetch: Escape closes it once it is open (pressed before, it
    # raced the answer in CI and the form opened after the key).
    expect(article.get_by_role("button", name="Cancel")).to_be_visible()
    page.keyboard.press("Escape")
    expect(article.locator(".flag-panel")).to_have_count(0)


def test_without_javascript_the_same_forms_post(browser, live_server, live_app, ids):
    ctx = browser.new_context(viewport={"width": 1280, "height": 900},
                              java_script_enabled=False)
    page = ctx.new_page()
    page.set_default_timeout(10_000)
    page.base = live_server.url
    try:
        sign_in(page, NO_JS)
        page.goto(page.base + "/plan/objectives/E4?sort=newest")
        assert page.locator("#comment-status").count() == 0  # no script ran
        actions = page.locator(f"#comment-{ids['plain']} > .comment-actions")
        with page.expect_navigation():
            actions.get_by_role("button", name="Endorse").click()
        assert page.url.endswith(f"/plan/objectives/E4?sort=newest#comment-{ids['plain']}")
        assert "You endorsed this comment." in page.locator(".flashes").inner_text()
        assert "1 endorsement" in actions.inner_text()
        assert _count_endorsements(live_app, ids["plain"], NO_JS) == 1
        # (No axe here: it runs as page JavaScript. The same markup is checked with
        # JavaScript on above.)
        # The flag link opens the flag page, which sends the form itself.
        with page.expect_navigation():
            actions.get_by_role("link", name="Flag this comment for moderators").click()
        assert re.search(rf"/feedback/comments/{ids['plain']}/flag$", page.url)
        page.get_by_label("Off-topic").check()
        with page.expect_navigation():
            page.get_by_role("button", name="Send to the moderators").click()
        assert "moderators will look" in page.locator(".flashes").inner_text()
        assert lookup(live_app, lambda: db.session.scalar(
            sa.select(sa.func.count()).select_from(CommentFlag)
            .where(CommentFlag.comment_id == ids["plain"]))) == 1
        # Deleting one's own comment: a link to the confirmation page, then its button.
        page.goto(page.base + "/plan/objectives/E4?sort=newest")
        with page.expect_navigation():
            page.locator(f"#comment-{ids['nojs_own']}").get_by_role(
                "link", name="Delete your comment").click()
        assert page.get_by_role("heading", level=1).inner_text() == "Delete your comment?"
        with page.expect_navigation():
            page.get_by_role("button", name="Delete my comment").click()
        assert "Your comment is deleted." in page.locator(".flashes").inner_text()
        assert lookup(live_app, lambda: db.session.get(Comment, ids["nojs_own"]).status) \
            == "deleted"
    finally:
        ctx.close()


def test_deleting_ones_comment_is_confirmed_on_its_own_page(page, live_app, ids):
    sign_in(page, READER)
    page.goto(page.base + "/plan/objectives/E4?sort=newest")
    article = page.locator(f"#comment-{ids['own']}")
    with page.expect_navigation():
        article.get_by_role("link", name="Delete your comment").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Delete your comment?")
    expect(page.locator("main")).to_contain_text("The reader's own words, soon deleted.")
    danger = page.get_by_role("button", name="Delete my comment")
    assert "danger" in danger.get_attribute("class")
    check_page(page, "confirm delete-comment", shots=True)
    # Cancel goes back to the comment, which is still there.
    with page.expect_navigation():
        page.get_by_role("link", name="Cancel: keep it").click()
    assert page.url.endswith(f"/plan/objectives/E4?sort=newest#comment-{ids['own']}")
    with page.expect_navigation():
        article.get_by_role("link", name="Delete your comment").click()
    with page.expect_navigation():
        page.get_by_role("button", name="Delete my comment").click()
    assert "Your comment is deleted." in page.locator(".flashes").inner_text()
    assert lookup(live_app, lambda: db.session.get(Comment, ids["own"]).status) == "deleted"


def test_deleting_a_draft_survey_is_confirmed_on_its_own_page(page, live_app, ids):
    sign_in(page, "admin@example.org")
    page.goto(page.base + f"/admin/surveys/{ids['draft']}")
    with page.expect_navigation():
        page.get_by_role("link", name="Delete draft").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(
        "Delete the draft survey “A draft to delete”?")
    danger = page.get_by_role("button", name="Delete the draft")
    assert "danger" in danger.get_attribute("class")
    check_page(page, "confirm delete-draft-survey", shots=True)
    with page.expect_navigation():
        danger.click()
    assert page.url.endswith("/admin/surveys/")
    assert "The draft survey was deleted." in page.locator(".flashes").inner_text()
    assert lookup(live_app, lambda: db.session.get(Survey, ids["draft"])) is None
