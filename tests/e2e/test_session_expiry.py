"""Nothing typed is lost: a member's session ends between loading a form and sending
it (the session cookie is cleared, as when it expires or another tab signs out). The
form comes back with what was typed, one sentence and sign-in fields; signing in there
sends it. Mid-comment, mid-rating (one objective and a whole domain), mid-survey, and
a stale token while still signed in; axe-core on every page involved."""

from __future__ import annotations

import itertools

import sqlalchemy as sa

from portal.extensions import db
from portal.models import Comment, Rating, User
from tests import factories
from tests.e2e.conftest import check_page, lookup, sign_in

TYPED = "Regional training days would help small libraries most. I typed this slowly."
_seq = itertools.count(1)


def _new_member(live_app) -> str:
    email = f"expiry{next(_seq)}@example.org"
    lookup(live_app, lambda: factories.make_user(email=email, display_name="Eve Expiry"))
    return email


def _lose_session(page) -> None:
    page.context.clear_cookies(name="session")


def _sign_in_on_the_page(page, email: str, button: str) -> None:
    page.get_by_label("E-mail address").fill(email)
    page.get_by_label("Password", exact=True).fill(factories.PASSWORD)
    page.get_by_role("button", name=button).click()
    page.wait_for_load_state()


def _user_id(live_app, email: str) -> int:
    return lookup(live_app, lambda: db.session.scalar(sa.select(User.id).where(
        User.email == email)))


def _why(page) -> str:
    return page.locator("#resubmit-why").inner_text()


def test_a_session_that_ends_mid_comment_loses_nothing(page, live_app):
    email = _new_member(live_app)
    sign_in(page, email)
    page.goto(page.base + "/plan/objectives/A3")
    page.get_by_label("Your comment").fill(TYPED)
    page.get_by_label("Don't show my name to other members").check()
    _lose_session(page)
    page.get_by_role("button", name="Post comment").click()
    page.wait_for_load_state()
    assert page.locator("h1").inner_text() == "Send your comment on objective A3 again"
    assert "Your session ran out, so nothing was saved yet." in _why(page)
    assert page.get_by_label("Your comment").input_value() == TYPED
    assert page.get_by_label("Don't show my name to other members").is_checked()
    assert "Bad request" not in page.content()
    check_page(page, "expiry comment-kept", shots=True)
    _sign_in_on_the_page(page, email, "Sign in and post comment")
    assert "Your comment is posted." in page.locator(".flashes").inner_text()
    assert TYPED in page.locator("#comments").inner_text()
    check_page(page, "expiry comment-posted")
    uid = _user_id(live_app, email)
    stored = lookup(live_app, lambda: db.session.execute(
        sa.select(Comment.body, Comment.show_name).where(Comment.user_id == uid)).all())
    assert [tuple(r) for r in stored] == [(TYPED, False)]


def test_a_session_that_ends_mid_rating_loses_nothing(page, live_app):
    email = _new_member(live_app)
    sign_in(page, email)
    page.goto(page.base + "/plan/objectives/A2")
    page.get_by_role("group", name="How important is this objective to you?").get_by_label(
        "Very important", exact=True).check()
    page.get_by_role("group", name="How well is the association doing on it?").get_by_label(
        "Poorly", exact=True).check()
    _lose_session(page)
    page.get_by_role("button", name="Save my rating").click()
    page.wait_for_load_state()
    assert "nothing was saved yet" in _why(page)
    assert page.locator('input[name="importance"][value="4"]').is_checked()
    assert page.locator('input[name="performance"][value="2"]').is_checked()
    check_page(page, "expiry rating-kept", shots=True)
    _sign_in_on_the_page(page, email, "Sign in and save my rating")
    assert "Your ratings of objective A2 are saved" in page.locator(".flashes").inner_text()
    uid = _user_id(live_app, email)
    stored = lookup(live_app, lambda: db.session.execute(
        sa.select(Rating.importance, Rating.performance).where(Rating.user_id == uid)).all())
    assert [tuple(r) for r in stored] == [(4, 2)]


def test_a_session_that_ends_mid_domain_rating_loses_nothing(page, live_app):
    email = _new_member(live_app)
    sign_in(page, email)
    ids = lookup(live_app, lambda: [factories.objective(c).id for c in ("B1", "B2")])
    page.goto(page.base + "/plan/domains/B")
    # By name, not by layout: the grid's look may change, its fields do not.
    page.check(f'input[name="importance_{ids[0]}"][value="5"]')
    page.check(f'input[name="performance_{ids[1]}"][value="3"]')
    _lose_session(page)
    page.locator('form[action$="/domains/B/ratings"] button[type=submit]').click()
    page.wait_for_load_state()
    assert page.locator("h1").inner_text() == "Send your ratings of domain B again"
    assert page.locator(f'input[name="importance_{ids[0]}"][value="5"]').is_checked()
    assert page.locator(f'input[name="performance_{ids[1]}"][value="3"]').is_checked()
    check_page(page, "expiry domain-kept", shots=True)
    _sign_in_on_the_page(page, email, "Sign in and save my ratings")
    assert "domain B are saved" in page.locator(".flashes").inner_text()
    uid = _user_id(live_app, email)
    stored = lookup(live_app, lambda: sorted(tuple(r) for r in db.session.execute(
        sa.select(Rating.objective_id, Rating.importance, Rating.performance)
        .where(Rating.user_id == uid)).all()))
    assert stored == sorted([(ids[0], 5, None), (ids[1], None, 3)])


def test_a_session_that_ends_mid_survey_loses_nothing(page, live_app):
    email = _new_member(live_app)
    sign_in(page, email)
    page.goto(page.base + "/surveys/")
    page.locator('main a[href^="/surveys/"]').first.click()
    page.wait_for_load_state()
    page.locator("main button[type=submit]").first.click()
    page.wait_for_load_state()
    section_url = page.url
    page.check("#q-q1-advocacy")
    page.check("#q-q1-ai")
    page.select_option("#q-q2-rank1", index=1)
    page.select_option("#q-q2-rank2", index=2)
    page.select_option("#q-q2-rank3", index=3)
    ranks = [page.locator(f"#q-q2-rank{i}").input_value() for i in (1, 2, 3)]
    _lose_session(page)
    page.locator('button[value="next"]').click()
    page.wait_for_load_state()
    assert "nothing was saved yet" in _why(page)
    assert page.locator("#q-q1-advocacy").is_checked() and page.locator("#q-q1-ai").is_checked()
    assert [page.locator(f"#q-q2-rank{i}").input_value() for i in (1, 2, 3)] == ranks
    check_page(page, "expiry survey-kept", shots=True)
    _sign_in_on_the_page(page, email, "Sign in and save your answers")
    assert "Section 2 of" in page.locator(".survey-progress").inner_text()
    check_page(page, "expiry survey-next")
    # The answers were saved to the member's draft: section 1 shows them again.
    page.goto(section_url)
    assert page.locator("#q-q1-advocacy").is_checked() and page.locator("#q-q1-ai").is_checked()
    assert page.locator("#q-q2-rank1").input_value() == ranks[0]


def test_a_stale_token_while_signed_in_keeps_the_edit(page, live_app):
    email = _new_member(live_app)
    cid = lookup(live_app, lambda: factories.make_comment(
        db.session.scalar(sa.select(User).where(User.email == email)), "C2", "First draft.").id)
    sign_in(page, email)
    page.goto(page.base + f"/feedback/comments/{cid}/edit")
    page.get_by_label("Your comment").fill("Second, better draft.")
    # A token made for another session (an old tab, a restored page).
    page.locator('form[action$="/edit"] input[name=csrf_token]').evaluate(
        "el => { el.value = 'stale'; }")
    page.get_by_role("button", name="Save changes").click()
    page.wait_for_load_state()
    assert "This form expired, so nothing was saved yet." in _why(page)
    assert page.get_by_label("Password", exact=True).count() == 0  # still signed in
    assert page.get_by_label("Your comment").input_value() == "Second, better draft."
    check_page(page, "expiry edit-kept", shots=True)
    page.get_by_role("button", name="Save changes").click()
    page.wait_for_load_state()
    assert "Your comment is updated." in page.locator(".flashes").inner_text()
    body = lookup(live_app, lambda: db.session.get(Comment, cid).body)
    assert body == "Second, better draft."
