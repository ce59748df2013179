"""The fixed cost of a signed-in request, profiled in process.

Builds the portal with its development configuration (rate limiter on, memory
storage, as `bench_http` serves it) on a temporary SQLite file (and, with
--postgres, on a scratch PostgreSQL database dropped afterwards), signs a member in
through the real form with Flask's test client, then requests the accessibility
statement (a signed-in page that reads no data) again and again. Prints the time
per request, beside a bare Flask "hello" through the same test client, and the
functions that cost the most under cProfile.

    .venv/bin/python -m bench.profile_request [--requests 3000] [--top 25]
                                              [--path /accessibility]
                                              [--postgres postgresql://postgres@127.0.0.1:5432/postgres]
"""

from __future__ import annotations

import argparse
import cProfile
import io
import pstats
import re
import time

from flask_migrate import upgrade

from bench.harness import SECRET, SECRET_ANONYMITY, add_postgres_option, databases
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


ROUNDS = 5


def per_request_us(client, path: str, n: int) -> tuple[float, float]:
    """(CPU, wall) µs per request, each the best of ROUNDS rounds of n/ROUNDS requests.
    On a shared machine wall time mostly measures the other processes, so CPU time of
    this process is the steadier figure; wall time adds the waits on a database server
    (round trips), which CPU time leaves out."""
    for _ in range(min(200, n)):  # templates compiled, connections pooled
        client.get(path)
    each = max(1, n // ROUNDS)
    cpu = wall = float("inf")
    for _ in range(ROUNDS):
        start_cpu, start_wall = time.process_time(), time.perf_counter()
        for _ in range(each):
            answer = client.get(path)
            if answer.status_code != 200:
                raise RuntimeError(f"{path} answered {answer.status_code}")
        cpu = min(cpu, (time.process_time() - start_cpu) / each)
        wall = min(wall, (time.perf_counter() - start_wall) / each)
    return cpu * 1e6, wall * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=3000)
    parser.add_argument("--top", type=int, default=25)
    parser.add_argument("--path", default="/accessibility")
    add_postgres_option(parser)
    args = parser.parse_args()

    for label, url in databases(args.postgres, "profile"):
        profile(label, url, args)


def profile(label: str, url: str, args) -> None:
    app = portal_app(url)
    seed(app)
    client = signed_in_client(app)
    hello = per_request_us(hello_app.test_client(), "/", args.requests)
    signed = per_request_us(client, args.path, args.requests)
    anonymous = per_request_us(app.test_client(), args.path, args.requests)
    print(f"\n{label}: test client (no HTTP server), {args.requests} requests each; "
          f"µs per request, best of {ROUNDS} rounds")
    print(f"  {'':28} {'CPU':>7} {'wall':>7}")
    for name, (cpu, wall) in (("hello app", hello), (f"{args.path}, anonymous", anonymous),
                              (f"{args.path}, signed in", signed)):
        print(f"  {name:28} {cpu:7.0f} {wall:7.0f}")
    print(f"  signed in over hello: {signed[0] - hello[0]:.0f} µs CPU, "
          f"{signed[1] - hello[1]:.0f} µs wall; hello/signed in {hello[0] / signed[0]:.1%} "
          f"CPU, {hello[1] / signed[1]:.1%} wall")

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
        db.session.remove()
        db.engine.dispose()

if __name__ == "__main__":
    main()
