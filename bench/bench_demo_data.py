"""Time to generate the demo data, against the one-minute target at 50,000 members.

Migrates a temporary SQLite database (or a scratch PostgreSQL database) and runs
`flask demo-data --members N` on it, as `make demo` does, and prints the command's
own summary (what it created, and its time by its own count), and the wall time of
the whole command, Flask's start-up included, with its ratio to the 60 s target.

    .venv/bin/python -m bench.bench_demo_data [--members 50000]
                                              [--postgres postgresql://postgres@127.0.0.1:5432/postgres]

Exits 1 when the target is missed.
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import time

from bench.harness import (
    ROOT,
    add_postgres_option,
    databases,
    machine_summary,
    portal_env,
    verdict,
)

TARGET_S = 60.0


def flask(env: dict[str, str], *args: str) -> str:
    cmd = [sys.executable, "-m", "flask", *args]
    done = subprocess.run(cmd, env=env, cwd=ROOT, capture_output=True, text=True)  # noqa: S603
    if done.returncode:
        raise RuntimeError(f"flask {' '.join(args)} failed:\n{done.stdout}{done.stderr}")
    return done.stdout


def run(url: str, label: str, members: int, seed: int) -> bool:
    env = portal_env(url, FLASK_APP="portal")
    flask(env, "db", "upgrade")
    flask(env, "plan", "import", "--if-empty")
    started = time.perf_counter()
    out = flask(env, "demo-data", "--members", str(members), "--seed", str(seed), "--quiet",
                "--password", "bench demo password")
    wall = time.perf_counter() - started
    summary = next((line for line in out.splitlines() if line.startswith("Created")), out)
    own = re.search(r" in ([\d.]+) s\.", summary)
    own_s = float(own.group(1)) if own else wall
    ok = wall <= TARGET_S
    print(f"\n{label}: {summary}")
    print(f"  the command took {wall:.1f} s with Flask's start-up ({own_s:.1f} s by its own "
          f"count): {wall / TARGET_S:.2f}x the {TARGET_S:.0f} s target {'ok' if ok else 'MISSED'}",
          flush=True)
    return ok


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--members", type=int, default=50_000)
    parser.add_argument("--seed", type=int, default=1)
    add_postgres_option(parser)
    args = parser.parse_args()
    print(f"Machine: {machine_summary()}")
    missed = [label for label, url in databases(args.postgres, "demo")
              if not run(url, label, args.members, args.seed)]
    raise SystemExit(verdict(missed))

if __name__ == "__main__":
    main()
