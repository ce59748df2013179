"""`flask jobs ...`: run a worker, see the queue, retry dead jobs."""

from __future__ import annotations

import logging

import click
import sqlalchemy as sa
from flask import Flask, current_app
from flask.cli import AppGroup

from portal.extensions import db
from portal.jobs import outbox, scheduler
from portal.models.jobs import Job, JobStatus
from portal.numfmt import plural

jobs_cli = AppGroup("jobs", help="The background job queue.")


@jobs_cli.command("worker")
@click.option("--workers", type=int, default=None,
              help="Worker threads (default JOBS_WORKERS).")
def worker(workers: int | None) -> None:
    """Run a worker with the scheduler (stop with Ctrl-C; any number may run)."""
    queue = current_app.extensions["portal_jobs"]
    logging.getLogger("huey").setLevel(logging.WARNING)
    # Hand over at once whatever a dead worker or a lost hand-over left behind.
    scheduler.tick()
    db.session.remove()
    consumer = queue.huey.create_consumer(
        workers=workers or current_app.config["JOBS_WORKERS"], worker_type="thread",
        periodic=True, initial_delay=0.05, backoff=1.5, max_delay=1.0)
    click.echo(f"Job worker on {current_app.config['JOBS_BACKEND']} "
               f"with {workers or current_app.config['JOBS_WORKERS']} thread(s).")
    consumer.run()


@jobs_cli.command("status")
def status() -> None:
    """Jobs by status, the queue's length, and the dead-letter list."""
    queue = current_app.extensions["portal_jobs"]
    counts = outbox.counts()
    running = counts["running"] - counts["stale"]
    click.echo(f"queued   {counts['queued']}")
    click.echo(f"running  {running}")
    click.echo(f"stale    {counts['stale']}  (worker gone; the next sweep hands them over)")
    click.echo(f"failed   {counts['failed']}  (waiting to retry)")
    click.echo(f"dead     {counts['dead']}")
    click.echo(f"done     {counts['done']}")
    click.echo(f"in the {current_app.config['JOBS_BACKEND']} queue: {queue.pending()} pending, "
               f"{queue.scheduled()} scheduled")
    dead = db.session.scalars(sa.select(Job).where(Job.status == JobStatus.DEAD)
                              .order_by(Job.finished_at.desc()).limit(50)).all()
    for job in dead:
        click.echo(f"  dead #{job.id} {job.task} after {job.attempts} attempts: {job.last_error}")


@jobs_cli.command("retry")
@click.argument("job_id", type=int)
def retry(job_id: int) -> None:
    """Give a dead job a fresh set of attempts."""
    job = outbox.retry_dead(job_id)
    if job is None:
        raise click.ClickException(f"There is no dead job #{job_id}.")
    db.session.commit()
    click.echo(f"Job #{job_id} ({job.task}) is queued again.")


@jobs_cli.command("run")
def run_once() -> None:
    """Do one scheduler tick and run what is queued, in this process, then stop."""
    result = scheduler.tick()
    ran = current_app.extensions["portal_jobs"].drain()
    click.echo(f"{plural(result['waves'], 'wave')} started, {plural(ran, 'task')} run.")


def init_app(app: Flask) -> None:
    app.cli.add_command(jobs_cli)
