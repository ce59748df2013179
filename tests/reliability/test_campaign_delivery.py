"""No mail lost, none doubled: a campaign delivered by job workers to an aiosmtpd sink,
with a worker SIGKILLed twice in the middle and the sink stopped for 10 s, leaves
exactly one invitation per recipient in the sink. The reminder then goes exactly to
those who had not taken part when it ran.

On SQLite with the embedded queue (SqliteHuey, one worker at a time) and on PostgreSQL
with Redis (RedisHuey, two workers). RELIABILITY_CAMPAIGN_MEMBERS sets the size.
"""

from __future__ import annotations

import os
import random
import time
from collections import Counter
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path

import sqlalchemy as sa

from bench.campaign_run import Delivery, final_count, prepare, queue_campaign, wait_for
from bench.harness import SECRET
from tests.reliability import env
from tests.reliability.load import Figures

MEMBERS = int(os.environ.get("RELIABILITY_CAMPAIGN_MEMBERS", "2000"))
# Short leases and retries so a killed worker's messages come back within seconds.
FAST = {"CAMPAIGN_LEASE_SECONDS": "3", "JOBS_LEASE_SECONDS": "6",
        "CAMPAIGN_RETRY_BASE_SECONDS": "1", "JOBS_RETRY_BASE_SECONDS": "1",
        "CAMPAIGN_BATCH_SIZE": "50"}


T0 = time.monotonic()


def _log(text: str) -> None:
    print(f"  [{time.monotonic() - T0:6.1f} s] {text}", flush=True)


def _wait_until(engine, campaign_id: int, share: float, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while final_count(engine, campaign_id) < share * MEMBERS:
        assert time.monotonic() < deadline, "the campaign stopped moving"
        time.sleep(0.1)
    _log(f"{share:.0%} of the invitations final")


def _engine(url: str) -> sa.Engine:
    return sa.create_engine(url.replace("postgresql://", "postgresql+psycopg://", 1),
                            poolclass=sa.NullPool)


def _take_part(url: str, campaign_id: int, survey_id: int, share: float) -> set[str]:
    """Some recipients register and answer (participation rows); returns who."""
    engine = _engine(url)
    rng = random.Random(19)
    with engine.begin() as conn:
        emails = [r[0] for r in conn.execute(sa.text(
            "SELECT email FROM campaign_recipients WHERE campaign_id = :c"), {"c": campaign_id})]
        chosen = set(rng.sample(emails, int(len(emails) * share)))
        for email in sorted(chosen):
            user_id = conn.execute(sa.text(
                "INSERT INTO users (email, display_name, role, active, session_version, "
                "email_verified_at, created_at, updated_at) VALUES (:e, 'Member', 'member', "
                ":t, 1, :n, :n, :n) RETURNING id"),
                {"e": email, "t": True, "n": "2026-01-01 00:00:00"}).scalar()
            conn.execute(sa.text("INSERT INTO survey_participations (survey_id, user_id) "
                                 "VALUES (:s, :u)"), {"s": survey_id, "u": user_id})
    engine.dispose()
    return chosen


@contextmanager
def _environment(extra: dict[str, str]):
    """The queue settings of the workers, for the steps this process does itself."""
    saved = {k: os.environ.get(k) for k in extra}
    os.environ.update(extra)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def _start_reminder(url: str, campaign_id: int) -> None:
    """What the scheduler does when the reminder is due (here: a day early)."""
    from portal import create_app
    from portal.campaigns import waves
    from portal.extensions import db
    from portal.timeutil import now_utc

    app = create_app({"CONFIG": "development", "SQLALCHEMY_DATABASE_URI": url,
                      "SECRET_KEY": SECRET, "LOG_LEVEL": "WARNING"})
    with app.app_context():
        later = now_utc() + timedelta(days=1, minutes=1)
        assert waves.start_wave(campaign_id, 1, now=later) == "started"
        db.session.commit()
        db.session.remove()
        db.engine.dispose()


def _run(url: str, tmp: Path, workers: int, record, label: str, extra: dict) -> None:
    survey_id = prepare(url, MEMBERS)
    with _environment(extra):
        campaign_id, _, queued = queue_campaign(url, survey_id, reminders=1)
    assert queued == MEMBERS
    delivery = Delivery(url, tmp, workers=workers, extra_env={**FAST, **extra})
    engine = _engine(url)
    started = time.monotonic()
    kills = 0
    try:
        delivery.start_sink()
        delivery.start_workers()
        for share in (0.2, 0.6):
            _wait_until(engine, campaign_id, share)
            delivery.kill(delivery.live()[0])          # SIGKILL, mid-batch
            kills += 1
            _log("worker killed")
            delivery.start_worker()
            if share == 0.2:
                _wait_until(engine, campaign_id, 0.4)
                delivery.stop_sink()                   # the mail server goes away ...
                _log("sink stopped")
                time.sleep(10)
                delivery.start_sink()                  # ... and comes back 10 s later
                _log("sink started")
        wait_for(engine, campaign_id, MEMBERS, timeout=300)
        _log("every invitation final")
        took_part = _take_part(url, campaign_id, survey_id, 0.3)
        with _environment(extra):
            _start_reminder(url, campaign_id)
        outstanding = MEMBERS - len(took_part)
        _log("reminder started")
        wait_for(engine, campaign_id, outstanding, timeout=300, wave=1)
        _log("every reminder final")
        time.sleep(0.5)
    finally:
        delivery.stop()
        engine.dispose()
    elapsed = time.monotonic() - started
    lines = delivery.sink_lines()
    invitations = Counter(r for r, tag in lines if tag == f"{campaign_id}.0")
    reminders = Counter(r for r, tag in lines if tag == f"{campaign_id}.1")
    problems = []
    doubled = sum(n - 1 for n in invitations.values() if n > 1)
    if len(invitations) != MEMBERS:
        problems.append(f"{MEMBERS - len(invitations)} invitation(s) lost")
    if doubled:
        problems.append(f"{doubled} invitation(s) doubled")
    wrong = set(reminders) & took_part
    if wrong:
        problems.append(f"{len(wrong)} reminder(s) to members who had taken part")
    if len(reminders) != outstanding or any(n != 1 for n in reminders.values()):
        problems.append(f"reminders: {len(reminders)} recipients for {outstanding} outstanding")
    figures = Figures(scenario=f"campaign on {label}, {workers} worker(s), {kills} SIGKILLs, "
                               "sink down 10 s",
                      requests=MEMBERS + outstanding, accepted=len(lines),
                      stored=len(invitations) + len(reminders), duplicates=doubled, five_xx=0,
                      five_xx_503=0, recovery=f"{elapsed:.0f} s in all", problems=problems,
                      notes=f"{len(invitations)} invitations for {MEMBERS} recipients; "
                            f"{len(reminders)} reminders for {outstanding} who had not taken "
                            "part")
    record(figures)
    assert not problems, problems


def test_campaign_survives_kills_and_a_mail_outage_on_sqlite(tmp_path, record):
    url = f"sqlite:///{tmp_path / 'campaign.db'}"
    _run(url, tmp_path, 1, record, "SQLite + SqliteHuey", {})


def test_campaign_survives_kills_and_a_mail_outage_on_postgresql_and_redis(tmp_path, record):
    name = env.create_pg_database("campaign")
    queue = f"portal-rel-{os.getpid()}"
    try:
        _run(env.pg_url(name), tmp_path, 2, record, "PostgreSQL + RedisHuey",
             {"JOBS_BACKEND": "redis", "REDIS_URL": env.REDIS_URI, "JOBS_QUEUE_NAME": queue})
    finally:
        env.drop_pg_database(name)
        import redis

        client = redis.Redis.from_url(env.REDIS_URI)
        for key in client.scan_iter(f"huey.*{queue}*"):
            client.delete(key)
