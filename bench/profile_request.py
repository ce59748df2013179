"""The fixed cost of a signed-in request, profiled in process.

Builds the portal with its development configuration (rate limiter on, memory
storage, as `bench_http` serves it) on a temporary SQLite file, signs a member in
through the real form with Flask's test client, then requests the accessibility
statement (a signed-in page that reads no data) again and again. Prints the time
per request, beside a bare Flask "hello" through the same test client, and the
functions that cost the most under cProfile.

    .venv/bin/python -m bench.profile_request [--requests 3000] [--top 25]
                                              [--path /accessibility]
"""

from __future__ import annotations

import argparse
import cProfile
import io
import pstats
import re
import tempfile
import time
from pathlib import Path

from flask_migrate import upgrade

from bench.harness import SECRET, SECRET_ANONYMITY
from bench.hello_app import app as hello_app
from portal import create_app
from portal.auth.passwords import hash_password
from portal.extensions import db
from portal.models import User
from portal.timeutil import now_utc

EMAIL = "member@example.org"
PASSWORD = "profile password that is long enough"  # noqa: S105 - a throwaway account
CSRF_RE = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


def portal_app(database_url: str):
    """The portal as gunicorn serves it in bench_http: development settings, limiter on."""
    return create_app({
        "CONFIG": "development",
        "SECRET_KEY": SECRET,
        "ANONYMITY_KEY": SECRET_ANONYMITY,
        "SQLALCHEMY_DATABASE_URI": database_url,
        "LOG_LEVEL": "WARNING",
        "MAIL_BACKEND": "memory",
        "JOBS_BACKEND": "memory",
    })


def seed(app) -> None:
    with app.app_context():
        upgrade(revision="heads")
        db.session.add(User(email=EMAIL, display_name="Member", email_verified_at=now_utc(),
                            password_hash=hash_password(PASSWORD)))
        db.session.commit()
        db.session.remove()


def signed_in_client(app):
    client = app.test_client()
    page = client.get("/auth/login").get_data(as_text=True)
    token = CSRF_RE.search(page).group(1)
    answer = client.post("/auth/login", data={"csrf_token": token, "email": EMAIL,
                                              "password": PASSWORD})
    if answer.status_code != 302:
        raise RuntimeError(f"sign-in answered {answer.status_code}")
    return client


def per_request_us(client, path: str, n: int) -> float:
    for _ in range(min(200, n)):  # templates compiled, connections pooled
        client.get(path)
    start = time.perf_counter()
    for _ in range(n):
        answer = client.get(path)
        if answer.status_code != 200:
            raise RuntimeError(f"{path} answered {answer.status_code}")
    return (time.perf_counter() - start) / n * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=3000)
    parser.add_argument("--top", type=int, default=25)
    parser.add_argument("--path", default="/accessibility")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        app = portal_app(f"sqlite:///{Path(tmp) / 'profile.db'}")
        seed(app)
        client = signed_in_client(app)
        hello = per_request_us(hello_app.test_client(), "/", args.requests)
        signed = per_request_us(client, args.path, args.requests)
        anonymous = per_request_us(app.test_client(), args.path, args.requests)
        print(f"test client, {args.requests} requests each (no HTTP server):")
        print(f"  hello app               {hello:8.0f} µs/request")
        print(f"  {args.path}, anonymous {anonymous:8.0f} µs/request")
        print(f"  {args.path}, signed in {signed:8.0f} µs/request "
              f"(portal work over hello: {signed - hello:.0f} µs)")

        profiler = cProfile.Profile()
        profiler.enable()
        for _ in range(args.requests):
            client.get(args.path)
        profiler.disable()
        for order in ("tottime", "cumulative"):
            out = io.StringIO()
            stats = pstats.Stats(profiler, stream=out).strip_dirs().sort_stats(order)
            stats.print_stats(args.top)
            text = out.getvalue()
            print(f"\nTop {args.top} by {order} (times for all {args.requests} requests):")
            print(text[text.index("   ncalls"):].rstrip())
        with app.app_context():
            db.engine.dispose()


if __name__ == "__main__":
    main()
