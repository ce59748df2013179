"""Campaign throughput: queue a campaign to N roster addresses (target: 50,000 in under
30 s) and deliver it through `flask jobs worker` processes to an aiosmtpd sink on
127.0.0.1 (target: at least 200 messages/s unthrottled on a 2-core machine).

    python -m bench.bench_campaign --members 50000 [--workers 2] [--postgres URL]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from collections import Counter
from pathlib import Path

import sqlalchemy as sa

from bench.campaign_run import Delivery, prepare, queue_campaign, wait_for
from bench.harness import add_postgres_option, databases, machine_summary, verdict

QUEUE_TARGET_SECONDS = 30.0
RATE_TARGET = 200.0


def run(label: str, url: str, members: int, workers: int, missed: list[str]) -> None:
    survey_id = prepare(url, members)
    campaign_id, seconds, queued = queue_campaign(url, survey_id)
    print(f"{label}: queued a campaign to {queued} addresses in {seconds:.1f} s "
          f"(target < {QUEUE_TARGET_SECONDS:.0f} s)")
    if seconds >= QUEUE_TARGET_SECONDS:
        missed.append(f"{label} queueing")
    with tempfile.TemporaryDirectory(prefix="bench-campaign-") as tmp:
        delivery = Delivery(url, Path(tmp), workers=workers)
        delivery.start_sink()
        engine = sa.create_engine(url.replace("postgresql://", "postgresql+psycopg://", 1))
        try:
            delivery.start_workers()
            elapsed = wait_for(engine, campaign_id, queued, timeout=max(600, queued / 20))
        finally:
            delivery.stop()
            engine.dispose()
        # Only the campaign's invitations: the worker's scheduler may also send other
        # mail meanwhile (a member account's activity digest, say).
        lines = [(rcpt, tag) for rcpt, tag in delivery.sink_lines()
                 if tag == f"{campaign_id}.0"]
        per = Counter(rcpt for rcpt, _ in lines)
    rate = queued / elapsed
    print(f"{label}: delivered {len(lines)} messages to the sink in {elapsed:.1f} s with "
          f"{workers} worker process(es): {rate:.0f} messages/s (target >= {RATE_TARGET:.0f}); "
          f"{len(per)} recipients, {sum(1 for n in per.values() if n > 1)} with more than one")
    if rate < RATE_TARGET:
        missed.append(f"{label} delivery rate")
    if len(per) != queued or any(n != 1 for n in per.values()):
        missed.append(f"{label} exactly one message per recipient")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--members", type=int, default=50_000)
    parser.add_argument("--workers", type=int, default=2)
    add_postgres_option(parser)
    args = parser.parse_args()
    print(machine_summary())
    missed: list[str] = []
    for label, url in databases(args.postgres, "campaign"):
        run(label, url, args.members, args.workers, missed)
    return verdict(missed)


if __name__ == "__main__":
    sys.exit(main())
