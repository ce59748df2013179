"""HTTP throughput of the portal against the framework's own ceiling.

Serves a bare Flask "hello" app and then the portal, each under gunicorn with
the same number of workers on 127.0.0.1, drives both with wrk, and prints
requests per second, p50/p99 latency, errors and each scenario's ratio to the
ceiling. The accessibility statement (a template, no data) shows the floor of
every portal page: anonymous, and signed in (session cookie, user load).

A scenario fails when it misses its target or when any request failed: a
socket error, or an answer with a status of 400 or more (a probe request before
each run must succeed, so a broken form stops the benchmark at once). The
rating and survey POSTs are repeatable: each wrk thread posts as its own
member and every POST changes the stored answers (the same answer twice would
skip the writes).

    .venv/bin/python -m bench.bench_http [--seconds 10] [--connections 8]
                                         [--postgres postgresql://postgres@127.0.0.1:5432/postgres]

The portal runs on a temporary SQLite file and, with --postgres, then again on a
scratch database created on that server and dropped afterwards.
"""

from __future__ import annotations

import argparse
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlencode

from flask_migrate import upgrade

from bench.dataset import bench_app, open_survey, section_forms
from bench.harness import (
    Client,
    Poster,
    add_postgres_option,
    databases,
    machine_summary,
    portal_env,
    start_gunicorn,
    verdict,
    wrk,
)
from portal.auth.passwords import hash_password
from portal.extensions import db
from portal.models import Comment, FeedbackRound, Objective, User
from portal.plan import planfile
from portal.plan import services as plan_services
from portal.timeutil import now_utc

PASSWORD = "bench password that is long enough"  # noqa: S105 - benchmark accounts only
THREADS = 2
TARGETS = {"member page": 0.30, "rating POST": 0.20, "survey POST": 0.20}
RATED = ("A1", "A2", "B1", "B2", "C1", "C2", "D1", "D2", "E1", "E2")
SURVEY_FORMS = 6
FLOOR = "accessibility page, signed in"


def email(i: int) -> str:
    return f"member{i}@example.org"


def seed(database_url: str) -> tuple[int, list[str]]:
    """Migrate and fill the database: the plan, members, an open round, 100 comments
    on A1 and the open professional-development survey. Returns the survey's id and
    valid answers to its first section."""
    app = bench_app(database_url)
    with app.app_context():
        upgrade(revision="heads")
        plan_services.import_plan(planfile.parse(planfile.bundled_plan_text()))
        now = now_utc()
        hashed = hash_password(PASSWORD)
        users = [User(email=email(i), display_name=f"Member {i}", password_hash=hashed,
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
                                   user_id=users[i % 20].id, body=body, endorsement_count=i % 7,
                                   region=users[i % 20].region))
        survey = open_survey()
        forms = section_forms(survey, 1, SURVEY_FORMS, seed=1)
        survey_id = survey.id
        db.session.commit()
        db.session.remove()
        db.engine.dispose()
    return survey_id, forms


def signed_in(url: str, i: int) -> Client:
    client = Client(url)
    client.login(email(i), PASSWORD)
    return client


def rating_poster(url: str, member: int) -> Poster:
    """Member `member` rates ten objectives in turn; each visit to an objective gives it
    new values, so every POST moves the report summaries."""
    client = signed_in(url, member)
    token = client.csrf("/plan/objectives/A1")
    forms = []
    for k in range(5 * len(RATED)):
        value = str(1 + (member + k // len(RATED)) % 5)
        forms.append((f"/feedback/objectives/{RATED[k % len(RATED)]}/rating",
                      urlencode({"csrf_token": token, "importance": value,
                                 "performance": value})))
    return Poster(client.cookie_header(), forms)


def survey_poster(url: str, member: int, survey_id: int, bodies: list[str]) -> Poster:
    """Member `member` starts the survey (as the Start button does), then answers its
    first section and presses "Next", again and again with different answers (each POST
    saves the draft; the section stays done)."""
    client = signed_in(url, member)
    status, _, _ = client.post(f"/surveys/{survey_id}/start", {},
                               token_from=f"/surveys/{survey_id}")
    if status != 302:
        raise RuntimeError(f"starting the survey answered {status}")
    token = client.csrf(f"/surveys/{survey_id}")
    path = f"/surveys/{survey_id}/sections/1"
    forms = [(path, urlencode({"csrf_token": token}) + "&" + body) for body in bodies]
    # A different order per member, so two members never post the same answers in step.
    shift = member % len(forms)
    return Poster(client.cookie_header(), forms[shift:] + forms[:shift])


def scenarios(url: str, seconds: int, connections: int) -> tuple[list, Path]:
    """Seed the database at `url`, then wrk the hello app and every portal scenario:
    [(name, kind, WrkResult)] with the ceiling first, and the portal's gunicorn log."""
    survey_id, bodies = seed(url)
    env = portal_env(url)
    hello = start_gunicorn("bench.hello_app:app", env)
    try:
        results = [("hello (ceiling)", "ceiling", wrk(hello.url + "/", seconds, connections,
                                                      THREADS))]
    finally:
        hello.stop()
    portal = start_gunicorn("portal:create_app()", env)
    try:
        def get(name: str, kind: str, path: str, client: Client | None = None) -> None:
            headers = {"Cookie": client.cookie_header()} if client else None
            results.append((name, kind, wrk(portal.url + path, seconds, connections,
                                            THREADS, headers=headers)))

        def post(name: str, kind: str, posters: list[Poster]) -> None:
            results.append((name, kind, wrk(portal.url + "/", seconds, connections,
                                            THREADS, posters=posters)))

        member = signed_in(portal.url, 0)
        get("accessibility page, anonymous", "floor", "/accessibility")
        get(FLOOR, "floor", "/accessibility", member)
        get("home page, anonymous", "member page", "/")
        get("objective page, 100 comments, signed in", "member page",
            "/plan/objectives/A1", member)
        post("rating POST (values change)", "rating POST",
             [rating_poster(portal.url, 1 + t) for t in range(THREADS)])
        post("survey section POST (draft, Next)", "survey POST",
             [survey_poster(portal.url, 1 + THREADS + t, survey_id, bodies)
              for t in range(THREADS)])
    finally:
        portal.stop()
    return results, portal.log


def report(label: str, results: list, log: Path, seconds: int, connections: int
           ) -> list[str]:
    """Print the table for one database; returns the scenarios that failed."""
    print(f"\n{label}: gunicorn 2 sync workers; wrk {THREADS} threads, {connections} "
          f"connections, {seconds} s each\n")
    header = (f"{'scenario':42} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8} {'ratio':>7} "
              f"{'target':>7} {'errors':>7}")
    print(header)
    print("-" * len(header))
    ceiling = results[0][2]
    failed = []
    for name, kind, r in results:
        ratio = r.rps / ceiling.rps
        target = TARGETS.get(kind)
        outcome = "" if target is None else ("ok" if ratio >= target else "MISSED")
        if r.errors:
            outcome = "ERRORS"
        if outcome in ("MISSED", "ERRORS"):
            failed.append(f"{label} {name}")
        print(f"{name:42} {r.rps:8.0f} {r.p50_ms:8.1f} {r.p99_ms:8.1f} {ratio:7.0%} "
              f"{(f'{target:.0%}' if target else '-'):>7} {r.errors:7d} {outcome}")
    for name, _, r in results:
        if r.errors:
            print(f"\n{name}: {r.bad_status} of {r.requests} answers had a status of 400 or "
                  f"more, and {r.socket_errors} socket errors (portal log: {log})")
    floor = next(r for name, _, r in results if name == FLOOR).rps / ceiling.rps
    print(f"\nThe floor: a signed-in page that reads no data reaches {floor:.0%} of the "
          "ceiling; no signed-in page can do better.")
    return failed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--connections", type=int, default=8)
    add_postgres_option(parser)
    args = parser.parse_args()
    runs = [(label, *scenarios(url, args.seconds, args.connections))
            for label, url in databases(args.postgres, "http")]
    print(f"\nMachine: {machine_summary()}")
    failed = []
    for label, results, log in runs:
        failed += report(label, results, log, args.seconds, args.connections)
    raise SystemExit(verdict(failed))

if __name__ == "__main__":
    main()
