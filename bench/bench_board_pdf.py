"""Time and memory of the board report PDF at association scale.

Builds MEMBERS members x 22 objectives x 2 rounds with bulk inserts into a temporary
SQLite database (or a scratch PostgreSQL database with --postgres), then renders the
board PDF (/reports/board.pdf, portal.reports.pdf) in a fresh process:

- first: the first request of the process (the disclosure step solves and caches
  the round's decisions, templates compile),
- warm: the median of the next requests,
- memory: the process's resident memory with the app loaded and its peak after
  the renders, and the Python allocations of one warm request (tracemalloc).

    .venv/bin/python -m bench.bench_board_pdf [--members 50000] [--repeats 3]
                                              [--postgres postgresql://...]

Targets (issue 16): at most 5 s and at most 200 MB to make the PDF. Exits 1 when
the warm time or the memory misses them.
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import time

import sqlalchemy as sa

TARGET_S = 5.0
TARGET_MB = 200.0


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def render(url: str, repeats: int) -> dict:
    """Run in a fresh process: time and memory of the PDF requests."""
    from bench.dataset import bench_app, leader_client
    from portal.extensions import db
    from portal.models import FeedbackRound

    app = bench_app(url)
    with app.app_context():
        round_id = db.session.scalar(sa.select(sa.func.max(FeedbackRound.id)))
        db.session.remove()
    client = leader_client(app)
    path = f"/reports/board.pdf?round={round_id}"
    before = _rss_mb()

    def once() -> tuple[float, int, int]:
        t = time.perf_counter()
        resp = client.get(path)
        took = time.perf_counter() - t
        if resp.status_code != 200:
            raise RuntimeError(f"{path} answered {resp.status_code}")
        import io

        import pypdf

        return took, len(resp.data), len(pypdf.PdfReader(io.BytesIO(resp.data)).pages)

    first, size, pages = once()
    after_first = _rss_mb()
    warm = [once()[0] for _ in range(repeats)]
    # Python's own allocations during one more warm request (the layout engine's
    # boxes, the PDF objects); Pango's and the database's C memory show in the RSS.
    import tracemalloc

    tracemalloc.start()
    once()
    _, traced_peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return {"first_s": first, "warm_s": statistics.median(warm), "bytes": size,
            "pages": pages, "rss_start_mb": before, "rss_after_first_mb": after_first,
            "rss_peak_mb": _rss_mb(), "traced_peak_mb": traced_peak / 2**20}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--members", type=int, default=50_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--render", metavar="URL", help=argparse.SUPPRESS)
    from bench.harness import add_postgres_option, databases, machine_summary, verdict

    add_postgres_option(parser)
    args = parser.parse_args()
    if args.render:
        print(json.dumps(render(args.render, args.repeats)))
        return
    from bench.dataset import build_ratings

    print(f"Machine: {machine_summary()}")
    missed = []
    for label, url in databases(args.postgres, "boardpdf"):
        print(f"\n{label}: building {args.members:,} members x 22 objectives x 2 rounds",
              flush=True)
        build_ratings(url, args.members, args.seed)
        out = subprocess.run([sys.executable, "-m", "bench.bench_board_pdf", "--render", url,
                              "--repeats", str(args.repeats)], capture_output=True,
                             text=True, check=True)
        r = json.loads(out.stdout.strip().splitlines()[-1])
        grew = r["rss_peak_mb"] - r["rss_start_mb"]
        print(f"  board PDF: {r['pages']} pages, {r['bytes'] / 1024:,.0f} KiB")
        print(f"  first request {r['first_s']:.2f} s (solves the round's disclosure once), "
              f"warm {r['warm_s']:.2f} s: {r['warm_s'] / TARGET_S:.2f}x the {TARGET_S:.0f} s "
              "target")
        print(f"  memory: process {r['rss_start_mb']:.0f} MB with the app loaded, peak "
              f"{r['rss_peak_mb']:.0f} MB ({grew:.0f} MB more, most of it the first "
              f"request's disclosure solve); a warm request allocates at most "
              f"{r['traced_peak_mb']:.0f} MB in Python: "
              f"{r['rss_peak_mb'] / TARGET_MB:.2f}x the {TARGET_MB:.0f} MB target")
        if r["warm_s"] > TARGET_S:
            missed.append(f"{label} time")
        if r["rss_peak_mb"] > TARGET_MB:
            missed.append(f"{label} memory")
    raise SystemExit(verdict(missed))


if __name__ == "__main__":
    main()
