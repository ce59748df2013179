"""Registration, e-mail verification, password rules, resets and password changes."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from portal.auth import passwords
from portal.extensions import db
from portal.models import AccountToken, Invitation, User
from portal.timeutil import now_utc
from tests.factories import PASSWORD, link_path, mail_outbox, make_roster_entry, make_user

GOOD = "plum orchard at midnight"


def _register(client, email="new@example.org", name="New Member", password=GOOD, **extra):
    return client.post_form("/auth/register",
                            {"email": email, "display_name": name, "password": password, **extra})


def _users() -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(User))


def test_register_verify_and_sign_in(client):
    resp = _register(client, email="New@Example.org")
    assert resp.status_code == 302 and resp.headers["Location"] == "/auth/check-inbox"
    user = db.session.scalar(sa.select(User).where(User.email == "new@example.org"))
    assert user is not None and user.role == "member" and not user.is_verified
    assert user.password_hash.startswith("$argon2id$")

    message = mail_outbox()[-1]
    assert message.to == "new@example.org"
    path = link_path(message, "/auth/verify/")
    # Opening the link changes nothing; pressing the button verifies.
    assert client.get(path).status_code == 200
    db.session.refresh(user)
    assert not user.is_verified
    assert client.post_form(path).status_code == 302
    db.session.refresh(user)
    assert user.is_verified
    # The link works once.
    assert client.post_form(path).status_code == 400

    resp = client.post_form("/auth/login", {"email": "new@example.org", "password": GOOD})
    assert resp.status_code == 302


def test_links_in_mail_use_base_url_not_the_host_header(client):
    _register(client, headers={"Host": "evil.example"})
    assert "evil.example" not in mail_outbox()[-1].body
    assert "http://127.0.0.1:5000/auth/verify/" in mail_outbox()[-1].body


def test_unverified_members_are_refused_by_verified_required(app):
    from flask_login import login_user
    from werkzeug.exceptions import Forbidden

    from portal.security import verified_required

    @verified_required
    def rate():
        return "rated"

    unverified, verified = make_user(verified=False), make_user(verified=True)
    with app.test_request_context():
        login_user(unverified)
        with pytest.raises(Forbidden):
            rate()
    with app.test_request_context():
        login_user(verified)
        assert rate() == "rated"


def test_registering_an_existing_address_reveals_nothing(client, member):
    resp = _register(client, email=member.email)
    assert resp.status_code == 302 and resp.headers["Location"] == "/auth/check-inbox"
    assert _users() == 1
    message = mail_outbox()[-1]
    assert message.to == member.email and "already have one" in message.body


@pytest.mark.parametrize("password, message", [
    ("short pass", "at least 12"),
    ("x" * 129, "at most 128"),
    ("1qaz2wsx3edc", "most commonly used"),
    ("QWERTYUIOPASDFGHJKL", None),  # not on the list: fine even without "rules"
    ("my newmember password", "e-mail address"),
])
def test_password_rules(client, password, message):
    resp = _register(client, email="newmember@example.org", password=password)
    if message is None:
        assert resp.status_code == 302
        return
    assert resp.status_code == 400
    html = resp.get_data(as_text=True)
    assert message in html and 'id="password-error"' in html
    assert _users() == 0


def test_any_unicode_password_is_accepted():
    assert passwords.password_problem("ключ 🗝️ 鍵 clé ✓✓✓", "a@example.org") is None
    assert passwords.password_problem("    " * 3, "a@example.org") is None  # spaces count
    assert len(passwords.common_passwords()) == 10_000


def test_short_local_parts_do_not_block_passwords():
    assert passwords.password_problem("alpha beta gamma", "al@example.org") is None
    assert passwords.password_problem("alice in the garden", "alice@example.org")


def test_roster_mode_only_admits_roster_addresses(client, admin, login):
    from portal.auth.registration import set_mode

    set_mode(admin, "roster")
    db.session.commit()
    make_roster_entry("listed@example.org", member_number="A-17", membership_type="student",
                      region="west")
    resp = _register(client, email="stranger@example.org")
    assert resp.status_code == 400 and "not on the member roster" in resp.get_data(as_text=True)
    assert _users() == 1
    assert _register(client, email="listed@example.org").status_code == 302
    user = db.session.scalar(sa.select(User).where(User.email == "listed@example.org"))
    assert (user.member_number, user.membership_type, user.region) == ("A-17", "student", "west")


def test_invitation_mode_needs_a_matching_invitation(client, admin, login):
    from portal.auth.registration import create_invitation, set_mode

    set_mode(admin, "invitation")
    token = create_invitation(admin, "guest@example.org")
    db.session.commit()
    page = client.get("/auth/register")
    assert "by invitation only" in page.get_data(as_text=True)
    assert _register(client, email="guest@example.org").status_code == 400
    assert _register(client, email="other@example.org", invite=token).status_code == 400
    assert _users() == 1

    page = client.get(f"/auth/register?invite={token}")
    assert "guest@example.org" in page.get_data(as_text=True)
    resp = _register(client, email="guest@example.org", invite=token)
    assert resp.status_code == 302 and resp.headers["Location"] == "/auth/login"
    user = db.session.scalar(sa.select(User).where(User.email == "guest@example.org"))
    assert user.is_verified  # the invitation link proved the address
    assert db.session.scalar(sa.select(Invitation.accepted_at)) is not None
    # An invitation works once.
    assert _register(client, email="guest@example.org", invite=token).status_code == 400


# Password reset --------------------------------------------------------------------

def _request_reset(client, email):
    resp = client.post_form("/auth/forgot", {"email": email})
    assert resp.status_code == 302 and "/auth/check-inbox" in resp.headers["Location"]
    return resp


def test_reset_answers_the_same_for_unknown_addresses(client, member):
    first = _request_reset(client, "nobody@example.org")
    assert mail_outbox() == []
    second = _request_reset(client, member.email)
    assert first.headers["Location"] == second.headers["Location"]
    assert len(mail_outbox()) == 1


def test_reset_link_is_single_use_and_ends_sessions(app, client, member, login):
    login(member)
    stolen = client.get_cookie("session").value
    _request_reset(client, member.email)
    path = link_path(mail_outbox()[-1], "/auth/reset/")
    other = app.test_client()
    assert other.get(path).status_code == 200
    assert client.post_form(path, {"password": "short"}).status_code == 400
    assert client.post_form(path, {"password": "new and lovely passphrase"}).status_code == 302
    thief = app.test_client()
    thief.set_cookie("session", stolen)
    assert thief.get("/account").status_code == 302
    assert client.post_form(path, {"password": "another fine passphrase"}).status_code == 400
    resp = client.post_form("/auth/login", {"email": member.email,
                                            "password": "new and lovely passphrase"})
    assert resp.status_code == 302


def test_reset_link_expires_after_an_hour(client, member):
    _request_reset(client, member.email)
    path = link_path(mail_outbox()[-1], "/auth/reset/")
    row = db.session.scalar(sa.select(AccountToken))
    assert timedelta(minutes=59) < row.expires_at - row.created_at <= timedelta(minutes=60)
    row.expires_at = now_utc() - timedelta(seconds=1)
    db.session.commit()
    resp = client.post_form(path, {"password": "new and lovely passphrase"})
    assert resp.status_code == 400 and "expired" in resp.get_data(as_text=True)


def test_only_the_newest_reset_link_works(client, member):
    _request_reset(client, member.email)
    old = link_path(mail_outbox()[-1], "/auth/reset/")
    _request_reset(client, member.email)
    new = link_path(mail_outbox()[-1], "/auth/reset/")
    assert client.post_form(old, {"password": "new and lovely passphrase"}).status_code == 400
    assert client.post_form(new, {"password": "new and lovely passphrase"}).status_code == 302


def test_tokens_are_stored_hashed(client, member):
    _request_reset(client, member.email)
    token = link_path(mail_outbox()[-1], "/auth/reset/").rsplit("/", 1)[1]
    stored = db.session.scalar(sa.select(AccountToken.token_hash))
    assert token not in stored and len(stored) == 64


# Password change ------------------------------------------------------------------

def test_change_password_needs_a_recent_login(app, client, member, login):
    login(member)
    with client.session_transaction() as sess:
        sess["password_at"] -= app.config["RECENT_LOGIN_MINUTES"] * 60 + 5
    resp = client.get("/auth/password")
    assert resp.status_code == 302 and resp.headers["Location"].startswith("/auth/confirm")
    resp = client.post_form("/auth/confirm?next=/auth/password",
                            {"password": PASSWORD, "next": "/auth/password"})
    assert resp.status_code == 302 and resp.headers["Location"] == "/auth/password"
    assert client.get("/auth/password").status_code == 200


def test_change_password_ends_other_sessions_but_keeps_this_one(app, client, member, login):
    login(member)
    stolen = client.get_cookie("session").value
    resp = client.post_form("/auth/password", {"current_password": "wrong one, surely",
                                               "new_password": "new and lovely passphrase"})
    assert resp.status_code == 400 and 'id="current_password-error"' in resp.get_data(True)
    resp = client.post_form("/auth/password", {"current_password": PASSWORD,
                                               "new_password": "new and lovely passphrase"})
    assert resp.status_code == 302
    assert client.get("/account").status_code == 200
    thief = app.test_client()
    thief.set_cookie("session", stolen)
    assert thief.get("/account").status_code == 302
    user = db.session.get(User, member.id)
    db.session.refresh(user)
    assert passwords.verify_password(user.password_hash, "new and lovely passphrase")
