"""sqlmap against the running portal on 127.0.0.1: it must find no injection.

The portal answers a GET with a search parameter (leadership comment explorer), a
signed-in form POST (a member's comment) and the sign-in form. sqlmap fetches a
fresh CSRF token before each request (--csrf-token/--csrf-url) and sends the
session cookie; each run is bounded in techniques, level and time.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
import sqlalchemy as sa

from bench.harness import Client
from tests.reliability import env

TIMEOUT = 150


def _sqlmap() -> str:
    exe = shutil.which("sqlmap") or env.bin_path("sqlmap")
    if not Path(exe).exists():
        pytest.fail("sqlmap is not installed: `make reliability` installs the reliability extra")
    return exe


@pytest.fixture(scope="module")
def portal(pg_template, tmp_path_factory):
    template, seed = pg_template
    name = env.create_pg_database("sqlmap", template)
    url = env.pg_url(name)
    log = tmp_path_factory.mktemp("sqlmap") / "gunicorn.log"
    server = env.start_server(url, 2, log)
    yield server, seed, url
    server.stop()
    env.drop_pg_database(name)


def _session_cookie(base: str, email: str | None, form_page: str) -> str:
    """A session (signed in when `email` is given) that already holds its CSRF secret,
    so the tokens sqlmap fetches with it are valid (it ignores Set-Cookie)."""
    client = Client(base)
    if email:
        client.login(email, env.PASSWORD)
    client.csrf(form_page)
    return client.cookie_header()


def _run(tmp_path: Path, url: str, *args: str) -> str:
    cmd = [_sqlmap(), "-u", url, "--batch", "--disable-coloring", "--flush-session",
           "--output-dir", str(tmp_path / "sqlmap"), "--dbms", "PostgreSQL",
           "--level", "1", "--risk", "1", "--technique", "BEUS", "--timeout", "10",
           "--retries", "1", "--drop-set-cookie", *args]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=TIMEOUT,  # noqa: S603
                          check=False)
    out = proc.stdout + proc.stderr
    assert "identified the following injection point" not in out, out[-4000:]
    assert "is vulnerable" not in out, out[-4000:]
    assert out.count("testing '") >= 10, out[-4000:]  # it really tried its payloads
    # ... as the signed-in user (never bounced to the sign-in page). Payloads the forms
    # refuse get a 400 page; the comment test below proves the CSRF tokens passed.
    assert "/auth/login?next" not in out, out[-4000:]
    assert "do not appear to be injectable" in out or "does not seem to be injectable" in out, \
        out[-4000:]
    return out


def test_sqlmap_finds_nothing_in_a_search_parameter(portal, tmp_path):
    server, seed, _ = portal
    cookie = _session_cookie(server.url, seed.leader, "/reports/comments")
    _run(tmp_path, f"{server.url}/reports/comments?keyword=events&page=1",
         "-p", "keyword,page", "--cookie", cookie)


def test_sqlmap_finds_nothing_in_a_signed_in_form(portal, tmp_path):
    server, seed, url = portal
    cookie = _session_cookie(server.url, seed.members[-1], "/plan/objectives/A1")
    _run(tmp_path, f"{server.url}/feedback/objectives/A1/comments",
         "--data", "body=More+events+please&hide_name=&parent_id=&csrf_token=x",
         "-p", "body,parent_id", "--cookie", cookie, "--csrf-token", "csrf_token",
         "--csrf-url", f"{server.url}/plan/objectives/A1")
    # The payloads reached the view (CSRF and session accepted) and were stored as text.
    engine = sa.create_engine(url, poolclass=sa.NullPool)
    with engine.connect() as conn:
        stored = conn.execute(sa.text("SELECT count(*) FROM comments")).scalar()
    engine.dispose()
    assert stored >= 10


def test_sqlmap_finds_nothing_in_the_sign_in_form(portal, tmp_path):
    server, _, _ = portal
    _run(tmp_path, f"{server.url}/auth/login",
         "--data", "email=nobody%40example.org&password=wrong+password&csrf_token=x",
         "-p", "email,password", "--ignore-code", "401",  # 401: a wrong password
         "--cookie", _session_cookie(server.url, None, "/auth/login"),
         "--csrf-token", "csrf_token", "--csrf-url", f"{server.url}/auth/login")
