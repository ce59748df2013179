"""Benchmark of the leadership report pages at full scale.

Builds MEMBERS members x 22 objectives x 2 rounds (every member rates every
objective: about 1.1 million ratings per round at 50,000 members) with bulk
inserts into a temporary SQLite database, and into PostgreSQL when a URL is
given, then prints the server time of the dashboard, the segment heatmap (one
dimension and two crossed), and an objective drill-down: cold (first request
of a fresh app), warm (median of the next requests), and right after new
ratings arrive through the ORM.

    .venv/bin/python bench/bench_reports.py [--members 50000] [--postgres URL]

Not part of the test suite; prints figures and the ratio to the 100 ms target.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from portal import create_app, segments  # noqa: E402
from portal.extensions import db  # noqa: E402
from portal.models import FeedbackRound, Objective, Rating, User  # noqa: E402
from portal.plan import planfile  # noqa: E402
from portal.plan import services as plan_services  # noqa: E402
from portal.reports import bulk, bulkload, participation  # noqa: E402
from portal.timeutil import now_utc  # noqa: E402

TARGET_MS = 100.0
PAGES = {
    "dashboard": "/reports/?round={r}",
    "heatmap": "/reports/segments?round={r}&dimension=library_type",
    "heatmap crossed": "/reports/segments?round={r}&dimension=career_stage&by=region",
    "drill-down": "/reports/objectives/A1?round={r}",
}


def build(url: str, members: int, seed: int) -> None:
    app = create_app({"SQLALCHEMY_DATABASE_URI": url})
    with app.app_context():
        db.drop_all()
        db.create_all()
        plan_services.import_plan(planfile.parse(planfile.bundled_plan_text()))
        db.session.flush()
        rng = np.random.default_rng(seed)
        stamp = now_utc()
        ts = stamp.strftime("%Y-%m-%d %H:%M:%S.%f") if url.startswith("sqlite") else stamp
        seg = {}
        for dim in segments.DIMENSIONS:
            codes = np.array([*dim.codes, ""], dtype=object)
            seg[dim.key] = codes[rng.integers(0, len(codes), members)]
        t0 = time.perf_counter()
        cols = ("email", "display_name", "password_hash", "role", "active",
                "email_verified_at", "session_version", "failed_logins", "created_at",
                "updated_at", *segments.KEYS)
        rows = [(f"bench{i}@example.org", f"Bench {i}", None, "member", True, ts, 1, 0, ts, ts,
                 *(seg[k][i] or None for k in segments.KEYS)) for i in range(members)]
        rows.append(("bench-leader@example.org", "Bench Leader", None, "leader", True, ts, 1, 0,
                     ts, ts, None, None, None, None, None))
        bulkload.insert_rows(User.__table__, cols, rows)
        ids = np.array(db.session.scalars(sa.select(User.id).where(User.role == "member")
                                          .order_by(User.id)).all())
        objectives = db.session.scalars(sa.select(Objective.id).order_by(Objective.id)).all()
        obj = np.array(objectives)
        n_obj = len(obj)
        base_imp = rng.uniform(2.8, 4.4, n_obj)
        base_perf = rng.uniform(2.5, 3.8, n_obj)
        for r, name in enumerate(("Bench round 1", "Bench round 2")):
            rnd = FeedbackRound(name=name, opens_at=stamp, closes_at=stamp.replace(
                year=stamp.year + 1), status="draft")
            rnd.open(stamp)
            db.session.add(rnd)
            db.session.flush()
            imp = np.clip(np.rint(base_imp + rng.normal(0, 0.9, (members, n_obj))), 1, 5)
            perf = np.clip(np.rint(base_perf + 0.1 * r + rng.normal(0, 0.9, (members, n_obj))),
                           1, 5)
            imp = imp.astype(np.int64).ravel()
            perf = perf.astype(np.int64).ravel()
            perf[rng.random(perf.size) < 0.08] = 0
            imp[rng.random(imp.size) < 0.03] = -1
            user = np.repeat(ids, n_obj)
            objective = np.tile(obj, members)
            member = np.repeat(np.arange(members), n_obj)
            segcols = [seg[k][member] for k in segments.KEYS]
            rcols = ("user_id", "objective_id", "round_id", "importance", "performance",
                     *segments.KEYS, "created_at", "updated_at")
            rows_iter = ((int(u), int(o), rnd.id, None if i < 0 else int(i), int(p),
                          *(s[k] or None for s in segcols), ts, ts)
                         for k, (u, o, i, p) in enumerate(zip(user, objective, imp, perf,
                                                              strict=True)))
            n = bulkload.insert_rows(Rating.__table__, rcols, rows_iter)
            cells, cross, raters = bulk.summarise(rnd.id, objective, user, imp, perf,
                                                  {k: seg[k][member] for k in segments.KEYS})
            bulk.insert_summaries(cells, cross, raters)
            print(f"  {name}: {n:,} ratings, {len(cells):,} cells, {len(cross):,} crossed "
                  f"cells")
        participation.rebuild_participation()
        db.session.commit()
        if db.engine.dialect.name == "postgresql":
            with db.engine.connect() as conn:
                conn.execute(sa.text("ANALYZE"))
                conn.commit()
        print(f"  built in {time.perf_counter() - t0:.1f} s")
        db.engine.dispose()


def _client(app):
    client = app.test_client()
    with app.app_context():
        leader = db.session.scalar(sa.select(User).where(User.role == "leader"))
        with client.session_transaction() as sess:
            sess["_user_id"] = leader.get_id()
            sess["_fresh"] = True
    return client


def _time(client, path: str) -> float:
    t = time.perf_counter()
    resp = client.get(path)
    took = (time.perf_counter() - t) * 1000
    assert resp.status_code == 200, (path, resp.status_code)  # noqa: S101
    return took


def _add_ratings(app, round_id: int, count: int = 50) -> None:
    """New ratings through the ORM (the flush listener keeps the summaries in step)."""
    with app.app_context():
        users = db.session.scalars(sa.select(User).where(User.role == "leader")).all()
        objectives = db.session.scalars(sa.select(Objective.id)).all()
        extra = []
        for i in range(count):
            u = User(email=f"late{time.time_ns()}{i}@example.org", display_name="Late",
                     role="member", active=True, email_verified_at=now_utc())
            extra.append(u)
        db.session.add_all(extra)
        db.session.flush()
        for i, u in enumerate(extra):
            db.session.add(Rating(user_id=u.id, objective_id=objectives[i % len(objectives)],
                                  round_id=round_id, importance=5, performance=2,
                                  region="west"))
        db.session.commit()
        del users


def measure(url: str, label: str, repeats: int) -> None:
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "RATELIMIT_ENABLED": False})
    with app.app_context():
        round_id = db.session.scalar(sa.select(sa.func.max(FeedbackRound.id)))
    client = _client(app)
    print(f"\n{label}: server time per page in ms (target {TARGET_MS:.0f} ms)")
    print(f"  {'page':<17}{'cold':>8}{'warm':>8}{'after new':>11}{'warm/target':>13}")
    for name, path in PAGES.items():
        path = path.format(r=round_id)
        cold = _time(client, path)
        warm = statistics.median(_time(client, path) for _ in range(repeats))
        _add_ratings(app, round_id)
        after = _time(client, path)
        print(f"  {name:<17}{cold:>8.1f}{warm:>8.1f}{after:>11.1f}{warm / TARGET_MS:>12.2f}x")
    with app.app_context():
        db.engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--members", type=int, default=50_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--postgres", help="postgresql://... of an EMPTY scratch database")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{Path(tmp) / 'bench.db'}"
        print(f"SQLite: building {args.members:,} members x 22 objectives x 2 rounds")
        build(url, args.members, args.seed)
        measure(url, "SQLite", args.repeats)
    if args.postgres:
        pg = args.postgres.replace("postgresql://", "postgresql+psycopg://", 1)
        print(f"\nPostgreSQL: building {args.members:,} members x 22 objectives x 2 rounds")
        build(pg, args.members, args.seed)
        measure(pg, "PostgreSQL", args.repeats)


if __name__ == "__main__":
    main()
