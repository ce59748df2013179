"""HTTP throughput of the portal against the framework's own ceiling.

Serves a bare Flask "hello" app and then the portal, each under gunicorn with
the same number of workers on 127.0.0.1, drives both with wrk, and prints
requests per second, p50/p99 latency and each page's ratio to the ceiling.

    .venv/bin/python -m bench.bench_http [--seconds 10] [--connections 8]
                                         [--database-url postgresql://...]
"""

from __future__ import annotations

import argparse
import tempfile
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlencode

from bench.harness import Client, machine_summary, portal_env, start_gunicorn, wrk

MEMBER_EMAIL = "bench.member@example.org"
PASSWORD = "bench password that is long enough"
TARGETS = {"member page": 0.30, "rating POST": 0.20, "survey POST": 0.20}


def seed(database_url: str) -> None:
    """Migrate and fill the database: the plan, members, an open round, 100 comments on A1."""
    from flask_migrate import upgrade

    from portal import create_app
    from portal.auth.passwords import hash_password
    from portal.extensions import db
    from portal.models import Comment, FeedbackRound, Objective, User
    from portal.plan import planfile
    from portal.plan import services as plan_services
    from portal.sentiment import score
    from portal.timeutil import now_utc

    app = create_app({"SQLALCHEMY_DATABASE_URI": database_url})
    with app.app_context():
        upgrade(revision="heads")
        plan_services.import_plan(planfile.parse(planfile.bundled_plan_text()))
        now = now_utc()
        users = [User(email=MEMBER_EMAIL if i == 0 else f"m{i}@example.org",
                      display_name=f"Member {i}", password_hash=hash_password(PASSWORD),
                      email_verified_at=now, region=("west", "south", "midwest")[i % 3])
                 for i in range(20)]
        db.session.add_all(users)
        rnd = FeedbackRound(name="Benchmark round", status="draft",
                            opens_at=now - timedelta(days=1), closes_at=now + timedelta(days=30))
        db.session.add(rnd)
        rnd.open(now)
        db.session.flush()
        a1 = db.session.scalar(db.select(Objective).where(Objective.code == "A1"))
        texts = ["Advocacy at the state level matters most to my library.",
                 "The toolkits were useful, but updates came too late for our budget cycle.",
                 "Please focus on intellectual freedom; challenges are rising here."]
        for i in range(100):
            body = texts[i % 3] + f" (comment {i})"
            db.session.add(Comment(objective_id=a1.id, round_id=rnd.id,
                                   user_id=users[i % 20].id, body=body,
                                   sentiment=score(body), endorsement_count=i % 7,
                                   region=users[i % 20].region))
        db.session.commit()
        db.session.remove()
        db.engine.dispose()


def member_client(url: str) -> Client:
    client = Client(url)
    client.login(MEMBER_EMAIL, PASSWORD)
    return client


def run(seconds: int, connections: int, database_url: str | None) -> int:
    with tempfile.TemporaryDirectory(prefix="bench-http-") as tmp:
        url = database_url or f"sqlite:///{Path(tmp) / 'bench.db'}"
        seed(url)
        env = portal_env(url)
        results: list[tuple[str, str, object]] = []

        hello = start_gunicorn("bench.hello_app:app", env)
        try:
            ceiling = wrk(hello.url + "/", seconds, connections)
        finally:
            hello.stop()
        results.append(("hello (ceiling)", "-", ceiling))

        portal = start_gunicorn("portal:create_app()", env)
        try:
            client = member_client(portal.url)
            cookie = {"Cookie": client.cookie_header()}
            results.append(("home page (anonymous)", "member page",
                            wrk(portal.url + "/", seconds, connections)))
            results.append(("objective page, 100 comments, signed in", "member page",
                            wrk(portal.url + "/plan/objectives/A1", seconds, connections,
                                headers=cookie)))
            token = client.csrf("/plan/objectives/A1")
            cookie = {"Cookie": client.cookie_header()}
            body = urlencode({"csrf_token": token, "importance": "4", "performance": "3"})
            results.append(("rating POST", "rating POST",
                            wrk(portal.url + "/feedback/objectives/A1/rating", seconds,
                                connections, headers=cookie, method="POST", body=body)))
        finally:
            portal.stop()

    print(f"\nMachine: {machine_summary()}")
    print(f"Database: {'PostgreSQL' if database_url else 'SQLite'}; gunicorn 2 sync workers; "
          f"wrk {connections} connections, {seconds} s each\n")
    header = f"{'scenario':44} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8} {'ratio':>7} " \
             f"{'target':>7} {'errors':>7}"
    print(header)
    print("-" * len(header))
    failed = 0
    for name, kind, r in results:
        ratio = r.rps / ceiling.rps
        target = TARGETS.get(kind)
        verdict = "" if target is None else ("ok" if ratio >= target else "MISSED")
        failed += verdict == "MISSED"
        print(f"{name:44} {r.rps:8.0f} {r.p50_ms:8.1f} {r.p99_ms:8.1f} {ratio:7.0%} "
              f"{(f'{target:.0%}' if target else '-'):>7} {r.errors:7d} {verdict}")
    return 1 if failed else 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--database-url", default=None)
    args = parser.parse_args()
    raise SystemExit(run(args.seconds, args.connections, args.database_url))


if __name__ == "__main__":
    main()
