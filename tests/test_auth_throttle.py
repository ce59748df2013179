"""Sign-in protection that cannot be turned against members.

An attacker who knows a member's address cannot keep them out (device cookie, sign-in
link), and nothing the sign-in answers (status, message, timing) tells an address
with an account from one without.
"""

from __future__ import annotations

import random
import re
import statistics
import time
from datetime import timedelta

import pytest
import sqlalchemy as sa
from scipy import stats

from portal import timeutil
from portal.auth import throttle
from portal.auth.services import BAD_CREDENTIALS
from portal.extensions import db
from portal.models import AccountToken, SigninAccountFailures, SigninThrottle, User
from tests.factories import PASSWORD, link_path, mail_outbox, make_user

WRONG = "not the password at all"
ATTACKER_IP = "203.0.113.66"
OWNER_IP = "198.51.100.20"


class Clock:
    """portal.timeutil.now_utc under the test's control (the throttle reads it there)."""

    def __init__(self, monkeypatch) -> None:
        self.now = timeutil.now_utc()
        monkeypatch.setattr(timeutil, "now_utc", lambda: self.now)

    def advance(self, **delta) -> None:
        self.now += timedelta(**delta)


@pytest.fixture
def clock(monkeypatch):
    return Clock(monkeypatch)


def _device(app, ip: str):
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = ip
    return client


def _login(client, email, password, **kwargs):
    return client.post_form("/auth/login", {"email": email, "password": password}, **kwargs)


def _logout(client):
    assert client.post_form("/auth/logout").status_code == 302


def _signed_in_as(client, user) -> bool:
    page = client.get("/account")
    return page.status_code == 200 and user.email in page.get_data(as_text=True)


def _sign_in_with_link(client, email) -> None:
    before = len(mail_outbox())
    resp = client.post_form("/auth/login-link", {"email": email}, buffered=True)
    assert resp.status_code == 302 and "/auth/check-inbox?link=1" in resp.headers["Location"]
    assert len(mail_outbox()) == before + 1
    path = link_path(mail_outbox()[-1], "/auth/login-link/")
    assert client.get(path).status_code == 200  # a button only: scanners sign nobody in
    resp = client.post_form(path)
    assert resp.status_code == 302, resp.get_data(as_text=True)[:500]


# The scripted attacker --------------------------------------------------------------

@pytest.mark.parametrize("owner_ip", [OWNER_IP, ATTACKER_IP], ids=["elsewhere", "same-network"])
def test_an_attacker_cannot_keep_the_member_out_of_their_usual_device(app, member, clock,
                                                                     owner_ip):
    device = _device(app, owner_ip)
    assert _login(device, member.email, PASSWORD).status_code == 302
    assert device.get_cookie(throttle.DEVICE_COOKIE) is not None
    _logout(device)

    attacker = _device(app, ATTACKER_IP)
    answers = []
    for _minute in range(10):  # one wrong password a minute for ten minutes
        answers.append(_login(attacker, member.email, WRONG).status_code)
        clock.advance(seconds=30)
        assert _login(device, member.email, PASSWORD).status_code == 302
        assert _signed_in_as(device, member)
        _logout(device)
        clock.advance(seconds=30)
    assert answers[:4] == [401] * 4 and answers[-1] == 429, answers  # the attacker slowed


def test_an_attacker_cannot_keep_the_member_out_of_a_new_device(app, member, clock):
    attacker = _device(app, ATTACKER_IP)
    for _minute in range(10):
        clock.advance(minutes=1)
        _login(attacker, member.email, WRONG)
    # A new device on the attacker's network (the same café Wi-Fi) is throttled...
    new_device = _device(app, ATTACKER_IP)
    resp = _login(new_device, member.email, PASSWORD)
    assert resp.status_code == 429 and int(resp.headers["Retry-After"]) > 0
    assert "sign-in link" in resp.get_data(as_text=True)
    # ...but the e-mailed link bypasses the throttle, and the device is trusted after it.
    _sign_in_with_link(new_device, member.email)
    assert _signed_in_as(new_device, member)
    _logout(new_device)
    _login(attacker, member.email, WRONG)
    assert _login(new_device, member.email, PASSWORD).status_code == 302


def test_many_networks_throttle_the_address_for_new_clients_only_up_to_a_ceiling(app, member,
                                                                                 clock):
    device = _device(app, OWNER_IP)
    assert _login(device, member.email, PASSWORD).status_code == 302
    _logout(device)
    clients = app.config["SIGNIN_ACCOUNT_CLIENTS"]
    ceiling = app.config["SIGNIN_ACCOUNT_DELAY_MAX_SECONDS"]
    for i in range(clients):
        assert _login(_device(app, f"192.0.2.{i + 1}"), member.email, WRONG).status_code == 401
    # From now on new clients wait, longer and longer, but never past the ceiling; the
    # attackers wait for it and try again from yet another network.
    waits = []
    for i in range(clients, clients + 8):
        resp = _login(_device(app, f"192.0.2.{i + 1}"), member.email, WRONG)
        assert resp.status_code == 429
        waits.append(int(resp.headers["Retry-After"]))
        # The device cookie is not held back by the address-wide throttle.
        assert _login(device, member.email, PASSWORD).status_code == 302
        _logout(device)
        clock.advance(seconds=waits[-1])
        assert _login(_device(app, f"192.0.2.{i + 1}"), member.email, WRONG).status_code == 401
    assert waits == sorted(waits) and waits[0] < waits[-1] == ceiling, waits
    resp = _login(_device(app, "198.51.100.99"), member.email, PASSWORD)
    assert resp.status_code == 429 and int(resp.headers["Retry-After"]) <= ceiling
    clock.advance(seconds=ceiling)
    assert _login(_device(app, "198.51.100.99"), member.email, PASSWORD).status_code == 302


def test_a_device_cookie_is_signed_and_vouches_only_for_its_addresses(app, member, clock):
    other = make_user(email="other@example.org")
    device = _device(app, ATTACKER_IP)
    resp = _login(device, member.email, PASSWORD)
    cookie = [h for h in resp.headers.getlist("Set-Cookie")
              if h.startswith(throttle.DEVICE_COOKIE + "=")][0]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Max-Age=" in cookie
    _logout(device)
    for _ in range(8):
        _login(_device(app, ATTACKER_IP), member.email, WRONG)
        _login(_device(app, ATTACKER_IP), other.email, WRONG)
    assert _login(device, member.email, PASSWORD).status_code == 302
    _logout(device)
    # Not for an address that never signed in on it.
    assert _login(device, other.email, PASSWORD).status_code == 429
    # A forged or altered cookie counts for nothing.
    value = device.get_cookie(throttle.DEVICE_COOKIE).value
    forged = _device(app, ATTACKER_IP)
    tampered = value[:-3] + ("AAA" if value[-3:] != "AAA" else "BBB")
    forged.set_cookie(throttle.DEVICE_COOKIE, tampered)
    assert _login(forged, member.email, PASSWORD).status_code == 429


def test_a_trusted_device_is_throttled_on_its_own_failures(app, member, clock):
    device = _device(app, OWNER_IP)
    assert _login(device, member.email, PASSWORD).status_code == 302
    _logout(device)
    for _ in range(app.config["SIGNIN_FREE_FAILURES"] + 1):
        assert _login(device, member.email, WRONG).status_code == 401
    assert _login(device, member.email, PASSWORD).status_code == 429
    # ...which does not reach the owner's other devices or networks.
    assert _login(_device(app, "198.51.100.77"), member.email, PASSWORD).status_code == 302


# The same answer for every address ------------------------------------------------

CSRF = re.compile(r'(name="csrf_token"[^>]*value=")[^"]+')
EMAIL_VALUE = re.compile(r'(name="email"[^>]*value=")[^"]*')


def _normalised(resp) -> str:
    page = resp.get_data(as_text=True)
    return EMAIL_VALUE.sub(r"\1", CSRF.sub(r"\1", page))


def _kinds(app):
    make_user(email="known@example.org")
    make_user(email="unverified@example.org", verified=False)
    make_user(email="gone@example.org", active=False)
    return ["known@example.org", "unverified@example.org", "gone@example.org",
            "nobody@example.org"]


def test_every_kind_of_address_gets_the_same_answers(app, clock):
    addresses = _kinds(app)
    free = app.config["SIGNIN_FREE_FAILURES"]
    per_attempt = []
    for attempt in range(free + 3):
        answers = {}
        for address in addresses:
            resp = _login(_device(app, ATTACKER_IP), address, WRONG)
            answers[address] = (resp.status_code, resp.headers.get("Retry-After"),
                                _normalised(resp))
        assert len(set(answers.values())) == 1, (attempt, {a: v[:2] for a, v in answers.items()})
        per_attempt.append(next(iter(answers.values()))[:2])
    statuses = [s for s, _ in per_attempt]
    assert statuses[:free + 1] == [401] * (free + 1) and statuses[-1] == 429, per_attempt
    body = _login(_device(app, OWNER_IP), "nobody@example.org", WRONG).get_data(as_text=True)
    assert BAD_CREDENTIALS in body


def test_throttle_state_exists_for_unknown_addresses_holds_no_address_and_expires(app, clock):
    _login(_device(app, ATTACKER_IP), "Nobody@Example.org", WRONG)
    rows = db.session.scalars(sa.select(SigninThrottle)).all()
    accounts = db.session.scalars(sa.select(SigninAccountFailures)).all()
    assert len(rows) == 1 and len(accounts) == 1
    assert rows[0].account_key == accounts[0].account_key == throttle.account_key(
        "nobody@example.org")
    for value in (rows[0].key, rows[0].account_key):
        assert "nobody" not in value and ATTACKER_IP not in value and len(value) == 64
    clock.advance(minutes=app.config["SIGNIN_WINDOW_MINUTES"] + 1)
    _login(_device(app, OWNER_IP), "someone-else@example.org", WRONG)  # purges on the way
    keys = set(db.session.scalars(sa.select(SigninThrottle.key)))
    assert rows[0].key not in keys and len(keys) == 1


def _timed_pairs(app, addresses: tuple[str, str], tries: int, ip_for) -> list[list[float]]:
    rng = random.Random(7)
    samples: list[list[float]] = [[], []]
    clients = {}
    for i in range(tries):
        order = [0, 1]
        rng.shuffle(order)  # neither side always goes first
        for side in order:
            client = clients.setdefault((side, ip_for(i)), _device(app, ip_for(i)))
            data = {"email": addresses[side], "password": WRONG,
                    "csrf_token": client.csrf_token()}
            start = time.perf_counter()
            resp = client.post("/auth/login", data=data)
            samples[side].append(time.perf_counter() - start)
            assert resp.status_code in (401, 429)
    return samples


def _assert_indistinguishable(known: list[float], unknown: list[float], label: str) -> None:
    ks = stats.ks_2samp(known, unknown)
    mw = stats.mannwhitneyu(known, unknown, alternative="two-sided")
    med_k, med_u = statistics.median(known), statistics.median(unknown)
    figures = (f"{label}: n={len(known)}+{len(unknown)} median known {med_k * 1e3:.3f} ms, "
               f"unknown {med_u * 1e3:.3f} ms; KS D={ks.statistic:.3f} p={ks.pvalue:.3g}; "
               f"Mann-Whitney U={mw.statistic:.0f} p={mw.pvalue:.3g}")
    print(figures)
    # Two conditions, so that machine noise cannot fail it: a real leak (a skipped
    # hash or a skipped write) is both significant and larger than 10 % of the
    # median; a chance p-value below 0.001 on equal distributions is not also that.
    assert not (ks.pvalue < 1e-3 and abs(med_k - med_u) > 0.10 * min(med_k, med_u)), figures
    assert not (mw.pvalue < 1e-3 and abs(med_k - med_u) > 0.10 * min(med_k, med_u)), figures


@pytest.mark.slow
def test_known_and_unknown_addresses_take_indistinguishable_time(app, clock):
    """200 tries each, with the test configuration's cheap Argon2: what is left to tell
    them apart is the database work, which must be the same."""
    make_user(email="timed@example.org")
    addresses = ("timed@example.org", "nobody@example.org")
    warm = _device(app, "10.9.9.9")
    for address in addresses:
        _login(warm, address, WRONG)  # builds the dummy hash, warms caches
    # Unthrottled answers: a new client per try (and the address-wide throttle out of
    # reach), so every try verifies a password and records a failure.
    app.config["SIGNIN_ACCOUNT_CLIENTS"] = 10_000
    known, unknown = _timed_pairs(app, addresses, 200,
                                  lambda i: f"10.{i // 250}.{i % 250}.1")
    _assert_indistinguishable(known, unknown, "401 answers")
    # Throttled answers: one client, far past the free failures.
    known, unknown = _timed_pairs(app, addresses, 200, lambda i: "10.200.0.1")
    _assert_indistinguishable(known[10:], unknown[10:], "429 answers")


# Members are told -------------------------------------------------------------------

def _alerts(member):
    return [m for m in mail_outbox() if m.to == member.email and "Failed attempts" in m.subject]


def test_the_owner_gets_one_email_per_burst_and_a_notice_after_signing_in(app, member, clock):
    threshold = app.config["SIGNIN_ALERT_FAILURES"]
    for i in range(threshold * 2):  # from three networks, none of them throttled yet
        _login(_device(app, f"192.0.2.{i % 3}"), member.email, WRONG, buffered=True)
        _login(_device(app, f"192.0.2.{i % 3}"), "nobody@example.org", WRONG, buffered=True)
        if i + 1 < threshold:
            assert _alerts(member) == []
    alerts = _alerts(member)
    assert len(alerts) == 1, [m.subject for m in mail_outbox()]
    assert f"{threshold} failed attempts" in alerts[0].body
    assert "/auth/password" in alerts[0].body and "/auth/login-link" in alerts[0].body
    assert all(m.to in (member.email,) for m in mail_outbox())  # nothing for unknown ones

    # The owner signs in and is told, with the count and a link to change the password.
    device = _device(app, OWNER_IP)
    resp = _login(device, member.email, PASSWORD)
    assert resp.status_code == 302
    page = device.get("/").get_data(as_text=True)
    assert f"There were {threshold * 2} failed attempts" in page
    assert 'href="/auth/password"' in page
    # Told once: the next sign-in has nothing to say.
    _logout(device)
    _login(device, member.email, PASSWORD)
    assert "failed attempts" not in device.get("/").get_data(as_text=True)

    # A new burst the same day sends no second e-mail; the next day it does.
    for i in range(threshold):
        _login(_device(app, f"192.0.2.{i + 100}"), member.email, WRONG, buffered=True)
    assert len(_alerts(member)) == 1
    clock.advance(days=1, seconds=1)
    _login(_device(app, "192.0.2.200"), member.email, WRONG, buffered=True)
    assert len(_alerts(member)) == 2


def test_the_alert_goes_out_after_the_response(app, member, clock):
    for i in range(app.config["SIGNIN_ALERT_FAILURES"] - 1):
        _login(_device(app, f"192.0.2.{i + 1}"), member.email, WRONG)
    resp = _login(_device(app, "192.0.2.99"), member.email, WRONG)
    assert resp.status_code == 401 and _alerts(member) == []  # not while answering
    resp.close()  # the WSGI server closes the response once it is sent
    assert len(_alerts(member)) == 1


# Sign-in links --------------------------------------------------------------------

def test_the_link_request_page_answers_the_same_for_every_address(app):
    _kinds(app)
    answers = set()
    for address in ("known@example.org", "unverified@example.org", "gone@example.org",
                    "nobody@example.org"):
        client = _device(app, OWNER_IP)
        resp = client.post_form("/auth/login-link", {"email": address}, buffered=True)
        follow = client.get(resp.headers["Location"])
        answers.add((resp.status_code, resp.headers["Location"], _normalised(follow)))
    assert len(answers) == 1
    sent = sorted(m.to for m in mail_outbox())
    assert sent == ["known@example.org", "unverified@example.org"]


def test_a_sign_in_link_works_once_and_not_after_it_expires(app, member):
    client = _device(app, OWNER_IP)
    client.post_form("/auth/login-link", {"email": member.email}, buffered=True)
    path = link_path(mail_outbox()[-1], "/auth/login-link/")
    assert f"{app.config['SIGNIN_LINK_MINUTES']} minutes" in mail_outbox()[-1].body
    assert client.post_form(path).status_code == 302
    assert _signed_in_as(client, member)
    # A link signs in but types no password: sensitive pages still ask for it.
    resp = client.get("/auth/password")
    assert resp.status_code == 302 and "/auth/confirm" in resp.headers["Location"]
    _logout(client)
    used = client.post_form(path)
    assert used.status_code == 400 and "invalid, used or expired" in used.get_data(as_text=True)

    client.post_form("/auth/login-link", {"email": member.email}, buffered=True)
    path = link_path(mail_outbox()[-1], "/auth/login-link/")
    row = db.session.scalars(sa.select(AccountToken).where(AccountToken.purpose == "signin")
                             .order_by(AccountToken.id.desc())).first()
    row.expires_at = timeutil.now_utc() - timedelta(seconds=1)
    db.session.commit()
    assert client.post_form(path).status_code == 400
    assert not _signed_in_as(client, member)


def test_a_sign_in_link_verifies_an_unverified_address(app):
    user = make_user(email="fresh@example.org", verified=False)
    client = _device(app, OWNER_IP)
    _sign_in_with_link(client, user.email)
    assert db.session.get(User, user.id).email_verified_at is not None


def test_the_new_pages_label_their_fields_and_link_their_errors(app, client):
    page = client.get("/auth/login-link").get_data(as_text=True)
    assert '<label for="email">' in page and page.count("<h1>") == 1
    resp = client.post_form("/auth/login-link", {"email": "not an address"})
    page = resp.get_data(as_text=True)
    assert resp.status_code == 400
    assert 'aria-describedby="email-error"' in page and 'id="email-error"' in page
    assert 'aria-invalid="true"' in page and 'href="#email"' in page
    login = client.get("/auth/login").get_data(as_text=True)
    assert 'href="/auth/login-link"' in login
    confirm = client.get("/auth/login-link/whatever").get_data(as_text=True)
    assert confirm.count("<h1>") == 1 and "Sign me in" in confirm


def test_a_throttled_answer_links_the_error_to_the_password_field(app, member):
    device = _device(app, ATTACKER_IP)
    for _ in range(app.config["SIGNIN_FREE_FAILURES"] + 1):
        _login(device, member.email, WRONG)
    page = _login(device, member.email, WRONG).get_data(as_text=True)
    assert 'aria-describedby="password-error"' in page and 'id="password-error"' in page
