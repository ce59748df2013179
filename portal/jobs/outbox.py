"""The transactional outbox: jobs are rows written in the caller's transaction.

`enqueue()` adds a `Job` row to the current session; nothing reaches the queue until
that transaction commits (a rolled-back request queues nothing). After the commit a
session hook hands the new ids to Huey. If the process dies between the commit and
the hand-over, the scheduler's sweep (`sweep()`, every minute and when a worker
starts) finds the due rows and hands them over again. Handing a row over twice is
harmless: `run()` claims it with one conditional UPDATE and a lease, so one worker
runs it, and a worker killed mid-job leaves a lease that runs out.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from flask import current_app
from sqlalchemy.orm import Session

from portal.extensions import db
from portal.models.jobs import Job, JobStatus
from portal.timeutil import now_utc

log = logging.getLogger("portal.jobs")

HANDLERS: dict[str, Callable[[dict[str, Any]], Any]] = {}
PENDING_KEY = "portal_jobs_to_dispatch"


@dataclass(frozen=True)
class Reschedule:
    """A handler's answer "not finished, run me again at `at`" (not a failure)."""

    at: datetime


def handler(name: str) -> Callable:
    """Register the function that runs jobs of task `name`."""

    def register(func: Callable[[dict[str, Any]], Any]) -> Callable:
        HANDLERS[name] = func
        return func

    return register


# Sealing the payload --------------------------------------------------------------

def _key() -> bytes:
    secret = current_app.config["SECRET_KEY"].encode()
    return hashlib.sha256(b"portal job payload v1\x00" + secret).digest()


def seal(task: str, payload: dict[str, Any]) -> bytes:
    nonce = os.urandom(12)
    data = json.dumps(payload, separators=(",", ":")).encode()
    return nonce + AESGCM(_key()).encrypt(nonce, data, task.encode())


def unseal(task: str, sealed: bytes | None) -> dict[str, Any]:
    if not sealed:
        return {}
    try:
        data = AESGCM(_key()).decrypt(sealed[:12], sealed[12:], task.encode())
    except InvalidTag as exc:
        raise RuntimeError("the job's payload does not open with this SECRET_KEY") from exc
    return json.loads(data)


# Writing jobs ---------------------------------------------------------------------

def enqueue(task: str, payload: dict[str, Any] | None = None,
            run_at: datetime | None = None) -> Job:
    """Record a job in the current transaction; it is queued when that commits."""
    if task not in HANDLERS:
        raise KeyError(f"no job handler named {task!r}")
    job = Job(task=task, payload=seal(task, payload or {}), run_at=run_at or now_utc())
    db.session.add(job)
    db.session.flush()
    db.session.info.setdefault(PENDING_KEY, []).append((job.id, job.run_at))
    return job


def install_session_hooks() -> None:
    """Hand committed jobs to the queue; forget those of a rolled-back transaction."""
    if getattr(install_session_hooks, "done", False):
        return
    sa.event.listen(Session, "after_commit", _after_commit)
    sa.event.listen(Session, "after_rollback", _after_rollback)
    install_session_hooks.done = True


def _after_commit(session: Session) -> None:
    pending = session.info.pop(PENDING_KEY, None)
    if pending:
        dispatch(pending)


def _after_rollback(session: Session) -> None:
    session.info.pop(PENDING_KEY, None)


def dispatch(pending: list[tuple[int, datetime]]) -> None:
    """Give job ids to the queue. A failure here loses nothing (the sweep retries),
    so it is logged and never reaches the page."""
    app = current_app._get_current_object()
    queue = app.extensions["portal_jobs"]
    try:
        # A fresh app context: an eager (test) queue runs the job at once, with a
        # session of its own, while the caller's session is still finishing its commit.
        with app.app_context():
            for job_id, run_at in pending:
                queue.submit(job_id, run_at)
    except Exception:
        log.exception("jobs not handed to the queue (the sweep will): %s",
                      [job_id for job_id, _ in pending])


# Running jobs ---------------------------------------------------------------------

def _backoff(attempts: int) -> timedelta:
    base = current_app.config["JOBS_RETRY_BASE_SECONDS"]
    return timedelta(seconds=min(base * 2 ** max(attempts - 1, 0), 6 * 3600))


def claim(job_id: int) -> bool:
    """Take the job for this worker for JOBS_LEASE_SECONDS, if it is due and free."""
    now = now_utc()
    lease = now + timedelta(seconds=current_app.config["JOBS_LEASE_SECONDS"])
    free = sa.or_(Job.status.in_([JobStatus.QUEUED, JobStatus.FAILED]),
                  sa.and_(Job.status == JobStatus.RUNNING, Job.lease_until < now))
    result = db.session.execute(
        sa.update(Job).where(Job.id == job_id, free, Job.run_at <= now)
        .values(status=JobStatus.RUNNING, lease_until=lease, attempts=Job.attempts + 1)
        .execution_options(synchronize_session=False))
    db.session.commit()
    return result.rowcount == 1


def extend_lease(job_id: int) -> None:
    """Long jobs (a campaign wave) keep their claim while they make progress."""
    lease = now_utc() + timedelta(seconds=current_app.config["JOBS_LEASE_SECONDS"])
    db.session.execute(sa.update(Job).where(Job.id == job_id, Job.status == JobStatus.RUNNING)
                       .values(lease_until=lease).execution_options(synchronize_session=False))


def run(job_id: int) -> str:
    """Run one job if this worker can claim it. Returns the job's status afterwards
    ("skipped" when another worker holds it or it is not due)."""
    if not claim(job_id):
        return "skipped"
    job = db.session.get(Job, job_id)
    func = HANDLERS.get(job.task)
    try:
        if func is None:
            raise RuntimeError(f"no job handler named {job.task!r}")
        payload = unseal(job.task, job.payload)
        outcome = func({**payload, "_job_id": job_id})
    except Exception as exc:
        db.session.rollback()
        return _failed(job_id, exc)
    job = db.session.get(Job, job_id)
    if isinstance(outcome, Reschedule):
        job.status = JobStatus.QUEUED
        job.run_at = outcome.at
        job.attempts = 0  # waiting for its time is not a failure
        job.lease_until = None
        db.session.info.setdefault(PENDING_KEY, []).append((job.id, job.run_at))
    else:
        job.status = JobStatus.DONE
        job.payload = None
        job.lease_until = None
        job.last_error = None
        job.finished_at = now_utc()
    db.session.commit()
    return job.status


def _failed(job_id: int, exc: Exception) -> str:
    job = db.session.get(Job, job_id)
    job.last_error = f"{type(exc).__name__}: {exc}"[:500]
    job.lease_until = None
    if job.attempts >= current_app.config["JOBS_MAX_ATTEMPTS"]:
        job.status = JobStatus.DEAD
        job.finished_at = now_utc()
        log.error("job %s (%s) is dead after %s attempts: %s", job.id, job.task,
                  job.attempts, job.last_error)
    else:
        job.status = JobStatus.FAILED
        job.run_at = now_utc() + _backoff(job.attempts)
        db.session.info.setdefault(PENDING_KEY, []).append((job.id, job.run_at))
        log.warning("job %s (%s) failed, attempt %s, next at %s: %s", job.id, job.task,
                    job.attempts, job.run_at, job.last_error)
    db.session.commit()
    return job.status


def sweep(now: datetime | None = None) -> int:
    """Hand every due job to the queue again: queued or failed rows whose time has
    come, and running rows whose worker died (lease run out). Returns how many."""
    now = now or now_utc()
    due = db.session.execute(
        sa.select(Job.id, Job.run_at).where(sa.or_(
            sa.and_(Job.status.in_([JobStatus.QUEUED, JobStatus.FAILED]), Job.run_at <= now),
            sa.and_(Job.status == JobStatus.RUNNING, Job.lease_until < now)))
        .order_by(Job.run_at, Job.id).limit(10_000)).all()
    db.session.rollback()
    if due:
        dispatch([(job_id, now) for job_id, _ in due])
    return len(due)


def retry_dead(job_id: int) -> Job | None:
    """Give a dead job a fresh set of attempts (an admin's decision)."""
    job = db.session.get(Job, job_id)
    if job is None or job.status != JobStatus.DEAD:
        return None
    job.status = JobStatus.QUEUED
    job.attempts = 0
    job.run_at = now_utc()
    job.finished_at = None
    db.session.info.setdefault(PENDING_KEY, []).append((job.id, job.run_at))
    return job


def counts() -> dict[str, int]:
    """Jobs by status, with running split into live and stale (worker gone)."""
    rows = dict(db.session.execute(
        sa.select(Job.status, sa.func.count()).group_by(Job.status)).all())
    stale = db.session.scalar(sa.select(sa.func.count()).where(
        Job.status == JobStatus.RUNNING, Job.lease_until < now_utc())) or 0
    return {**{s.value: rows.get(s.value, 0) for s in JobStatus}, "stale": stale}
