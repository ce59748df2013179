"""Throughput of a rating POST against a bare Flask "hello" endpoint, both under gunicorn.

A rating POST signs the member in from the session cookie, checks the CSRF token,
validates the form, locks the member, reads the old ratings, upserts the rating
and moves the report summaries (one statement per summary table), then commits.
The target is at least 20% of the hello endpoint's requests per second on the
same machine with the same gunicorn settings.

    .venv/bin/python bench/bench_rating_post.py [--database-url URL] [--seconds 8]
        [--workers 2] [--clients 4]

Without --database-url a temporary SQLite file is used; a PostgreSQL URL must name
an existing, empty database (it is migrated here). Not part of the test suite.
"""

from __future__ import annotations

import argparse
import http.client
import http.cookiejar
import multiprocessing
import os
import re
import secrets
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

PASSWORD = "bench-password-1234"  # noqa: S105 - benchmark accounts only
CODES = ("A1", "A2", "B1", "B2", "C1", "C2", "D1", "D2", "E1", "E2")
CSRF_RE = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')
HELLO = "from flask import Flask\napp = Flask(__name__)\n\n\n@app.get('/')\ndef hello():\n" \
        "    return 'Hello, World!'\n"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _env(database_url: str) -> dict[str, str]:
    return {**os.environ, "DATABASE_URL": database_url, "SECRET_KEY": secrets.token_hex(32),
            "RATELIMIT_ENABLED": "0", "LOG_LEVEL": "WARNING", "FLASK_APP": "portal"}


def prepare(database_url: str, members: int) -> list[str]:
    """Migrate, load the plan, open a round and create the members; returns their e-mails."""
    env = _env(database_url)
    flask = [sys.executable, "-m", "flask"]
    subprocess.run([*flask, "db", "upgrade"], env=env, check=True, cwd=ROOT)
    subprocess.run([*flask, "plan", "import", "--if-empty"], env=env, check=True, cwd=ROOT)
    os.environ.update(env)
    from datetime import timedelta

    from portal import create_app
    from portal.auth.passwords import hash_password
    from portal.extensions import db
    from portal.models import FeedbackRound, User
    from portal.timeutil import now_utc

    app = create_app()
    emails = [f"bench{i}@example.org" for i in range(members)]
    with app.app_context():
        now = now_utc()
        rnd = FeedbackRound(name="Benchmark round", opens_at=now - timedelta(days=1),
                            closes_at=now + timedelta(days=30), status="draft")
        rnd.open(now - timedelta(days=1))
        db.session.add(rnd)
        hashed = hash_password(PASSWORD)
        db.session.add_all(User(email=e, display_name=f"Bench {i}", password_hash=hashed,
                                role="member", active=True, email_verified_at=now,
                                region="west", career_stage="mid")
                           for i, e in enumerate(emails))
        db.session.commit()
        db.engine.dispose()
    return emails


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


def _opener():
    jar = http.cookiejar.CookieJar()
    return urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar),
                                       _NoRedirect), jar


def _status(opener, url: str, data: dict | None = None) -> tuple[int, str]:
    body = urllib.parse.urlencode(data).encode() if data is not None else None
    try:
        with opener.open(url, body, timeout=30) as resp:
            return resp.status, resp.read().decode()
    except urllib.error.HTTPError as err:
        err.read()
        err.close()
        return err.code, ""


def _client(args: tuple[str, str | None, float]) -> int:
    """Requests completed in `seconds` by one client process."""
    base, email, seconds = args
    headers: dict[str, str] = {}
    body = b""
    if email is not None:
        opener, jar = _opener()
        _, page = _status(opener, base + "/auth/login")
        token = CSRF_RE.search(page).group(1)
        status, _ = _status(opener, base + "/auth/login",
                            {"email": email, "password": PASSWORD, "csrf_token": token})
        assert status == 302, status  # noqa: S101
        _, page = _status(opener, base + "/plan/objectives/A1")
        # The signed-in session, sent unchanged with every POST: the flash message each
        # POST adds is dropped with the cookie that carries it (a browser would show it
        # on the next page), so the session does not grow over the run.
        headers = {"Cookie": "; ".join(f"{c.name}={c.value}" for c in jar),
                   "Content-Type": "application/x-www-form-urlencoded"}
        body = urllib.parse.urlencode({"csrf_token": CSRF_RE.search(page).group(1)}).encode()
    host, port = urllib.parse.urlsplit(base).netloc.split(":")
    done, i = 0, 0
    stop = time.perf_counter() + seconds
    while time.perf_counter() < stop:
        conn = http.client.HTTPConnection(host, int(port), timeout=30)
        if email is None:
            conn.request("GET", "/")
            expected = 200
        else:
            value = str(1 + i % 5)
            form = f"&importance={value}&performance={value}".encode()
            conn.request("POST", f"/feedback/objectives/{CODES[i % len(CODES)]}/rating",
                         body + form, headers)
            expected = 302
        resp = conn.getresponse()
        resp.read()
        conn.close()
        if resp.status != expected:
            raise RuntimeError(f"unexpected status {resp.status}")
        done += 1
        i += 1
    return done


def _serve(app_spec: str, env: dict[str, str], workers: int, chdir: Path) -> tuple:
    port = _free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "-w", str(workers), "-b", f"127.0.0.1:{port}",
         "--chdir", str(chdir), "--log-level", "warning", app_spec], env=env)
    base = f"http://127.0.0.1:{port}"
    for _ in range(100):
        try:
            urllib.request.urlopen(base + "/", timeout=1).close()  # noqa: S310 - local
            break
        except OSError:
            time.sleep(0.1)
    return proc, base


def _rate(base: str, emails: list[str | None], seconds: float) -> float:
    with multiprocessing.Pool(len(emails)) as pool:
        counts = pool.map(_client, [(base, e, seconds) for e in emails])
    return sum(counts) / seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url")
    parser.add_argument("--seconds", type=float, default=8.0)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--clients", type=int, default=4)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        url = args.database_url or f"sqlite:///{tmp}/bench.db"
        emails = prepare(url, args.clients)
        (Path(tmp) / "hello_app.py").write_text(HELLO)
        results = {}
        for name, spec, chdir, who in (
                ("hello", "hello_app:app", Path(tmp), [None] * args.clients),
                ("rating POST", "portal:create_app()", ROOT, emails)):
            proc, base = _serve(spec, _env(url), args.workers, chdir)
            try:
                results[name] = _rate(base, who, args.seconds)
            finally:
                proc.terminate()
                proc.wait(timeout=30)
    hello, rating = results["hello"], results["rating POST"]
    print(f"database: {url.split(':')[0]}, gunicorn workers: {args.workers}, "
          f"clients: {args.clients}, {args.seconds:.0f} s each")
    print(f"  hello        {hello:8.0f} requests/s")
    print(f"  rating POST  {rating:8.0f} requests/s  ({100 * rating / hello:.0f}% of hello; "
          "target 20%)")


if __name__ == "__main__":
    main()
