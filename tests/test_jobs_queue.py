"""The job queue: jobs are rows of the caller's transaction, handed to Huey after the
commit, retried with backoff while the mail server is down, and dead-lettered."""

from __future__ import annotations

import sqlalchemy as sa

from portal.extensions import db
from portal.jobs import outbox
from portal.jobs.mail_jobs import queue_mail
from portal.models import Job, JobStatus
from portal.timeutil import now_utc
from tests.factories import mail_outbox
from tests.smtp_sink import SmtpSink, free_port


def _jobs(task: str = "mail.send") -> list[Job]:
    db.session.expire_all()
    return db.session.scalars(sa.select(Job).where(Job.task == task).order_by(Job.id)).all()


def test_a_job_goes_out_only_when_its_transaction_commits(app):
    queue_mail("a@example.org", "Rolled back", "Body")
    db.session.rollback()
    assert mail_outbox() == [] and _jobs() == []
    queue_mail("a@example.org", "Committed", "Body")
    assert mail_outbox() == []  # recorded, not sent: the commit hands it over
    db.session.commit()
    assert [m.subject for m in mail_outbox()] == ["Committed"]
    [job] = _jobs()
    assert job.status == JobStatus.DONE and job.payload is None and job.attempts == 1


def test_registration_mail_is_a_job_of_the_request(client, app):
    resp = client.post_form("/auth/register", {
        "email": "new@example.org", "display_name": "New", "password": "a long passphrase 42",
        "confirm": "a long passphrase 42"})
    assert resp.status_code == 302, resp.get_data(as_text=True)[:500]
    [job] = _jobs()
    assert job.status == JobStatus.DONE
    assert [m.to for m in mail_outbox()] == ["new@example.org"]


def test_the_payload_is_sealed_so_the_database_holds_no_working_link(app, monkeypatch):
    # Keep the job waiting (no hand-over) to look at the row.
    monkeypatch.setattr(app.extensions["portal_jobs"], "submit", lambda *a: None)
    queue_mail("a@example.org", "Reset", "Open https://portal.example/reset/SECRETTOKEN123")
    db.session.commit()
    [job] = _jobs()
    assert job.status == JobStatus.QUEUED
    assert b"SECRETTOKEN123" not in job.payload and b"a@example.org" not in job.payload
    assert outbox.unseal(job.task, job.payload)["body"].endswith("SECRETTOKEN123")


def test_a_crash_between_commit_and_hand_over_loses_nothing(app, monkeypatch):
    def lost(*args):
        raise ConnectionError("the queue's storage is unreachable")

    queue = app.extensions["portal_jobs"]
    monkeypatch.setattr(queue, "submit", lost)
    queue_mail("a@example.org", "Survives", "Body")
    db.session.commit()  # the hand-over fails; the commit stands
    assert mail_outbox() == [] and _jobs()[0].status == JobStatus.QUEUED
    monkeypatch.undo()
    assert outbox.sweep() == 1
    assert [m.subject for m in mail_outbox()] == ["Survives"]
    assert _jobs()[0].status == JobStatus.DONE


def test_smtp_down_nothing_lost_retries_with_backoff_then_delivers(app):
    port = free_port()
    app.config.update(MAIL_BACKEND="smtp", MAIL_SERVER="127.0.0.1", MAIL_PORT=port)
    queue_mail("a@example.org", "Patience", "Body")
    db.session.commit()
    [job] = _jobs()
    assert job.status == JobStatus.FAILED and job.attempts == 1
    assert "MailError" in job.last_error
    first_wait = (job.run_at - now_utc()).total_seconds()
    assert 20 < first_wait <= 30  # JOBS_RETRY_BASE_SECONDS
    # Not due yet: the sweep leaves it.
    assert outbox.sweep() == 0
    # The second failure waits twice as long.
    job.run_at = now_utc()
    db.session.commit()
    outbox.sweep()
    [job] = _jobs()
    assert job.attempts == 2 and 50 < (job.run_at - now_utc()).total_seconds() <= 60
    sink = SmtpSink(port).start()
    try:
        job.run_at = now_utc()
        db.session.commit()
        outbox.sweep()
    finally:
        sink.stop()
    assert sink.recipients() == ["a@example.org"]
    assert _jobs()[0].status == JobStatus.DONE


def test_out_of_attempts_the_job_is_dead_and_an_admin_retries_it(app, client, login, admin):
    app.config.update(MAIL_BACKEND="smtp", MAIL_SERVER="127.0.0.1", MAIL_PORT=free_port(),
                      JOBS_MAX_ATTEMPTS=2, JOBS_RETRY_BASE_SECONDS=0)
    queue_mail("a@example.org", "Doomed", "Body")
    db.session.commit()
    outbox.sweep()
    [job] = _jobs()
    assert job.status == JobStatus.DEAD and job.attempts == 2
    login(admin)
    page = client.get("/admin/jobs").get_data(as_text=True)
    assert f"#{job.id} mail.send" in page and "MailError" in page
    # Retrying needs the CSRF token.
    assert client.post(f"/admin/jobs/{job.id}/retry").status_code == 400
    app.config.update(MAIL_BACKEND="memory")
    resp = client.post_form(f"/admin/jobs/{job.id}/retry")
    assert resp.status_code == 302
    assert _jobs()[0].status == JobStatus.DONE
    assert [m.subject for m in mail_outbox()] == ["Doomed"]
    # Only a dead job can be retried.
    resp = client.post_form(f"/admin/jobs/{job.id}/retry", follow_redirects=True)
    assert "is not in the dead-letter list" in resp.get_data(as_text=True)


def test_members_cannot_see_the_job_queue(client, login, member):
    login(member)
    assert client.get("/admin/jobs").status_code in (403, 404)


def test_a_running_job_belongs_to_its_worker_until_the_lease_runs_out(app, monkeypatch):
    monkeypatch.setattr(app.extensions["portal_jobs"], "submit", lambda *a: None)
    queue_mail("a@example.org", "Once", "Body")
    db.session.commit()
    [job] = _jobs()
    assert outbox.claim(job.id) is True      # a worker takes it ... and dies
    assert outbox.claim(job.id) is False     # nobody else while its lease runs
    assert outbox.sweep() == 0
    job.lease_until = now_utc()
    db.session.commit()
    monkeypatch.undo()
    assert outbox.sweep() == 1               # the lease ran out: handed over again
    assert [m.subject for m in mail_outbox()] == ["Once"]
    assert outbox.run(job.id) == "skipped"   # done: a late duplicate does nothing
    assert len(mail_outbox()) == 1


def test_sqlite_queue_with_an_in_process_worker(app, tmp_path):
    """The embedded default: SqliteHuey holds the hand-over until a worker runs it."""
    from portal.jobs.queue import JobQueue

    app.config.update(JOBS_BACKEND="sqlite", JOBS_IMMEDIATE=False,
                      JOBS_SQLITE_PATH=str(tmp_path / "jobs.db"))
    queue = JobQueue(app)
    app.extensions["portal_jobs"] = queue
    queue_mail("a@example.org", "Via SQLite", "Body")
    db.session.commit()
    assert mail_outbox() == [] and queue.pending() == 1
    assert queue.drain() == 1
    assert [m.subject for m in mail_outbox()] == ["Via SQLite"]


def test_jobs_status_and_retry_commands(app, runner):
    app.config.update(MAIL_BACKEND="smtp", MAIL_SERVER="127.0.0.1", MAIL_PORT=free_port(),
                      JOBS_MAX_ATTEMPTS=1)
    queue_mail("a@example.org", "Dead", "Body")
    db.session.commit()
    [job] = _jobs()
    out = runner.invoke(args=["jobs", "status"]).output
    assert "dead     1" in out and f"dead #{job.id} mail.send" in out
    result = runner.invoke(args=["jobs", "retry", str(job.id + 100)])
    assert result.exit_code != 0 and "no dead job" in result.output
    app.config.update(MAIL_BACKEND="memory")
    result = runner.invoke(args=["jobs", "retry", str(job.id)])
    assert result.exit_code == 0, result.output
    assert [m.subject for m in mail_outbox()] == ["Dead"]


def test_the_scheduler_opens_and_closes_rounds_and_surveys_without_a_page(app):
    from datetime import timedelta

    from portal.jobs import scheduler
    from portal.models import FeedbackRound, Survey
    from tests.factories import make_round, make_survey

    now = now_utc()
    rnd = make_round(status="draft", opens_at=now - timedelta(minutes=1),
                     closes_at=now + timedelta(days=3))
    survey = make_survey(closes_at=now + timedelta(seconds=1))
    survey.closes_at = now - timedelta(seconds=1)
    db.session.commit()
    scheduler.tick()
    db.session.expire_all()
    assert db.session.get(FeedbackRound, rnd.id).status == "open"
    assert db.session.get(Survey, survey.id).status == "closed"
