"""Background jobs: the transactional outbox that the job queue (Huey) is fed from."""

from __future__ import annotations

import enum
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from portal.extensions import db
from portal.timeutil import now_utc


class JobStatus(enum.StrEnum):
    QUEUED = "queued"    # recorded; waiting for its time or for a worker
    RUNNING = "running"  # a worker holds it until lease_until
    FAILED = "failed"    # the last attempt failed; it runs again at run_at
    DEAD = "dead"        # out of attempts: the dead-letter list, retried by an admin
    DONE = "done"


class Job(db.Model):
    """One unit of background work, written in the transaction of the change that
    causes it. The queue only carries this row's id; the row is the truth, so a
    crash between commit and dispatch, or a worker killed mid-job, loses nothing:
    the scheduler's sweep hands every due row to the queue again, and a claim with
    a lease makes sure only one worker runs it at a time.

    `payload` is sealed (AES-GCM under a key derived from SECRET_KEY): a mail job
    carries a one-time link, and a copy of the database must not hand out working
    links. It is emptied when the job is done.
    """

    __tablename__ = "jobs"
    __table_args__ = (
        sa.CheckConstraint("status in ('queued', 'running', 'failed', 'dead', 'done')",
                           name="status_known"),
        sa.Index("ix_jobs_status_run_at", "status", "run_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    task: Mapped[str] = mapped_column(sa.String(64))
    payload: Mapped[bytes | None] = mapped_column(sa.LargeBinary)
    status: Mapped[str] = mapped_column(sa.String(16), default=JobStatus.QUEUED.value)
    attempts: Mapped[int] = mapped_column(default=0)
    run_at: Mapped[datetime] = mapped_column(default=lambda: now_utc())
    lease_until: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(sa.String(500))
    created_at: Mapped[datetime] = mapped_column(default=lambda: now_utc())
    finished_at: Mapped[datetime | None]
