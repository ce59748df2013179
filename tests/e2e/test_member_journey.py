"""A member's whole journey with the keyboard alone (Tab, Shift+Tab, arrows in radio
groups, Space, Enter), checked with axe-core and for reflow on every page type it
visits: register (with a failed first try), verify, sign in, fill the profile, rate
every objective of a domain in one form (the arrows follow the scale), go on to the
next domain and see the progress per domain at home, comment, reply, endorse, flag, take the
PD-needs survey across its sections with save-and-resume and a failed submit, and
download their data. A second member then endorses and flags the new member's comment."""

from __future__ import annotations

import json

import sqlalchemy as sa
from playwright.sync_api import expect

from portal.extensions import db
from portal.mail import outbox
from portal.models import (
    Comment,
    CommentFlag,
    Endorsement,
    FeedbackRound,
    Objective,
    Rating,
    Survey,
    SurveyParticipation,
    User,
)
from portal.models.feedback import IMPORTANCE_LABELS
from tests import factories
from tests.e2e.conftest import check_page, lookup, sign_in
from tests.e2e.keyboard import (
    assert_focus_visible,
    focused_id,
    focused_matches,
    press_and_wait,
    tab_to,
    type_into,
    walk_radio_group,
)

EMAIL = "kim.keyboard@example.org"
SCALE = (1, 2, 3, 4, 5, 0)  # the points of a rating scale as shown, "Don't know" (0) last
PASSWORD = "a long keyboard-only passphrase"


def _flash(page) -> str:
    return page.locator(".flashes").inner_text() if page.locator(".flashes").count() else ""


def register_and_verify(page, live_app) -> None:
    page.goto(page.base + "/auth/register")
    check_page(page, "member register")
    # A first try with a wrong address: focus must land on the error summary.
    type_into(page, "#email", "kim.keyboard@")
    type_into(page, "#display_name", "Kim Keybord")
    type_into(page, "#password", PASSWORD)
    # Shift+Tab back to correct the misspelt name.
    tab_to(page, "#display_name", backwards=True)
    page.keyboard.press("Control+A")
    page.keyboard.type("Kim Keyboard")
    press_and_wait(page)
    assert focused_id(page) == "error-summary"
    assert_focus_visible(page)
    check_page(page, "member register-errors")
    # The summary's link leads to the field in error.
    tab_to(page, "#error-summary a")
    assert page.evaluate("() => document.activeElement.getAttribute('href')") == "#email"
    type_into(page, "#email", EMAIL)
    type_into(page, "#password", PASSWORD)
    press_and_wait(page)
    assert page.locator("h1").inner_text() == "Check your inbox"
    check_page(page, "member check-inbox")

    def verification_link():
        mails = [m for m in outbox() if m.to == EMAIL]
        return factories.link_path(mails[-1], "/auth/verify/")

    page.goto(page.base + lookup(live_app, verification_link))
    check_page(page, "member verify")
    tab_to(page, "main button[type=submit]")
    press_and_wait(page, "Space")
    assert "verified" in _flash(page)


def sign_in_with_keyboard(page) -> None:
    # The verification leads to the sign-in page.
    assert page.url.endswith("/auth/login")
    type_into(page, "#email", EMAIL)
    type_into(page, "#password", PASSWORD)
    press_and_wait(page)
    assert page.get_by_role("button", name="Sign out").count() == 1


def fill_profile(page, live_app) -> None:
    tab_to(page, 'nav a[href="/account"]')
    press_and_wait(page)
    check_page(page, "member account", shots=True)
    tab_to(page, "input[name=career_stage]")
    page.keyboard.press("ArrowDown")  # arrows move and choose within the radio group
    page.keyboard.press("ArrowDown")
    tab_to(page, "input[name=library_type]")
    page.keyboard.press("Space")
    tab_to(page, "main button[type=submit]", "Save profile")
    press_and_wait(page)
    user = lookup(live_app, lambda: db.session.scalar(sa.select(User).where(User.email == EMAIL)))
    assert user.career_stage == "mid" and user.library_type == "academic", (
        user.career_stage, user.library_type)


def rate_domain(page, live_app) -> list[int]:
    page.goto(page.base + "/plan/domains/C")
    check_page(page, "member domain-rating")
    objective_ids = lookup(live_app, lambda: list(db.session.scalars(
        sa.select(Objective.id).where(
            Objective.retired_at.is_(None), Objective.domain.has(code="C"))
        .order_by(Objective.position))))
    assert len(objective_ids) >= 4
    for i, oid in enumerate(objective_ids):
        tab_to(page, f"input[name=importance_{oid}]")
        if i == 0:
            # The arrows go along the scale as drawn, left to right, "Don't know" last,
            # and round again to the first point.
            stops = walk_radio_group(page, "ArrowRight")
            assert [s["label"] for s in stops] == [IMPORTANCE_LABELS[v] for v in SCALE], stops
            lefts = [s["left"] for s in stops]
            assert lefts == sorted(set(lefts)), stops
        for _ in range(1 + i % 4):
            page.keyboard.press("ArrowRight")
        tab_to(page, f"input[name=performance_{oid}]")
        page.keyboard.press("Space")  # the first point
        if i % 2:
            page.keyboard.press("ArrowRight")
            page.keyboard.press("ArrowLeft")
    tab_to(page, "main button[type=submit]", "Save my ratings")
    press_and_wait(page)
    assert page.locator(".flash").count() >= 1
    progress = page.locator("#rating-progress").inner_text()
    n = len(objective_ids)
    assert f"You have rated {n} of 22 objectives. In this domain: {n} of {n}." in progress
    assert page.url.endswith("/plan/domains/C#rate")

    def stored():
        return db.session.execute(
            sa.select(Rating.objective_id, Rating.importance, Rating.performance)
            .join(User, User.id == Rating.user_id).join(FeedbackRound)
            .where(User.email == EMAIL, FeedbackRound.status == "open")).all()

    rows = {r.objective_id: (r.importance, r.performance) for r in lookup(live_app, stored)}
    assert set(rows) == set(objective_ids)
    assert all(imp is not None and perf is not None for imp, perf in rows.values()), rows
    assert rows[objective_ids[0]][0] == 2 and rows[objective_ids[0]][1] == 1
    return objective_ids


def next_domain_and_home(page) -> None:
    """After saving, the first Tab from the rating section reaches the next domain to
    rate; the home page then shows the progress per domain."""
    tab_to(page, "#rating-progress a.next-domain", limit=3)
    press_and_wait(page)
    assert page.url.endswith("/plan/domains/D#rate")
    assert page.locator("h1").inner_text().startswith("D.")
    check_page(page, "member next-domain")
    tab_to(page, '.breadcrumb a[href="/"]', backwards=True)
    press_and_wait(page)
    cards = page.locator(".domain-card")
    assert "All 4 rated" in cards.nth(2).inner_text()
    assert "You have rated 0 of 5" in cards.nth(3).inner_text()
    assert "Go on with domain A." in page.locator(".rating-summary").inner_text()
    check_page(page, "member home-progress", shots=True)
    tab_to(page, 'main a[href="/plan/domains/C"]')
    press_and_wait(page)
    assert page.locator("h1").inner_text().startswith("C.")


def comment_reply_endorse_flag(page, live_app) -> None:
    # Back up (Shift+Tab) from the rating form to the link to objective C1.
    tab_to(page, 'main a[href="/plan/objectives/C1"]', backwards=True)
    press_and_wait(page)
    check_page(page, "member objective", shots=True)
    # A failed submit first: an empty comment.
    tab_to(page, "main button[type=submit]", "Post comment")
    press_and_wait(page)
    assert focused_id(page) == "error-summary"
    check_page(page, "member objective comment-errors")
    type_into(page, "#body", "Keyboard users need **clear focus** on every page.")
    tab_to(page, "main button[type=submit]", "Post comment")
    press_and_wait(page)
    assert "posted" in _flash(page)
    # Reply to the most endorsed comment, someone else's.
    page.goto(page.base + "/plan/objectives/C1?sort=endorsed")
    tab_to(page, 'article.comment:not(.reply) a[href$="/reply"]')
    press_and_wait(page)
    check_page(page, "member reply")
    type_into(page, "#body", "Agreed, and the reply works from the keyboard.")
    tab_to(page, "main button[type=submit]", "Post reply")
    press_and_wait(page, "Space")
    assert "reply is posted" in _flash(page)
    check_page(page, "member thread")
    # Endorse and flag a demo member's comment.
    page.goto(page.base + "/plan/objectives/C1?sort=endorsed")
    assert "(you" not in page.locator("article.comment > .comment-meta").first.inner_text()
    # Both happen in place (issue 18, point 9): no new page, focus stays, the live
    # region speaks.
    tab_to(page, 'form[action$="/endorse"] button')
    page.keyboard.press("Enter")
    expect(page.locator("#comment-status")).to_contain_text("Endorsed.")
    assert focused_matches(page, "form[data-endorse] button", "Withdraw endorsement")
    tab_to(page, 'main a[href$="/flag"]')
    page.keyboard.press("Enter")  # the flag form opens under the comment, focus on it
    expect(page.locator(".flag-panel")).to_have_count(1)
    assert focused_matches(page, "input[name=reason]")
    check_page(page, "member flag-in-place")
    page.keyboard.press("ArrowDown")
    page.keyboard.press("ArrowDown")  # the third reason: off-topic
    assert focused_matches(page, "input[name=reason]:checked")
    tab_to(page, '.flag-panel button[type=submit]')
    page.keyboard.press("Enter")
    expect(page.locator("#comment-status")).to_contain_text("moderators")

    def counts():
        user_id = db.session.scalar(sa.select(User.id).where(User.email == EMAIL))
        return (
            db.session.scalar(sa.select(sa.func.count()).select_from(Comment).where(
                Comment.user_id == user_id)),
            db.session.scalar(sa.select(sa.func.count()).select_from(Endorsement).where(
                Endorsement.user_id == user_id)),
            db.session.scalar(sa.select(CommentFlag.reason).where(
                CommentFlag.user_id == user_id)),
        )

    assert lookup(live_app, counts) == (2, 1, "off_topic")


MATRIX_LAYOUT_JS = """() => [...document.querySelectorAll('fieldset.matrix-row')].map(row => {
  const legend = row.querySelector('legend').getBoundingClientRect();
  const choices = [...row.querySelectorAll('.choice')].map(c => c.getBoundingClientRect());
  return {legendBelowTop: legend.bottom <= choices[0].top + 1,
          rows: new Set(choices.map(c => Math.round(c.top))).size,
          fits: choices.every(c => c.right <= window.innerWidth)};
})"""


def assert_matrix_stacks_on_narrow_screens(page) -> None:
    """A Likert matrix is one fieldset per statement; at 320 px the statement sits above
    its choices, which wrap onto several lines inside the screen."""
    size = page.viewport_size
    try:
        page.set_viewport_size({"width": 320, "height": 800})
        for row in page.evaluate(MATRIX_LAYOUT_JS):
            assert row["legendBelowTop"] and row["rows"] > 1 and row["fits"], row
    finally:
        page.set_viewport_size(size)


def take_survey(page, live_app) -> None:
    tab_to(page, 'nav a[href="/surveys/"]')
    press_and_wait(page)
    check_page(page, "member surveys", shots=True)
    tab_to(page, 'main a[href^="/surveys/"]')
    press_and_wait(page)
    check_page(page, "member survey")
    tab_to(page, 'main button[type=submit]')
    press_and_wait(page)
    # Section 1: checkboxes (Space) and a ranking (arrows in selects).
    check_page(page, "member survey-section-checkboxes", shots=True)
    tab_to(page, "#q-q1-advocacy")
    page.keyboard.press("Space")
    tab_to(page, "#q-q1-ai")
    page.keyboard.press("Space")
    for rank, steps in ((1, 1), (2, 3), (3, 4)):
        tab_to(page, f"#q-q2-rank{rank}")
        for _ in range(steps):
            page.keyboard.press("ArrowDown")
    tab_to(page, 'button[value="next"]')
    press_and_wait(page)
    # Section 2: radio groups; then save and finish later.
    assert "Section 2 of" in page.locator(".survey-progress").inner_text()
    tab_to(page, "input[name=q-q3]")
    page.keyboard.press("ArrowDown")
    tab_to(page, "input[name=q-q4]")
    page.keyboard.press("Space")
    tab_to(page, 'button[value="save"]')
    press_and_wait(page)
    assert "saved" in _flash(page)
    # Resume: the answers are still there.
    tab_to(page, 'main a[href^="/surveys/"]')
    press_and_wait(page)
    tab_to(page, 'main button[type=submit]')
    press_and_wait(page)
    assert "Section 2 of" in page.locator(".survey-progress").inner_text()
    assert page.locator("#q-q3-h1_2").is_checked()
    assert page.locator("#q-q4-none").is_checked()
    tab_to(page, "input[name=q-q6]")
    page.keyboard.press("Space")  # yes: shows the employer section
    tab_to(page, 'button[value="next"]')
    press_and_wait(page)
    # Section 3: a Likert scale and a Likert matrix, one fieldset per statement.
    check_page(page, "member survey-section-matrix", shots=True)
    assert page.locator("fieldset.matrix fieldset.matrix-row legend").count() == 4
    assert_matrix_stacks_on_narrow_screens(page)
    tab_to(page, "input[name=q-q7]")
    page.keyboard.press("ArrowRight")
    page.keyboard.press("ArrowRight")
    tab_to(page, "input[name=q-q8-paid_time]")
    page.keyboard.press("Space")
    tab_to(page, "input[name=q-q8-fees]")
    page.keyboard.press("ArrowLeft")  # wraps to the last choice: not applicable
    tab_to(page, 'button[value="next"]')
    press_and_wait(page)
    # Section 4: leave the required question out; focus lands on the error summary.
    tab_to(page, 'button[value="next"]')
    press_and_wait(page)
    assert focused_id(page) == "error-summary"
    assert_focus_visible(page)
    check_page(page, "member survey-errors")
    tab_to(page, "input[name=q-q9]")
    page.keyboard.press("ArrowRight")
    type_into(page, "#q-q10", "More short courses I can follow with a screen reader.")
    tab_to(page, 'button[value="next"]')
    press_and_wait(page)
    check_page(page, "member survey-review")
    tab_to(page, 'main button[type=submit]')
    press_and_wait(page)
    check_page(page, "member survey-receipt")

    def participated():
        return db.session.scalar(
            sa.select(sa.func.count()).select_from(SurveyParticipation)
            .join(User, User.id == SurveyParticipation.user_id)
            .join(Survey, Survey.id == SurveyParticipation.survey_id)
            .where(User.email == EMAIL, Survey.template_key == "pd-needs"))

    assert lookup(live_app, participated) == 1


def download_data(page) -> dict:
    tab_to(page, 'nav a[href="/account"]')
    press_and_wait(page)
    tab_to(page, 'main a[href="/account/data"]')
    with page.expect_download() as info:
        page.keyboard.press("Enter")
    with open(info.value.path(), encoding="utf-8") as fh:
        return json.load(fh)


def test_member_journey_with_the_keyboard_alone(page, live_app):
    register_and_verify(page, live_app)
    sign_in_with_keyboard(page)
    fill_profile(page, live_app)
    rate_domain(page, live_app)
    next_domain_and_home(page)
    comment_reply_endorse_flag(page, live_app)
    take_survey(page, live_app)
    data = download_data(page)
    text = json.dumps(data)
    assert EMAIL in text and "clear focus" in text and "Kim Keyboard" in text
    page.goto(page.base + "/feedback/mine")
    check_page(page, "member my-feedback")
    assert "clear focus" in page.locator("main").inner_text()


def test_second_member_endorses_and_flags_the_new_comment(browser, live_server, live_app):
    """Runs after the journey above (same module): another member endorses and flags
    the keyboard member's comment; the author cannot endorse their own."""
    ctx = browser.new_context(viewport={"width": 1280, "height": 900})
    try:
        page = ctx.new_page()
        page.base = live_server.url
        sign_in(page, "second@example.org")
        comment_id = lookup(live_app, lambda: db.session.scalar(
            sa.select(Comment.id).join(User, User.id == Comment.user_id).where(
                User.email == EMAIL, Comment.parent_id.is_(None))))
        assert comment_id, "the journey above posts a comment first"
        page.goto(page.base + f"/plan/objectives/C1?sort=newest#comment-{comment_id}")
        actions = page.locator(f"#comment-{comment_id} > .comment-actions")
        actions.get_by_role("button", name="Endorse").click()
        expect(actions).to_contain_text("1 endorsement")  # in place, no reload
        actions.get_by_role("link", name="Flag").click()
        page.get_by_label("Spam or advertising").check()
        page.get_by_role("button", name="Send to the moderators").click()
        expect(page.locator("#comment-status")).to_contain_text("moderators")
        expect(actions).to_contain_text("You flagged this comment")
        check_page(page, "second-member objective")
    finally:
        ctx.close()
