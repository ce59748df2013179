"""Attacks on other members' things, on privileges, on redirects and on sessions.

tests/test_access.py already proves the role matrix, deny-by-default and CSRF for
every route; this file goes one level down: member B against member A's objects,
extra fields posted to every form, hostile `next` values and replayed cookies.
"""

from __future__ import annotations

import json
from urllib.parse import urlsplit

import pytest
import sqlalchemy as sa
from flask import g

from portal.extensions import db
from portal.models import Comment, Rating, SurveyDraft, SurveyParticipation, User
from tests import factories
from tests.factories import PASSWORD

A_SECRET = "Alpha's private words 7731"


@pytest.fixture
def login(login, client):
    """Sign in afresh (the suite's app context keeps Flask-WTF's token cache in `g`)."""

    def _login(user, *args, **kwargs):
        g.pop("csrf_token", None)
        client.post_form("/auth/logout")
        g.pop("csrf_token", None)
        resp = login(user, *args, **kwargs)
        g.pop("csrf_token", None)
        return resp

    return _login


@pytest.fixture
def world(app, plan, client, login):
    """Member A has a rating, a comment, a survey draft and an attributed survey answer;
    member B is signed in at the end."""
    a = factories.make_user(email="alpha@example.org", display_name="Alpha",
                            region="west")
    b = factories.make_user(email="bravo@example.org", display_name="Bravo",
                            region="west")
    rnd = factories.make_round()
    factories.make_rating(a, factories.objective("A1"), rnd, 5, 1)
    comment = factories.make_comment(a, "A1", body=A_SECRET)
    survey = factories.make_survey()
    attributed = factories.make_survey(anonymous=False)
    login(a)
    for s in (survey, attributed):
        client.post_form(f"/surveys/{s.id}/start")
        resp = client.post_form(f"/surveys/{s.id}/sections/1",
                                {"q-q1": "other", "q-q1-other": A_SECRET, "q-q3": "4",
                                 "action": "save"})
        assert resp.status_code == 302, resp.get_data(as_text=True)[:2000]
    login(b)
    return {"a": a, "b": b, "round": rnd, "comment": comment, "survey": survey,
            "attributed": attributed}


def _user_state(user_id: int) -> tuple:
    u = db.session.get(User, user_id)
    return (u.email, u.display_name, u.role, u.active, u.email_verified_at,
            u.session_version, u.password_hash)


# Object-level access ------------------------------------------------------------------

def test_member_b_cannot_edit_or_delete_member_as_comment(client, world):
    cid = world["comment"].id
    assert client.get(f"/feedback/comments/{cid}/edit").status_code == 403
    assert client.post_form(f"/feedback/comments/{cid}/edit",
                            {"body": "B was here"}).status_code == 403
    assert client.post_form(f"/feedback/comments/{cid}/delete").status_code == 403
    db.session.expire_all()
    comment = db.session.get(Comment, cid)
    assert (comment.body, comment.status, comment.deleted_at) == (A_SECRET, "visible", None)


def test_member_b_cannot_read_member_as_survey_drafts_or_answers(client, world):
    for survey in (world["survey"], world["attributed"]):
        for path in (f"/surveys/{survey.id}", f"/surveys/{survey.id}/sections/1",
                     f"/surveys/{survey.id}/review", "/surveys/", "/feedback/mine",
                     "/account"):
            page = client.get(path).get_data(as_text=True)
            assert A_SECRET not in page, path
    # B's own saves never touch A's draft.
    s = world["survey"]
    client.post_form(f"/surveys/{s.id}/start")
    client.post_form(f"/surveys/{s.id}/sections/1",
                     {"q-q1": "no", "q-q3": "1", "action": "save",
                      "user_id": str(world["a"].id)})
    db.session.expire_all()
    drafts = {d.user_id: d.answers for d in db.session.scalars(sa.select(SurveyDraft))
              if d.survey_id == s.id}
    assert drafts[world["a"].id]["q1"]["other"] == A_SECRET
    assert drafts[world["b"].id]["q1"]["option"] == "no"


def test_data_export_and_my_feedback_ignore_another_members_id(client, world):
    a = world["a"]
    for query in (f"?user_id={a.id}", f"?id={a.id}", f"?user={a.email}", f"?email={a.email}"):
        resp = client.get("/account/data" + query)
        assert resp.status_code == 200
        data = resp.get_data(as_text=True)
        assert A_SECRET not in data and a.email not in data, query
        assert "bravo@example.org" in data
        assert json.loads(data)
        mine = client.get("/feedback/mine" + query).get_data(as_text=True)
        assert A_SECRET not in mine


def test_a_member_cannot_submit_for_another_member(client, world):
    a, b = world["a"], world["b"]
    s = world["survey"]
    # A's draft is complete enough to submit; B's session cannot submit it for A.
    resp = client.post_form(f"/surveys/{s.id}/submit", {"user_id": str(a.id)})
    assert resp.status_code in (400, 409, 422)
    assert db.session.get(SurveyParticipation, (s.id, a.id)) is None
    assert db.session.get(SurveyParticipation, (s.id, b.id)) is None


# Mass assignment -----------------------------------------------------------------------

PRIVILEGED = {
    "role": "admin", "is_admin": "y", "admin": "1", "is_leader": "y", "active": "y",
    "email_verified_at": "2020-01-01", "verified": "y", "session_version": "99",
    "failed_logins": "0", "locked_until": "", "member_number": "HACK-1",
    "password_hash": "x", "created_at": "2000-01-01",
}


def _member_post_rules(app):
    return sorted((r for r in app.url_map.iter_rules()
                   if "POST" in r.methods and not r.rule.startswith(("/admin", "/reports"))
                   and r.endpoint not in {"auth.logout", "account.delete"}),
                  key=lambda r: r.rule)


def _url_for_rule(app, rule, values: dict) -> str:
    args = {name: values.get(name, 1) for name in rule.arguments}
    with app.test_request_context():
        return app.url_for(rule.endpoint, **args)


def test_privileged_and_foreign_fields_posted_to_every_form_change_nothing(app, client, world):
    a, b = world["a"], world["b"]
    foreign = {"user_id": str(a.id), "id": str(a.id), "author_id": str(a.id),
               "owner_id": str(a.id), "email": a.email}
    values = {"comment_id": world["comment"].id, "survey_id": world["survey"].id,
              "number": 1, "code": "A2", "token": "x"}
    a_before = _user_state(a.id)
    b_before = _user_state(b.id)
    a_ratings = db.session.execute(sa.select(Rating.objective_id, Rating.importance,
                                             Rating.performance)
                                   .where(Rating.user_id == a.id)).all()
    forms = [
        {"importance": "3", "performance": "3", "body": "B's own words.", "reason": "spam",
         "display_name": "Bravo", "q-q1": "yes", "q-q3": "2", "action": "save"},
        {},
    ]
    checked = 0
    for rule in _member_post_rules(app):
        url = _url_for_rule(app, rule, values)
        for legit in forms:
            resp = client.post_form(url, {**legit, **PRIVILEGED, **foreign})
            assert resp.status_code < 500, (url, resp.status_code)
            checked += 1
    assert checked >= 20
    db.session.expire_all()
    assert _user_state(a.id) == a_before
    b_after = _user_state(b.id)
    assert b_after[2:] == b_before[2:]  # role, active, verified, sessions, password
    assert db.session.execute(sa.select(Rating.objective_id, Rating.importance,
                                        Rating.performance)
                              .where(Rating.user_id == a.id)).all() == a_ratings
    # Whatever B managed to post belongs to B.
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Comment)
                             .where(Comment.user_id == a.id)) == 1
    assert db.session.get(User, b.id).member_number is None


def test_registration_ignores_role_and_verification_fields(client, app):
    resp = client.post_form("/auth/register", {
        "email": "eve@example.org", "display_name": "Eve", "password": PASSWORD,
        **PRIVILEGED})
    assert resp.status_code == 302
    eve = db.session.scalar(sa.select(User).where(User.email == "eve@example.org"))
    assert eve.role == "member" and eve.email_verified_at is None
    assert eve.member_number is None and eve.session_version == 1


def test_profile_ignores_privileged_fields(client, world):
    b = world["b"]
    resp = client.post_form("/account", {"display_name": "Bravo Two", **PRIVILEGED,
                                         "user_id": str(world["a"].id)})
    assert resp.status_code == 302
    db.session.expire_all()
    assert db.session.get(User, b.id).display_name == "Bravo Two"
    assert db.session.get(User, world["a"].id).display_name == "Alpha"
    assert db.session.get(User, b.id).role == "member"


# Open redirects --------------------------------------------------------------------------

NASTY_NEXT = [
    "https://evil.example", "http://evil.example/", "//evil.example", "///evil.example",
    "////evil.example", "/\\evil.example", "\\\\evil.example", "/\\/evil.example",
    "https:evil.example", "javascript:alert(1)", "JaVaScRiPt:alert(1)",
    "data:text/html,<script>alert(1)</script>", " //evil.example", "\t//evil.example",
    "/\t/evil.example", "/\n/evil.example", "/\r\nLocation: https://evil.example",
    "%2F%2Fevil.example", "https%3A%2F%2Fevil.example", "evil.example", "@evil.example",
    "/@evil.example", "http://127.0.0.1@evil.example", "//evil.example/%2F..",
    "/%09/evil.example", "\u3002evil.example", "//evil%E3%80%82example",
    "/ /evil.example", "\x00//evil.example",
]


def _assert_local(resp):
    location = resp.headers.get("Location", "")
    parts = urlsplit(location)
    assert not parts.scheme and not parts.netloc, location
    assert location.startswith("/") and not location.startswith(("//", "/\\")), location
    assert not any(ord(c) < 33 for c in location), location
    # Browsers treat a backslash as a slash: "/\\host" would leave the site.
    assert "\\" not in location.split("?")[0], location


@pytest.mark.parametrize("target", NASTY_NEXT)
def test_no_open_redirect_after_sign_in(client, member, target):
    resp = client.post_form(f"/auth/login?next={target}",
                            {"email": member.email, "password": PASSWORD, "next": target})
    assert resp.status_code == 302
    _assert_local(resp)


def test_no_open_redirect_anywhere_next_is_read(client, world):
    comment = world["comment"]
    # B is signed in: the sign-in page redirects, endorsements go back to `next`.
    for target in NASTY_NEXT:
        resp = client.get("/auth/login", query_string={"next": target})
        if resp.status_code == 302:
            _assert_local(resp)
        for verb in ("endorse", "unendorse"):
            resp = client.post_form(f"/feedback/comments/{comment.id}/{verb}?next={target}",
                                    {"next": target})
            if resp.status_code == 302:
                _assert_local(resp)
        resp = client.post_form("/auth/confirm", {"password": PASSWORD, "next": target},
                                query_string={"next": target})
        if resp.status_code == 302:
            _assert_local(resp)


# Session replay ------------------------------------------------------------------------------

def _cookie(client) -> str:
    return client.get_cookie("session").value


def _replay(app, cookie: str):
    other = app.test_client()
    other.set_cookie("session", cookie)
    return other


def test_a_session_cookie_copied_before_logout_is_dead_afterwards(app, client, login, member,
                                                                  plan):
    login(member)
    token = client.csrf_token()
    stolen = _cookie(client)
    assert _replay(app, stolen).get("/account").status_code == 200
    client.post_form("/auth/logout")
    thief = _replay(app, stolen)
    resp = thief.get("/account")
    assert resp.status_code == 302 and "/auth/login" in resp.headers["Location"]
    # A form posted with the stolen cookie and its token is refused too.
    factories.make_round()
    resp = thief.post("/feedback/objectives/A1/comments",
                      data={"body": "Posted by a thief", "csrf_token": token})
    # Signed out: the form comes back asking for the password (tests/test_resubmit.py),
    # which the thief does not have.
    assert resp.status_code in (302, 400, 401)
    assert "/auth/login" in resp.headers.get("Location", "/auth/login")
    if resp.status_code == 401:
        assert 'name="password"' in resp.get_data(as_text=True)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Comment)) == 0


def test_a_password_change_ends_the_other_sessions(app, client, login, member):
    other_device = app.test_client()
    login(member)
    stolen = _cookie(client)
    other_device.set_cookie("session", stolen)
    assert other_device.get("/account").status_code == 200
    resp = client.post_form("/auth/password", {"current_password": PASSWORD,
                                               "new_password": "a brand new passphrase 2024"})
    assert resp.status_code == 302
    resp = other_device.get("/account")
    assert resp.status_code == 302 and "/auth/login" in resp.headers["Location"]
    # The device that changed it stays signed in with a fresh session.
    assert client.get("/account").status_code == 200
    assert _cookie(client) != stolen


def test_a_password_reset_ends_every_session(app, client, member, login):
    login(member)
    stolen = _cookie(client)
    g.pop("csrf_token", None)
    client.post_form("/auth/logout")
    g.pop("csrf_token", None)
    client.post_form("/auth/forgot", {"email": member.email})
    path = factories.link_path(factories.mail_outbox()[-1], "/auth/reset/")
    g.pop("csrf_token", None)
    resp = client.post_form(path, {"password": "another new passphrase 77"})
    assert resp.status_code == 302
    resp = _replay(app, stolen).get("/account")
    assert resp.status_code == 302 and "/auth/login" in resp.headers["Location"]
    # The reset link works once.
    g.pop("csrf_token", None)
    again = client.post_form(path, {"password": "a third passphrase 99"})
    assert again.status_code in (400, 404, 410)
