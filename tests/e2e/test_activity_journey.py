"""My activity in a real browser: a member's comment gets a reply from another member
(written through the reply form) and a leadership update on the same objective; the
member finds both under "My activity" with the unread count in the navigation and
"New" markers, marks them as read, and the count goes. axe-core and reflow on the
page, screenshots at 1280 and 375 px."""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa

from portal.extensions import db
from portal.models import Comment, User
from tests import factories
from tests.e2e.conftest import check_page, lookup, sign_in, sign_out

COMMENT = "Our branch needs advocacy toolkits in plain language."
REPLY = "Agreed: our county library would use them too."


@pytest.fixture(scope="module")
def comment_id(live_app):
    def make():
        author = factories.make_user(role="member", email="activity@example.org",
                                     display_name="Ada Activity")
        factories.make_user(role="member", email="replier@example.org",
                            display_name="Rui Replier")
        return factories.make_comment(author, "A4", COMMENT).id

    return lookup(live_app, make)


def _nav_count(page) -> str:
    link = page.get_by_role("navigation", name="Main").get_by_role("link",
                                                                   name=re.compile("My activity"))
    return link.inner_text()


def test_a_reply_and_an_update_reach_my_activity(page, live_app, comment_id):
    # Another member replies through the reply form.
    sign_in(page, "replier@example.org")
    page.goto(page.base + f"/feedback/comments/{comment_id}/reply")
    page.get_by_label("Your comment").fill(REPLY)
    page.get_by_role("button", name="Post reply").click()
    page.wait_for_load_state()
    sign_out(page)

    def publish():
        leader = db.session.scalar(sa.select(User).where(User.email == "leader@example.org"))
        factories.make_update(leader, "A4", doing="Plain-language toolkits, with members.")
        reply = db.session.scalar(sa.select(Comment).where(Comment.body == REPLY))
        return reply is not None and reply.parent_id == comment_id

    assert lookup(live_app, publish)

    sign_in(page, "activity@example.org")
    assert "2 new" in _nav_count(page)
    page.get_by_role("navigation", name="Main").get_by_role(
        "link", name=re.compile("My activity")).click()
    page.wait_for_load_state()
    assert page.get_by_role("heading", level=1).inner_text() == "My activity"
    # The page counts what the menu counts; the survey waiting is a task, not news.
    assert "2 new items since you last marked them as read" in page.get_by_role(
        "status").inner_text()
    listing = page.locator(".activity-list")
    assert "Rui Replier replied to your comment on A4" in listing.inner_text()
    assert REPLY in listing.inner_text()
    assert "Leadership update on A4" in listing.inner_text()
    assert "In progress, progress 40 %" in listing.inner_text()
    # The reply and the update are new; the survey waiting is marked "To do".
    for item in ("Rui Replier replied", "Leadership update on A4"):
        entry = listing.locator("li", has_text=item).last
        assert entry.locator(".badge", has_text="New").count() == 1, item
    check_page(page, "member my-activity-journey", shots=True)

    page.get_by_role("button", name="Mark all as read").click()
    page.wait_for_load_state()
    assert page.locator(".activity-list .badge", has_text="New").count() == 0
    assert page.locator(".activity-list .badge", has_text="To do").count() == 1
    assert "new" not in _nav_count(page)
    assert REPLY in page.locator(".activity-list").inner_text()  # still listed, read
