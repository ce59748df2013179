"""Signing in and out, throttling, session lifetime and ending sessions on the server."""

from __future__ import annotations

import statistics
import time

import pytest

from portal.auth.services import BAD_CREDENTIALS
from portal.extensions import db
from portal.models import User
from tests.factories import PASSWORD, make_user


def _login(client, email, password, **extra):
    return client.post_form("/auth/login", {"email": email, "password": password, **extra})


def test_login_with_the_right_password_signs_in(client, member):
    resp = _login(client, member.email, PASSWORD)
    assert resp.status_code == 302 and resp.headers["Location"] == "/"
    page = client.get("/account")
    assert page.status_code == 200 and member.email in page.get_data(as_text=True)
    assert db.session.get(User, member.id).last_login_at is not None


def test_login_follows_a_safe_next_only(client, member):
    resp = _login(client, member.email, PASSWORD, next="/account")
    assert resp.headers["Location"] == "/account"
    client.post_form("/auth/logout")
    for evil in ("https://evil.example/", "//evil.example/x", "/\\evil.example", "javascript:x"):
        resp = _login(client, member.email, PASSWORD, next=evil)
        assert resp.headers["Location"] == "/", evil
        client.post_form("/auth/logout")


def test_unknown_email_and_wrong_password_look_the_same(client, member):
    wrong = _login(client, member.email, "not the password at all")
    unknown = _login(client, "nobody@example.org", "not the password at all")
    assert wrong.status_code == unknown.status_code == 401
    for resp in (wrong, unknown):
        assert BAD_CREDENTIALS in resp.get_data(as_text=True)


@pytest.fixture
def app_config():
    return {}


# The throttle stays out of the measurement (it has its own timing test, which
# includes throttled answers).
@pytest.mark.parametrize("app_config", [{"ARGON2_TIME_COST": 2, "ARGON2_MEMORY_COST": 32768,
                                         "SIGNIN_FREE_FAILURES": 100}])
def test_unknown_email_and_wrong_password_take_comparable_time(client, app_config):
    make_user(email="timed@example.org")
    client.get("/auth/login")

    def timed(email: str) -> float:
        start = time.perf_counter()
        _login(client, email, "wrong password, long enough")
        return time.perf_counter() - start

    timed("nobody@example.org")  # warm-up: builds the dummy hash once
    # Interleaved, so a busy machine slows both sides alike.
    pairs = [(timed("timed@example.org"), timed("nobody@example.org")) for _ in range(9)]
    known = statistics.median(p[0] for p in pairs)
    unknown = statistics.median(p[1] for p in pairs)
    assert 0.5 < known / unknown < 2.0, (known, unknown)


def test_logout_is_post_only(client, member, login):
    login(member)
    assert client.get("/auth/logout").status_code == 405
    assert client.get("/account").status_code == 200


def test_the_session_is_cleared_at_login(client, member, login):
    with client.session_transaction() as sess:
        sess["planted"] = "by an attacker"
    login(member)
    with client.session_transaction() as sess:
        assert "planted" not in sess
        assert sess["_user_id"] == f"{member.id}.1"


def _copy_cookie(client):
    return client.get_cookie("session").value


def _with_cookie(app, value):
    other = app.test_client()
    other.set_cookie("session", value)
    return other


def test_logout_ends_the_session_on_the_server(app, client, member, login):
    login(member)
    stolen = _copy_cookie(client)
    assert _with_cookie(app, stolen).get("/account").status_code == 200
    client.post_form("/auth/logout")
    resp = _with_cookie(app, stolen).get("/account")
    assert resp.status_code == 302 and "/auth/login" in resp.headers["Location"]


def test_deactivation_ends_every_session(app, client, member, admin, login):
    login(member)
    stolen = _copy_cookie(client)
    login(admin)
    resp = client.post_form(f"/admin/users/{member.id}/deactivate")
    assert resp.status_code == 302
    assert _with_cookie(app, stolen).get("/account").status_code == 302
    # ...and the right password no longer opens the account.
    client.post_form("/auth/logout")
    assert _login(client, member.email, PASSWORD).status_code == 401


def test_remember_me_cookie_signs_in_and_dies_with_logout(app, client, member, login):
    login(member, remember=True)
    remember = client.get_cookie("remember_token")
    assert remember is not None and remember.http_only
    fresh = app.test_client()
    fresh.set_cookie("remember_token", remember.value)
    assert fresh.get("/account").status_code == 200
    client.post_form("/auth/logout")
    again = app.test_client()
    again.set_cookie("remember_token", remember.value)
    assert again.get("/account").status_code == 302


def test_session_cookie_flags(client, member, login):
    resp = login(member)
    cookie = [h for h in resp.headers.getlist("Set-Cookie") if h.startswith("session=")][0]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
    assert "Secure" not in cookie  # development and tests run on http


def test_production_cookies_are_secure(monkeypatch, tmp_path):
    from portal import create_app
    from tests.test_app import STRONG_KEY

    monkeypatch.setenv("SECRET_KEY", STRONG_KEY)
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path}/p.db")
    monkeypatch.delenv("FLASK_DEBUG", raising=False)
    app = create_app("production")
    assert app.config["SESSION_COOKIE_SECURE"] and app.config["REMEMBER_COOKIE_SECURE"]
    assert app.config["SESSION_COOKIE_HTTPONLY"] and app.config["SESSION_COOKIE_SAMESITE"] == "Lax"
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


def _age_session(client, **seconds_ago):
    now = int(time.time())
    with client.session_transaction() as sess:
        for key, ago in seconds_ago.items():
            sess[key] = now - ago


def test_idle_timeout_ends_the_session(app, client, member, login):
    login(member)
    idle = app.config["SESSION_IDLE_MINUTES"] * 60
    _age_session(client, seen_at=idle - 60)
    assert client.get("/account").status_code == 200
    _age_session(client, seen_at=idle + 60)
    resp = client.get("/account")
    assert resp.status_code == 302 and "/auth/login" in resp.headers["Location"]


def test_absolute_timeout_ends_an_active_session(app, client, member, login):
    login(member)
    absolute = app.config["SESSION_ABSOLUTE_HOURS"] * 3600
    _age_session(client, started_at=absolute + 60, seen_at=10)
    resp = client.get("/account")
    assert resp.status_code == 302 and "/auth/login" in resp.headers["Location"]


@pytest.mark.parametrize("app_config", [{"SESSION_IDLE_MINUTES": 5}])
def test_idle_timeout_comes_from_the_configuration(client, member, login, app_config):
    login(member)
    _age_session(client, seen_at=6 * 60)
    assert client.get("/account").status_code == 302


def test_signed_in_pages_are_not_cached(client, member, login):
    assert "no-store" not in client.get("/").headers.get("Cache-Control", "")
    login(member)
    for url in ("/", "/account", "/account/data"):
        assert client.get(url).headers["Cache-Control"] == "no-store", url


# Throttling (the lockout it replaced refused even the right password) ----------------

@pytest.fixture
def clock(monkeypatch):
    from tests.test_auth_throttle import Clock

    return Clock(monkeypatch)


def test_repeated_failures_slow_the_client_with_growing_delays(app, client, member, clock):
    free = app.config["SIGNIN_FREE_FAILURES"]
    for _ in range(free + 1):
        assert _login(client, member.email, "wrong password!!").status_code == 401

    # This client now waits, even with the right password, and is told for how long.
    resp = _login(client, member.email, PASSWORD)
    first_wait = int(resp.headers["Retry-After"])
    assert resp.status_code == 429 and first_wait > 0
    assert "Too many attempts to sign in with this address from here" in resp.get_data(
        as_text=True)

    # After the wait, one more failure makes it wait longer.
    clock.advance(seconds=first_wait)
    assert _login(client, member.email, "wrong again!!!!").status_code == 401
    second_wait = int(_login(client, member.email, PASSWORD).headers["Retry-After"])
    assert second_wait > first_wait

    clock.advance(seconds=second_wait)
    assert _login(client, member.email, PASSWORD).status_code == 302


def test_a_password_reset_lets_the_throttled_client_in(app, client, member):
    for _ in range(app.config["SIGNIN_FREE_FAILURES"] + 1):
        _login(client, member.email, "wrong password!!")
    assert _login(client, member.email, PASSWORD).status_code == 429
    client.post_form("/auth/forgot", {"email": member.email})
    from tests.factories import link_path, mail_outbox

    path = link_path(mail_outbox()[-1], "/auth/reset/")
    assert client.post_form(path, {"password": "a brand new passphrase"}).status_code == 302
    assert _login(client, member.email, "a brand new passphrase").status_code == 302


def test_a_new_secret_key_ends_sessions_unless_the_old_one_is_a_fallback(app, client, member,
                                                                        login):
    # The session serializer is made once per set of keys: rotating them still counts.
    login(member)
    assert client.get("/account").status_code == 200
    old = app.secret_key
    app.secret_key = old + "-rotated"
    app.config["SECRET_KEY_FALLBACKS"] = [old]
    assert client.get("/account").status_code == 200
    app.config["SECRET_KEY_FALLBACKS"] = []
    resp = client.get("/account")
    assert resp.status_code == 302 and "/auth/login" in resp.headers["Location"]
