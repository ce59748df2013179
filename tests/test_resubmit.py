"""Nothing typed is lost when a member form's session or CSRF token ran out: the form
comes back filled in with one sentence, and one submit signs in and sends it."""

from __future__ import annotations

import re
import time
from html import unescape

import pytest
import sqlalchemy as sa
from flask import g
from itsdangerous import URLSafeTimedSerializer

from portal.extensions import db
from portal.models import Comment, Rating, SurveyDraft
from portal.resubmit import SIGNED_OUT, SOMEONE_ELSE, STALE_FORM, UNVERIFIED
from tests import factories
from tests.conftest import CSRF_RE

TYPED = "My long considered thoughts on regional events & <training>."


@pytest.fixture
def other(app):
    return factories.make_user(email="other@example.org", display_name="Otto Other")


@pytest.fixture
def open_round(app):
    return factories.make_round("Spring")


def _token(client, path: str) -> str:
    match = CSRF_RE.search(client.get(path).get_data(as_text=True))
    assert match, path
    return match.group(1)


def _lose_session(client) -> None:
    """What a browser does when the session cookie is gone (cleared, expired, another
    device signed out): the next request has no session at all."""
    client.delete_cookie("session")
    g.pop("csrf_token", None)


def _idle_out(client, app) -> None:
    """The session passes its idle limit without the cookie going away."""
    with client.session_transaction() as sess:
        sess["seen_at"] = int(time.time()) - app.config["SESSION_IDLE_MINUTES"] * 60 - 120


def _page_fields(html: str) -> dict[str, str]:
    """The hidden fields the resubmit page carries (token, marker, action ...)."""
    fields = {}
    for m in re.finditer(r'<input[^>]*type="hidden"[^>]*>', html):
        name = re.search(r'name="([^"]+)"', m.group(0))
        value = re.search(r'value="([^"]*)"', m.group(0))
        if name:
            fields[name.group(1)] = unescape(value.group(1)) if value else ""
    return fields


def _checked(html: str, name: str) -> list[str]:
    """The values of the checked radios or boxes called `name`."""
    out = []
    for tag in re.findall(r"<input\b[^>]*>", html):
        if f'name="{name}"' in tag and re.search(r"\schecked\b", tag):
            value = re.search(r'value="([^"]*)"', tag)
            out.append(value.group(1) if value else "on")
    return out


def _ratings(user) -> list[tuple]:
    return db.session.execute(sa.select(Rating.objective_id, Rating.importance,
                                        Rating.performance).where(Rating.user_id == user.id)
                              ).all()


def _comments() -> list[Comment]:
    db.session.expire_all()
    return list(db.session.scalars(sa.select(Comment).order_by(Comment.id)))


def _is_kept_page(html: str, sentence: str, signin: bool) -> None:
    assert unescape(sentence) in unescape(html)
    assert html.count('<h1') == 1
    assert ('name="password"' in html) is signin
    assert "Bad request" not in html and "Error 400" not in html


# Comment --------------------------------------------------------------------------

def test_comment_after_the_session_cookie_went_signs_in_and_posts(client, login, plan,
                                                                  member, open_round):
    login(member)
    token = _token(client, "/plan/objectives/A1")
    _lose_session(client)
    resp = client.post("/feedback/objectives/A1/comments",
                       data={"csrf_token": token, "body": TYPED, "hide_name": "y"})
    html = resp.get_data(as_text=True)
    assert resp.status_code == 400
    _is_kept_page(html, SIGNED_OUT, signin=True)
    assert "My long considered thoughts on regional events &amp; &lt;training&gt;." in html
    assert _checked(html, "hide_name") == ["y"]
    assert _comments() == []
    hidden = _page_fields(html)
    assert "typed_by" not in hidden  # nobody was signed in on this request
    resp = client.post("/feedback/objectives/A1/comments", data={
        **hidden, "email": member.email, "password": factories.PASSWORD,
        "body": TYPED, "hide_name": "y"})
    assert resp.status_code == 302
    [c] = _comments()
    assert c.user_id == member.id and c.body == TYPED and c.show_name is False
    assert resp.location.endswith(f"#comment-{c.id}")
    assert "Sign out" in client.get("/").get_data(as_text=True)


def test_comment_with_a_wrong_password_keeps_the_text(client, plan, member, open_round):
    token = _token(client, "/auth/login")
    resp = client.post("/feedback/objectives/A1/comments", data={
        "csrf_token": token, "body": TYPED, "resubmit_signin": "1",
        "email": member.email, "password": "not the password"})
    html = resp.get_data(as_text=True)
    assert resp.status_code == 401
    assert "do not match an account" in html and "regional events" in html
    assert _comments() == []
    assert "Sign out" not in client.get("/").get_data(as_text=True)


def test_signed_out_post_is_answered_with_the_form_not_a_redirect(client, plan, member,
                                                                   open_round):
    token = _token(client, "/auth/login")
    resp = client.post("/feedback/objectives/A1/comments",
                       data={"csrf_token": token, "body": TYPED, "email": member.email,
                             "password": factories.PASSWORD})
    # Without the page's own sign-in marker nothing signs in: only the form comes back.
    assert resp.status_code == 401
    _is_kept_page(resp.get_data(as_text=True), SIGNED_OUT, signin=True)
    assert _comments() == []
    assert "Sign out" not in client.get("/").get_data(as_text=True)


def test_reply_after_idle_expiry_keeps_the_parent_and_the_text(app, client, login, plan,
                                                               member, other, open_round):
    top = factories.make_comment(other, "B2", "Top-level thought.")
    login(member)
    token = _token(client, f"/feedback/comments/{top.id}/reply")
    _idle_out(client, app)
    resp = client.post("/feedback/objectives/B2/comments",
                       data={"csrf_token": token, "body": TYPED, "parent_id": str(top.id)})
    html = resp.get_data(as_text=True)
    assert resp.status_code == 401
    _is_kept_page(html, SIGNED_OUT, signin=True)
    assert "Send your reply on objective B2 again" in html
    assert "signed out after a period of inactivity" not in html  # one sentence, not two
    hidden = _page_fields(html)
    assert hidden["parent_id"] == str(top.id) and hidden["typed_by"]
    resp = client.post("/feedback/objectives/B2/comments", data={
        **hidden, "email": member.email, "password": factories.PASSWORD, "body": TYPED})
    assert resp.status_code == 302
    reply = _comments()[-1]
    assert reply.parent_id == top.id and reply.user_id == member.id and reply.body == TYPED


def test_a_page_typed_by_one_member_is_never_sent_for_another(app, client, login, plan,
                                                              member, other, open_round):
    login(member)
    token = _token(client, "/plan/objectives/A1")
    _idle_out(client, app)
    html = client.post("/feedback/objectives/A1/comments",
                       data={"csrf_token": token, "body": TYPED}).get_data(as_text=True)
    hidden = _page_fields(html)
    resp = client.post("/feedback/objectives/A1/comments", data={
        **hidden, "email": other.email, "password": factories.PASSWORD, "body": TYPED})
    html = resp.get_data(as_text=True)
    assert resp.status_code == 409
    _is_kept_page(html, SOMEONE_ELSE, signin=False)
    assert "regional events" in html
    assert _comments() == []
    # Signed in as the other member now, whose page it has become: sending is their choice.
    assert _page_fields(html)["typed_by"] != hidden["typed_by"]


def test_edit_after_the_session_went_keeps_the_new_text(client, login, plan, member):
    c = factories.make_comment(member, "A1", "First words.")
    login(member)
    token = _token(client, f"/feedback/comments/{c.id}/edit")
    _lose_session(client)
    resp = client.post(f"/feedback/comments/{c.id}/edit",
                       data={"csrf_token": token, "body": "Second, better words."})
    html = resp.get_data(as_text=True)
    assert resp.status_code == 400
    _is_kept_page(html, SIGNED_OUT, signin=True)
    assert "Second, better words." in html and "First words." not in html
    resp = client.post(f"/feedback/comments/{c.id}/edit", data={
        **_page_fields(html), "email": member.email, "password": factories.PASSWORD,
        "body": "Second, better words."})
    assert resp.status_code == 302
    assert _comments()[0].body == "Second, better words."


# Ratings --------------------------------------------------------------------------

def test_rating_with_a_stale_token_while_signed_in_comes_back_checked(client, login, plan,
                                                                       member, open_round):
    login(member)
    resp = client.post("/feedback/objectives/A2/rating",
                       data={"csrf_token": "from-another-session", "importance": "4",
                             "performance": "2"})
    html = resp.get_data(as_text=True)
    assert resp.status_code == 400
    _is_kept_page(html, STALE_FORM, signin=False)
    assert _checked(html, "importance") == ["4"] and _checked(html, "performance") == ["2"]
    assert _ratings(member) == []
    hidden = _page_fields(html)
    resp = client.post("/feedback/objectives/A2/rating",
                       data={**hidden, "importance": "4", "performance": "2"})
    assert resp.status_code == 302
    assert _ratings(member) == [(factories.objective("A2").id, 4, 2)]


def test_rating_after_idle_expiry_signs_in_and_saves(app, client, login, plan, member,
                                                     open_round):
    login(member)
    token = _token(client, "/plan/objectives/A1")
    _idle_out(client, app)
    resp = client.post("/feedback/objectives/A1/rating",
                       data={"csrf_token": token, "importance": "5"})
    html = resp.get_data(as_text=True)
    assert resp.status_code == 401 and _ratings(member) == []
    _is_kept_page(html, SIGNED_OUT, signin=True)
    resp = client.post("/feedback/objectives/A1/rating", data={
        **_page_fields(html), "email": member.email, "password": factories.PASSWORD,
        "importance": "5"})
    assert resp.status_code == 302
    assert _ratings(member) == [(factories.objective("A1").id, 5, None)]


def test_domain_ratings_after_the_session_went_sign_in_and_save(client, login, plan, member,
                                                                open_round):
    login(member)
    token = _token(client, "/plan/domains/A")
    a1, a2 = factories.objective("A1"), factories.objective("A2")
    typed = {f"importance_{a1.id}": "3", f"performance_{a2.id}": "1"}
    _lose_session(client)
    resp = client.post("/feedback/domains/A/ratings", data={"csrf_token": token, **typed})
    html = resp.get_data(as_text=True)
    assert resp.status_code == 400
    _is_kept_page(html, SIGNED_OUT, signin=True)
    assert "Send your ratings of domain A again" in html
    assert _checked(html, f"importance_{a1.id}") == ["3"]
    assert _checked(html, f"performance_{a2.id}") == ["1"]
    assert _checked(html, f"performance_{a1.id}") == []
    resp = client.post("/feedback/domains/A/ratings", data={
        **_page_fields(html), "email": member.email, "password": factories.PASSWORD, **typed})
    assert resp.status_code == 302
    assert sorted(_ratings(member)) == sorted([(a1.id, 3, None), (a2.id, None, 1)])


# Survey section ---------------------------------------------------------------------

def test_survey_section_after_the_session_went_keeps_answers_only_in_the_page(
        client, login, member):
    survey = factories.make_survey()
    login(member)
    client.post_form(f"/surveys/{survey.id}/start")
    token = _token(client, f"/surveys/{survey.id}/sections/1")
    before = dict(db.session.scalar(sa.select(SurveyDraft)).answers)
    _lose_session(client)
    typed = {"q-q1": "yes", "q-q3": "4", "action": "save"}
    resp = client.post(f"/surveys/{survey.id}/sections/1", data={"csrf_token": token, **typed})
    html = resp.get_data(as_text=True)
    assert resp.status_code == 400
    _is_kept_page(html, SIGNED_OUT, signin=True)
    assert "Do you work in a library?" in html and "Satisfied?" in html
    assert "Topics?" not in html  # a visitor sees only the questions they answered
    assert _checked(html, "q-q1") == ["yes"] and _checked(html, "q-q3") == ["4"]
    db.session.expire_all()
    assert dict(db.session.scalar(sa.select(SurveyDraft)).answers) == before
    hidden = _page_fields(html)
    assert hidden["action"] == "save"
    resp = client.post(f"/surveys/{survey.id}/sections/1", data={
        **hidden, "email": member.email, "password": factories.PASSWORD,
        "q-q1": "yes", "q-q3": "4"})
    assert resp.status_code == 302 and resp.location.endswith("/surveys/")
    db.session.expire_all()
    answers = db.session.scalar(sa.select(SurveyDraft)).answers
    assert answers["q3"] == 4


def test_survey_section_with_a_stale_token_signed_in_shows_the_whole_section(
        client, login, member):
    survey = factories.make_survey()
    login(member)
    client.post_form(f"/surveys/{survey.id}/start")
    resp = client.post(f"/surveys/{survey.id}/sections/1",
                       data={"csrf_token": "stale", "q-q1": "no", "action": "next"})
    html = resp.get_data(as_text=True)
    assert resp.status_code == 400
    _is_kept_page(html, STALE_FORM, signin=False)
    assert "Topics?" in html  # signed in: every question of the section, as on its page
    resp = client.post(f"/surveys/{survey.id}/sections/1",
                       data={**_page_fields(html), "q-q1": "no"})
    assert resp.status_code == 302 and resp.location.endswith(f"/surveys/{survey.id}/sections/2")


# Limits -----------------------------------------------------------------------------

@pytest.fixture
def limited(app_config):
    app_config.update(RATELIMIT_ENABLED=True, RATELIMIT_AUTH_PER_IP="3 per minute",
                      RATELIMIT_AUTH_PER_ACCOUNT="3 per minute")


@pytest.mark.usefixtures("limited")
def test_sign_in_on_the_page_shares_the_sign_in_limits(client, plan, member, open_round):
    token = _token(client, "/auth/login")
    data = {"csrf_token": token, "body": TYPED, "resubmit_signin": "1",
            "email": member.email, "password": "wrong password!"}
    statuses = [client.post("/feedback/objectives/A1/comments", data=data).status_code
                for _ in range(3)]
    assert statuses == [401, 401, 401]
    resp = client.post("/feedback/objectives/A1/comments", data=data)
    assert resp.status_code == 429 and "Retry-After" in resp.headers
    assert "regional events" in resp.get_data(as_text=True)
    # The sign-in page counts the same attempts.
    resp = client.post("/auth/login", data={"csrf_token": token, "email": member.email,
                                            "password": factories.PASSWORD})
    assert resp.status_code == 429
    assert _comments() == []


def test_lockout_applies_on_the_page_too(client, plan, member, open_round, app):
    token = _token(client, "/auth/login")
    data = {"csrf_token": token, "body": TYPED, "resubmit_signin": "1",
            "email": member.email, "password": "wrong password!"}
    statuses = [client.post("/feedback/objectives/A1/comments", data=data).status_code
                for _ in range(12)]
    assert statuses[0] == 401 and 429 in statuses, statuses
    # Throttled: even the right password is not tried, and the text is still there.
    resp = client.post("/feedback/objectives/A1/comments",
                       data={**data, "password": factories.PASSWORD})
    assert resp.status_code == 429
    assert "Too many attempts" in resp.get_data(as_text=True)
    assert "regional events" in resp.get_data(as_text=True)
    assert _comments() == []


# The token's life, and what never signs in ----------------------------------------------

def test_the_csrf_token_lives_as_long_as_the_session(app, client, login, plan, member,
                                                     open_round, monkeypatch):
    import itsdangerous.timed as timed

    login(member)
    assert app.config["WTF_CSRF_TIME_LIMIT"] is None
    # A token made eleven hours ago (a tab left open all day, the session kept alive
    # by other tabs) is still good: only the session's own limits end it.
    _token(client, "/plan/objectives/A1")
    with client.session_transaction() as sess:
        raw = sess["csrf_token"]
    real = timed.time.time
    monkeypatch.setattr(timed, "time", type("T", (), {"time": staticmethod(
        lambda: real() - 11 * 3600)}))
    token = URLSafeTimedSerializer(app.secret_key, salt="wtf-csrf-token").dumps(raw)
    monkeypatch.undo()
    g.pop("csrf_token", None)
    resp = client.post("/feedback/objectives/A1/comments",
                       data={"csrf_token": token, "body": TYPED})
    assert resp.status_code == 302
    assert [c.body for c in _comments()] == [TYPED]


def test_a_get_never_signs_in(client, plan, member):
    c = factories.make_comment(member, "A1", "First words.")
    resp = client.get(f"/feedback/comments/{c.id}/edit", query_string={
        "resubmit_signin": "1", "email": member.email, "password": factories.PASSWORD})
    assert resp.status_code == 302 and "/auth/login" in resp.location
    assert "Sign out" not in client.get("/").get_data(as_text=True)


def test_a_forged_token_never_signs_in(client, plan, member, open_round):
    resp = client.post("/feedback/objectives/A1/comments", data={
        "csrf_token": "forged", "body": TYPED, "resubmit_signin": "1",
        "email": member.email, "password": factories.PASSWORD})
    assert resp.status_code == 400
    _is_kept_page(resp.get_data(as_text=True), SIGNED_OUT, signin=True)
    assert "Sign out" not in client.get("/").get_data(as_text=True)
    assert _comments() == []


def test_a_marker_that_is_not_a_digest_is_refused_not_a_500(client, login, plan, member,
                                                            open_round):
    login(member)
    resp = client.post_form("/feedback/objectives/A1/comments",
                            {"body": TYPED, "typed_by": "é" * 40})
    assert resp.status_code == 409
    assert _comments() == []


def test_keep_me_signed_in_needs_no_password_on_the_page(client, login, plan, member,
                                                         open_round):
    login(member, remember=True)
    token = _token(client, "/plan/objectives/A1")
    _lose_session(client)  # the remember-me cookie stays
    resp = client.post("/feedback/objectives/A1/comments",
                       data={"csrf_token": token, "body": TYPED})
    html = resp.get_data(as_text=True)
    assert resp.status_code == 400
    _is_kept_page(html, STALE_FORM, signin=False)
    resp = client.post("/feedback/objectives/A1/comments",
                       data={**_page_fields(html), "body": TYPED})
    assert resp.status_code == 302
    assert [(c.user_id, c.body) for c in _comments()] == [(member.id, TYPED)]


def test_an_unverified_member_signing_in_on_the_page_keeps_the_text(client, plan,
                                                                     open_round):
    unverified = factories.make_user(email="new@example.org", verified=False)
    token = _token(client, "/auth/login")
    resp = client.post("/feedback/objectives/A1/comments", data={
        "csrf_token": token, "body": TYPED, "resubmit_signin": "1",
        "email": unverified.email, "password": factories.PASSWORD})
    html = resp.get_data(as_text=True)
    assert resp.status_code == 403
    _is_kept_page(html, UNVERIFIED, signin=False)
    assert "regional events" in html and _comments() == []
