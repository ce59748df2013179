"""Background work on a durable job queue (Huey); see outbox.py and queue.py."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    # Importing the job modules registers their handlers.
    from portal.campaigns import waves  # noqa: F401
    from portal.feedback import notify  # noqa: F401
    from portal.jobs import cli, mail_jobs, outbox  # noqa: F401
    from portal.jobs.queue import JobQueue

    app.extensions["portal_jobs"] = JobQueue(app)
    outbox.install_session_hooks()
    cli.init_app(app)
