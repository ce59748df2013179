"""Peak memory of the leadership exports at association scale.

Builds MEMBERS members x 22 objectives x 2 rounds (every member rates every
objective) with comments from a tenth of the members per round, and the
professional-development survey with first RESPONSES/10 and then RESPONSES
responses. Each export is then requested as a signed-in leader through the
portal's own route, in a fresh process, and its whole body is read chunk by
chunk, the way a worker streams it to the browser. Printed per export: the
bytes produced; the time of that first request and how far the process's peak
resident memory rose during it (this counts the modules imported and caches
filled on first use, and memory of C libraries such as the database driver);
and the peak Python memory (tracemalloc) of the same request repeated in that
process. Target: under 150 MB whatever the size.

    .venv/bin/python -m bench.bench_exports [--members 50000] [--responses MEMBERS]
                                            [--postgres postgresql://postgres@127.0.0.1:5432/postgres]

With --postgres the same runs again on a scratch database created on that
server and dropped afterwards. Exits 1 when an export misses the target.
"""

from __future__ import annotations

import argparse
import contextlib
import multiprocessing
import random
import time
import tracemalloc
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import sqlalchemy as sa

from bench.dataset import add_responses, bench_app, build_ratings, leader_client, open_survey
from bench.harness import add_postgres_option, databases, machine_summary, verdict
from portal.extensions import db
from portal.models import FeedbackRound, Survey

TARGET_MB = 150.0
LEADERSHIP = {
    "dashboard, all tables (XLSX)": "/reports/export/dashboard/all.xlsx?round={r}",
    "board report, all tables (XLSX)": "/reports/export/board/all.xlsx?round={r}",
    "heatmap, 2 crossed (CSV)":
        "/reports/export/segments/heatmap.csv?round={r}&dimension=career_stage&by=region",
    "drill-down A1, all tables (XLSX)": "/reports/export/objective-A1/all.xlsx?round={r}",
    "comments, all rounds (CSV)": "/reports/comments.csv",
}
SURVEY = {
    "survey responses (CSV)": "/reports/surveys/{s}/responses.csv",
    "survey responses (XLSX)": "/reports/surveys/{s}/responses.xlsx",
}


def _proc_kb(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return 0


def _read(client, path: str) -> int:
    resp = client.get(path, buffered=False)
    size = 0
    for chunk in resp.response:
        size += len(chunk)
    resp.close()
    if resp.status_code != 200:
        raise RuntimeError(f"{path} answered {resp.status_code}")
    return size


def stream(url: str, path: str) -> tuple[int, float, int, int]:
    """In a fresh process, one export request read to its end, twice: (bytes, seconds and
    growth of the peak resident memory in bytes of the first request, peak traced Python
    memory in bytes of the second, with tracemalloc running)."""
    app = bench_app(url)
    client = leader_client(app)
    with contextlib.suppress(OSError):  # restart the peak-RSS count here (Linux)
        Path("/proc/self/clear_refs").write_text("5")
    rss = _proc_kb("VmRSS")
    started = time.perf_counter()
    size = _read(client, path)
    elapsed = time.perf_counter() - started
    growth = max(_proc_kb("VmHWM") - rss, 0) * 1024
    tracemalloc.start()
    _read(client, path)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    with app.app_context():
        db.engine.dispose()
    return size, elapsed, growth, peak


def measure(url: str, label: str, path: str) -> tuple[float, float]:
    """Print one export's line; returns (traced peak MB, RSS growth MB)."""
    ctx = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=1, mp_context=ctx) as pool:
        size, elapsed, growth, peak = pool.submit(stream, url, path).result()
    growth_mb, peak_mb = growth / 1e6, peak / 1e6
    verdict = "ok" if max(peak_mb, growth_mb) < TARGET_MB else "MISSED"
    print(f"  {label:<34}{size / 1e6:>9.2f}{elapsed:>8.1f}{growth_mb:>11.1f}{peak_mb:>11.2f} "
          f"{verdict}", flush=True)
    return peak_mb, growth_mb


def header() -> None:
    print(f"  {'export':<34}{'MB out':>9}{'s':>8}{'RSS +MB':>11}{'Python MB':>11}")


def run(url: str, label: str, members: int, responses: int, seed: int) -> list[str]:
    print(f"\n{label}: building {members:,} members x 22 objectives x 2 rounds with comments",
          flush=True)
    build_ratings(url, members, seed, comments=True)
    app = bench_app(url)
    with app.app_context():
        round_id = db.session.scalar(sa.select(sa.func.max(FeedbackRound.id)))
        survey = open_survey()
        db.session.commit()
        survey_id = survey.id
    missed = []
    print(f"\n{label}: leadership exports, peak memory (target {TARGET_MB:.0f} MB)")
    header()
    for name, path in LEADERSHIP.items():
        if max(measure(url, name, path.format(r=round_id))) >= TARGET_MB:
            missed.append(f"{label} {name}")
    rng = random.Random(seed)
    peaks: dict[int, dict[str, float]] = {}
    done = 0
    for size in (responses // 10, responses):
        with app.app_context():
            add_responses(db.session.get(Survey, survey_id), size - done, rng)
            db.session.remove()
        done = size
        print(f"\n{label}: survey exports at {size:,} responses")
        header()
        peaks[size] = {}
        for name, path in SURVEY.items():
            peak, growth = measure(url, name, path.format(s=survey_id))
            peaks[size][name] = peak
            if max(peak, growth) >= TARGET_MB:
                missed.append(f"{label} {name} at {size:,}")
    small, large = sorted(peaks)
    print(f"  peak Python memory at {large:,} / at {small:,} responses (10x the data; flat "
          "means close to 1): " + ", ".join(f"{name.split('(')[1][:-1]} "
                                             f"{peaks[large][name] / peaks[small][name]:.2f}"
                                             for name in SURVEY))
    with app.app_context():
        db.engine.dispose()
    return missed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--members", type=int, default=50_000)
    parser.add_argument("--responses", type=int, default=None,
                        help="survey responses (default: as many as members)")
    parser.add_argument("--seed", type=int, default=7)
    add_postgres_option(parser)
    args = parser.parse_args()
    responses = args.members if args.responses is None else args.responses
    print(f"Machine: {machine_summary()}")
    missed = []
    for label, url in databases(args.postgres, "exports"):
        missed += run(url, label, args.members, responses, args.seed)
    print("\ns and RSS +MB: the time of the first request in a fresh process and how far the "
          "process's peak resident memory rose during it (module imports and caches filled "
          "on first use included; C libraries such as the database driver counted too).\n"
          "Python MB: the most Python memory (tracemalloc) held during the same request "
          "repeated in that process.")
    raise SystemExit(verdict(missed))

if __name__ == "__main__":
    main()
