"""Rate limits on sign-in, registration and resets: per IP, per account, shared storage."""

from __future__ import annotations

import uuid

import pytest
import redis

from portal import create_app
from portal.extensions import db

REDIS_URL = "redis://127.0.0.1:6379/0"
LIMITS = {"RATELIMIT_ENABLED": True, "RATELIMIT_AUTH_PER_IP": "4 per minute",
          "RATELIMIT_AUTH_PER_ACCOUNT": "3 per minute"}


@pytest.fixture
def app_config():
    return dict(LIMITS)


def _try_login(client, email, ip="10.0.0.1"):
    return client.post_form("/auth/login", {"email": email, "password": "wrong password!!"},
                            environ_base={"REMOTE_ADDR": ip})


def test_login_is_limited_per_account_across_ips(client, member):
    for i in range(3):
        assert _try_login(client, member.email, ip=f"10.0.1.{i}").status_code == 401
    resp = _try_login(client, member.email, ip="10.0.1.99")
    assert resp.status_code == 429
    # Another account from a fresh address is not affected.
    assert _try_login(client, "someone@example.org", ip="10.0.1.100").status_code == 401


def test_login_is_limited_per_ip_across_accounts(client):
    for i in range(4):
        assert _try_login(client, f"user{i}@example.org", ip="10.0.2.1").status_code == 401
    assert _try_login(client, "user9@example.org", ip="10.0.2.1").status_code == 429
    assert _try_login(client, "user9@example.org", ip="10.0.2.2").status_code == 401


def test_the_429_page_has_the_site_layout_and_retry_after(client):
    for i in range(4):
        assert _try_login(client, f"a{i}@example.org", ip="10.0.3.1").status_code == 401
    resp = _try_login(client, "b@example.org", ip="10.0.3.1")
    assert resp.status_code == 429
    assert int(resp.headers["Retry-After"]) > 0
    html = resp.get_data(as_text=True)
    assert "Too many requests" in html and 'class="site-header"' in html
    assert "Content-Security-Policy" in resp.headers


@pytest.mark.parametrize("url, data", [
    ("/auth/register", {"email": "x@example.org", "display_name": "X", "password": "short"}),
    ("/auth/forgot", {"email": "x@example.org"}),
    ("/auth/reset/sometoken", {"password": "short"}),
])
def test_registration_and_reset_are_limited(client, url, data):
    statuses = [client.post_form(url, data, environ_base={"REMOTE_ADDR": "10.0.4.1"}).status_code
                for _ in range(5)]
    assert statuses[-1] == 429 and 429 not in statuses[:3], statuses


def test_pages_are_not_limited_for_get(client):
    for _ in range(10):
        assert client.get("/auth/login").status_code == 200


@pytest.fixture
def _default_limits_forgotten():
    """The limiter is one object for every app of the process and keeps a default
    limit once an app has set one: forget it afterwards, for the tests after this."""
    from portal.extensions import limiter

    yield
    limiter.limit_manager.set_default_limits([])


@pytest.mark.parametrize("app_config", [{**LIMITS, "RATELIMIT_DEFAULT": "3 per minute"}])
@pytest.mark.usefixtures("_default_limits_forgotten")
def test_an_app_wide_limit_still_applies_to_every_page(client, app_config):
    # The before-request pass runs only while such a limit is declared; here it is.
    statuses = [client.get("/accessibility", environ_base={"REMOTE_ADDR": "10.0.5.1"}
                           ).status_code for _ in range(4)]
    assert statuses == [200, 200, 200, 429], statuses
    assert client.get("/healthz", environ_base={"REMOTE_ADDR": "10.0.5.1"}).status_code == 200


def _redis_or_skip() -> None:
    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1).ping()
    except redis.exceptions.ConnectionError as exc:
        pytest.skip(f"Redis is not reachable at {REDIS_URL}: {exc}")


def _close(app) -> None:
    """An instance's own engine: its requests ran in the one pushed app context, so its
    session still holds a connection. Give it back, then close them all; a connection
    still checked out at dispose would be left to the garbage collector (on PostgreSQL
    a ResourceWarning in whichever later test the collector happens to run)."""
    db.session.remove()
    db.engine.dispose()


def _instance(database_url: str, storage: str):
    app = create_app({"SQLALCHEMY_DATABASE_URI": database_url, "RATELIMIT_STORAGE_URI": storage,
                      **LIMITS})
    from tests.conftest import PortalClient

    app.test_client_class = PortalClient
    return app


@pytest.mark.parametrize("storage, shared", [(REDIS_URL, True), ("memory://", False)])
def test_limits_hold_across_two_app_instances_only_with_shared_storage(_schema, storage, shared):
    if storage.startswith("redis"):
        _redis_or_skip()
    # A fresh address and account, so parallel runs sharing this Redis never collide.
    ip = f"10.{uuid.uuid4().int % 250}.{uuid.uuid4().int % 250}.{uuid.uuid4().int % 250}"
    email = f"{uuid.uuid4().hex}@example.org"
    first = _instance(_schema, storage)
    with first.app_context():
        try:
            client = first.test_client()
            statuses = [_try_login(client, email, ip=ip).status_code for _ in range(3)]
        finally:
            _close(first)
        assert statuses == [401, 401, 401]
    # The second instance (another worker or host) has its own storage connection.
    second = _instance(_schema, storage)
    with second.app_context():
        try:
            status = _try_login(second.test_client(), email, ip=ip).status_code
        finally:
            _close(second)
    assert status == (429 if shared else 401)
