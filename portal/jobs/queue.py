"""The job queue: Huey, on SQLite by default and on Redis in production.

Huey carries only job ids; the `jobs` table (portal/jobs/outbox.py) is the truth.
Storage by configuration:

- `REDIS_URL` set (or JOBS_BACKEND=redis): RedisHuey; workers on any number of hosts.
- otherwise JOBS_BACKEND=sqlite: SqliteHuey in `instance/jobs.db`, no other service.
- JOBS_BACKEND=memory (tests): MemoryHuey; with JOBS_IMMEDIATE the job runs when
  it is handed over, in the process that committed it.
"""

from __future__ import annotations

import logging
from datetime import datetime
from pathlib import Path

from flask import Flask
from huey import MemoryHuey, RedisHuey, SqliteHuey, crontab
from huey.api import Huey

from portal.timeutil import now_utc

log = logging.getLogger("portal.jobs")


def make_huey(app: Flask) -> Huey:
    cfg = app.config
    backend = cfg["JOBS_BACKEND"]
    immediate = bool(cfg.get("JOBS_IMMEDIATE"))
    name = cfg.get("JOBS_QUEUE_NAME") or "portal"
    if backend == "redis":
        return RedisHuey(name, url=cfg["REDIS_URL"], results=False, immediate=immediate)
    if backend == "sqlite":
        path = Path(cfg["JOBS_SQLITE_PATH"])
        path.parent.mkdir(parents=True, exist_ok=True)
        return SqliteHuey(name, filename=str(path), results=False, immediate=immediate,
                          timeout=15)
    if backend == "memory":
        return MemoryHuey(name, results=False, immediate=immediate)
    raise RuntimeError(f"JOBS_BACKEND must be sqlite, redis or memory, got {backend!r}")


class JobQueue:
    """The app's queue: the Huey instance and the two tasks it knows."""

    def __init__(self, app: Flask) -> None:
        self.app = app
        self.huey = make_huey(app)

        @self.huey.task(name="portal.run_job")
        def run_job(job_id: int) -> None:
            from portal.jobs import outbox

            with app.app_context():
                outbox.run(job_id)

        @self.huey.periodic_task(crontab(minute="*"), name="portal.tick")
        def tick() -> None:
            from portal.jobs import scheduler

            with app.app_context():
                scheduler.tick()

        self.run_job = run_job
        self.tick = tick

    def submit(self, job_id: int, run_at: datetime | None = None) -> None:
        if run_at is not None and run_at > now_utc():
            if self.huey.immediate:
                return  # an eager queue has no clock: the sweep hands it over when due
            self.run_job.schedule(args=(job_id,), eta=run_at)
        else:
            self.run_job(job_id)

    def pending(self) -> int:
        return self.huey.pending_count()

    def scheduled(self) -> int:
        return self.huey.scheduled_count()

    def drain(self, limit: int = 100_000) -> int:
        """Run every task waiting in the queue, here and now (tests, `flask jobs run`)."""
        done = 0
        while done < limit:
            task = self.huey.dequeue()
            if task is None:
                break
            self.huey.execute(task)
            done += 1
        return done
