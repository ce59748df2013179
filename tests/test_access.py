"""Deny by default, the role matrix, CSRF on every POST and safe GETs.

These tests walk `app.url_map`, so routes added later by any area are covered
without touching this file.
"""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest
import sqlalchemy as sa

from portal.extensions import db
from portal.urls import is_safe_path

# Endpoints anyone may open. Keep this list short: everything else needs a login.
PUBLIC = {
    "static", "main.home", "main.accessibility", "main.healthz", "main.privacy",
    "plan.domain", "plan.objective",
    "auth.login", "auth.register", "auth.check_inbox", "auth.verify", "auth.forgot",
    "auth.reset", "auth.link_request", "auth.link_signin", "feedback.thread",
    "feedback.plan_progress",
    # Campaign mails: the unguessable token in the link is the permission.
    "campaigns.follow", "campaigns.unsubscribe", "campaigns.preferences",
    # Activity e-mail: the signed member token in the one-click unsubscribe link.
    "feedback.activity_unsubscribe",
    # Single sign-on: the way in for people who are not signed in yet.
    "sso.start", "sso.callback", "sso.link", "sso.link_confirm", "sso.signed_out",
    "sso.saml_metadata", "sso.saml_acs", "sso.saml_continue", "sso.saml_slo",
}
# RFC 8058 one-click unsubscribe: mail clients POST without cookies or a CSRF token;
# the personal token in the URL authorises it (a forged token changes nothing, below).
# SAML: an identity provider posts from its own site; the answer is bound to the
# browser by InResponseTo and the request id in its session instead
# (tests/test_sso_saml.py attacks that binding).
CSRF_EXEMPT = {"campaigns.unsubscribe", "feedback.activity_unsubscribe", "sso.saml_acs",
               "sso.saml_continue"}
SAMPLE_VALUES = {"integer": 1, "float": 1.0, "path": "A1",
                 "uuid": "00000000-0000-4000-8000-000000000001"}


def _url(app, rule) -> str:
    values = {}
    for name in rule.arguments:
        conv = type(rule._converters[name]).__name__.replace("Converter", "").lower()
        values[name] = SAMPLE_VALUES.get(conv, "A1")
        if conv == "any":
            values[name] = sorted(rule._converters[name].items)[0]
    with app.test_request_context():
        return app.url_for(rule.endpoint, **values)


def _keeps_typed(app, endpoint: str) -> bool:
    return hasattr(app.view_functions[endpoint], "_keeps_typed")


def _rules(app, method: str):
    return sorted((r for r in app.url_map.iter_rules() if method in (r.methods or set())),
                  key=lambda r: r.rule)


def _assert_redirects_to_login(resp, url):
    assert resp.status_code == 302, (url, resp.status_code)
    location = urlsplit(resp.headers["Location"])
    assert location.path == "/auth/login", (url, resp.headers["Location"])
    nxt = parse_qs(location.query).get("next", [""])[0]
    assert is_safe_path(nxt) and nxt.split("?")[0] == url.split("?")[0], (url, nxt)


def test_every_route_outside_the_allowlist_needs_login(app, client):
    checked = 0
    for rule in _rules(app, "GET"):
        if rule.endpoint in PUBLIC:
            continue
        url = _url(app, rule)
        with client.get(url) as resp:
            _assert_redirects_to_login(resp, url)
        checked += 1
    for rule in _rules(app, "POST"):
        if rule.endpoint in PUBLIC:
            continue
        url = _url(app, rule)
        resp = client.post_form(url, {})
        if resp.status_code == 401 and _keeps_typed(app, rule.endpoint):
            # A member form answers with itself and sign-in fields, so that what was
            # typed is not lost (portal/resubmit.py); it still signs nobody in.
            html = resp.get_data(as_text=True)
            assert 'name="password"' in html and "Sign out" not in html, url
        else:
            _assert_redirects_to_login(resp, url)
        checked += 1
    assert checked >= 20


def test_the_allowlist_is_really_public(app, client, plan):
    for rule in _rules(app, "GET"):
        if rule.endpoint not in PUBLIC or rule.endpoint == "static":
            continue
        url = _url(app, rule)
        resp = client.get(url)
        assert resp.status_code in (200, 400, 404), (url, resp.status_code)


def _role_matrix_cases():
    # (role, URL prefix, expected status for every route under that prefix)
    return [("member", "/reports", 403), ("member", "/admin", 403), ("leader", "/admin", 403)]


@pytest.mark.parametrize("role, prefix, expected", _role_matrix_cases())
def test_role_matrix(app, client, login, member, leader, role, prefix, expected):
    login({"member": member, "leader": leader}[role])
    routes = [r for r in app.url_map.iter_rules()
              if r.rule == prefix or r.rule.startswith(prefix + "/")]
    if not routes:
        pytest.skip(f"no routes under {prefix} yet")
    for rule in routes:
        url = _url(app, rule)
        if "GET" in rule.methods:
            assert client.get(url).status_code == expected, (role, url)
        if "POST" in rule.methods:
            assert client.post_form(url, {}).status_code == expected, (role, "POST", url)


def test_admins_pass_the_role_check_everywhere(app, client, login, admin, plan):
    login(admin)
    for rule in _rules(app, "GET"):
        if not (rule.rule.startswith("/admin") or rule.rule.startswith("/reports")):
            continue
        url = _url(app, rule)
        status = client.get(url).status_code
        # A missing object may answer 404, but only after the role check passed.
        assert status in (200, 302, 404), (url, status)


def test_leaders_reach_leadership_pages(app, client, login, leader):
    login(leader)
    for rule in _rules(app, "GET"):
        if rule.rule.startswith("/reports"):
            url = _url(app, rule)
            assert client.get(url).status_code in (200, 302, 404), url


def test_anonymous_gets_login_with_next_on_admin_pages(client):
    resp = client.get("/admin/users?role=admin")
    _assert_redirects_to_login(resp, "/admin/users")
    assert "role" in parse_qs(urlsplit(resp.headers["Location"]).query)["next"][0]


def test_every_post_route_refuses_a_missing_csrf_token(app, client, login, admin):
    from portal.models import IdentityProvider

    # A SAML provider under the sample path value, so that the exempt endpoints answer.
    db.session.add(IdentityProvider(slug="A1", name="IdP", button_label="Sign in",
                                    protocol="saml", discovery_url="http://127.0.0.1:9/md",
                                    client_id="", secret_ref="", attribute_mapping="{}"))
    db.session.commit()
    for who in (None, admin):
        if who is not None:
            login(who)
        for rule in _rules(app, "POST"):
            url = _url(app, rule)
            resp = client.post(url, data={"email": "a@example.org", "password": "x" * 12})
            if rule.endpoint in CSRF_EXEMPT:
                if rule.endpoint in ("campaigns.unsubscribe", "feedback.activity_unsubscribe"):
                    # A forged token changes nothing.
                    assert resp.status_code == 404, (who, url, resp.status_code)
                else:
                    # Refused all the same: no answer, or no sign-in started here.
                    assert resp.status_code == 400, (who, url, resp.status_code)
                    assert "Sign-in did not work" in resp.get_data(as_text=True)
                continue
            assert resp.status_code == 400, (who, url, resp.status_code)
            assert "form expired" in resp.get_data(as_text=True)


def _snapshot() -> dict:
    state = {}
    for table in db.metadata.sorted_tables:
        rows = db.session.execute(sa.select(table)).all()
        state[table.name] = sorted(repr(tuple(r)) for r in rows)
    return state


def test_no_get_request_changes_state(app, client, login, member, admin, plan):
    from tests.factories import make_user

    make_user(verified=False)
    for who in (None, member, admin):
        if who is not None:
            login(who)
        db.session.expire_all()
        before = _snapshot()
        for rule in _rules(app, "GET"):
            url = _url(app, rule)
            with client.get(url):
                pass
        db.session.expire_all()
        assert _snapshot() == before, who


def test_oversized_bodies_get_the_413_page(app, client, member):
    app.config["MAX_CONTENT_LENGTH"] = 1024
    resp = client.post("/auth/login", data={"email": "x" * 5000, "password": "y"})
    assert resp.status_code == 413
    assert "Too much data" in resp.get_data(as_text=True)
    assert "Content-Security-Policy" in resp.headers


def test_headers_on_pages_errors_and_static(client, member, login):
    login(member)
    for url in ("/account", "/nowhere", "/admin"):
        resp = client.get(url)
        assert "unsafe-inline" not in resp.headers["Content-Security-Policy"]
        assert "frame-ancestors 'none'" in resp.headers["Content-Security-Policy"]
        assert resp.headers["X-Content-Type-Options"] == "nosniff"
        assert resp.headers["Referrer-Policy"]
        assert resp.headers["Cache-Control"] == "no-store", url
