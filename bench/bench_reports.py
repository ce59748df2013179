"""Server time of the leadership pages at association scale.

Builds MEMBERS members x 22 objectives x 2 rounds (every member rates every
objective: about 1.1 million ratings per round at 50,000 members) and a survey
with RESPONSES responses, with bulk inserts into a temporary SQLite database,
and into a scratch PostgreSQL database when a server URL is given. Then prints
the server time (in process, no network) of the dashboard, the segment heatmap
(one dimension and two crossed), an objective drill-down and the survey results:

- cold: the first request of a freshly created app (new connections, templates
  compiled on first use),
- warm: the median of the next requests,
- after new data: the first request after 50 members rated through the ORM
  (for the survey results: after 10 members answered every section and
  submitted through the survey services).

    .venv/bin/python -m bench.bench_reports [--members 50000] [--responses 20000]
                                            [--postgres postgresql://postgres@127.0.0.1:5432/postgres]

--members scales the data down for a quick check (the survey shrinks with it
unless --responses is given). With --postgres a scratch database is created on
that server and dropped afterwards. Exits 1 when a page misses the 100 ms target
when warm or after new data.
"""

from __future__ import annotations

import argparse
import gc
import random
import statistics
import time

import sqlalchemy as sa

from bench.dataset import (
    add_responses,
    bench_app,
    build_ratings,
    leader_client,
    open_survey,
    submit_responses,
)
from bench.harness import add_postgres_option, databases, machine_summary, verdict
from portal.extensions import db
from portal.models import FeedbackRound, Objective, Rating, Survey, User
from portal.timeutil import now_utc

TARGET_MS = 100.0
FULL_MEMBERS, FULL_RESPONSES = 50_000, 20_000
NEW_RATINGS, NEW_RESPONSES = 50, 10
PAGES = {
    "summary": "/reports/?round={r}",
    "dashboard": "/reports/priorities?round={r}",
    "segment heatmap": "/reports/segments?round={r}&dimension=library_type",
    "heatmap, 2 crossed": "/reports/segments?round={r}&dimension=career_stage&by=region",
    "objective drill-down": "/reports/objectives/A1?round={r}",
    "survey results": "/reports/surveys/{s}",
}


def build(url: str, members: int, responses: int, seed: int) -> None:
    build_ratings(url, members, seed)
    app = bench_app(url)
    with app.app_context():
        t0 = time.perf_counter()
        survey = open_survey()
        db.session.commit()
        add_responses(survey, responses, random.Random(seed))
        print(f"  survey: {responses:,} responses in {time.perf_counter() - t0:.1f} s",
              flush=True)
        db.session.remove()
        db.engine.dispose()


def _time(client, path: str) -> float:
    t = time.perf_counter()
    resp = client.get(path)
    took = (time.perf_counter() - t) * 1000
    if resp.status_code != 200:
        raise RuntimeError(f"{path} answered {resp.status_code}")
    return took


def _add_ratings(round_id: int, count: int = NEW_RATINGS) -> None:
    """New members rate through the ORM (the flush listener keeps the summaries in step)."""
    objectives = db.session.scalars(sa.select(Objective.id)).all()
    extra = [User(email=f"late{time.time_ns()}-{i}@example.org", display_name="Late",
                  role="member", active=True, email_verified_at=now_utc())
             for i in range(count)]
    db.session.add_all(extra)
    db.session.flush()
    for i, u in enumerate(extra):
        db.session.add(Rating(user_id=u.id, objective_id=objectives[i % len(objectives)],
                              round_id=round_id, importance=5, performance=2, region="west"))
    db.session.commit()


def measure(url: str, label: str, repeats: int) -> list[str]:
    """Print the table for one database; returns the pages that missed the target."""
    print(f"\n{label}: server time per page in ms (target {TARGET_MS:.0f} ms)")
    print(f"  {'page':<22}{'cold':>8}{'warm':>8}{'after new':>11}{'worst/target':>14}")
    missed = []
    for name, path in PAGES.items():
        app = bench_app(url)
        with app.app_context():
            round_id = db.session.scalar(sa.select(sa.func.max(FeedbackRound.id)))
            survey_id = db.session.scalar(sa.select(sa.func.max(Survey.id)))
            db.session.remove()
        path = path.format(r=round_id, s=survey_id)
        client = leader_client(app)
        # The benchmark's own garbage (millions of rows built in this process, the ORM
        # objects of the new ratings) is collected before each timed request, so that a
        # collection it left due does not land in the page's time.
        gc.collect()
        cold = _time(client, path)
        warm = statistics.median(_time(client, path) for _ in range(repeats))
        with app.app_context():
            if name == "survey results":
                submit_responses(survey_id, NEW_RESPONSES, seed=1)
            else:
                _add_ratings(round_id)
            db.session.remove()
        gc.collect()
        after = _time(client, path)
        worst = max(warm, after)
        verdict = "ok" if worst <= TARGET_MS else "MISSED"
        if verdict == "MISSED":
            missed.append(f"{label} {name}")
        print(f"  {name:<22}{cold:>8.1f}{warm:>8.1f}{after:>11.1f}{worst / TARGET_MS:>13.2f}x "
              f"{verdict}", flush=True)
        with app.app_context():
            db.engine.dispose()
    return missed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--members", type=int, default=FULL_MEMBERS)
    parser.add_argument("--responses", type=int, default=None,
                        help=f"survey responses (default {FULL_RESPONSES:,}, scaled with "
                        "--members)")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--repeats", type=int, default=7)
    add_postgres_option(parser)
    args = parser.parse_args()
    responses = args.responses if args.responses is not None else \
        round(FULL_RESPONSES * args.members / FULL_MEMBERS)
    scale = f"{args.members:,} members x 22 objectives x 2 rounds, {responses:,} survey responses"
    print(f"Machine: {machine_summary()}")
    missed = []
    for label, url in databases(args.postgres, "reports"):
        print(f"\n{label}: building {scale}", flush=True)
        build(url, args.members, responses, args.seed)
        missed += measure(url, label, args.repeats)
    print("\nworst/target is the larger of warm and after-new-data over the 100 ms target; "
          "cold includes compiling the page's templates.")
    raise SystemExit(verdict(missed))

if __name__ == "__main__":
    main()
