"""A whole campaign against a local SMTP sink: shared by bench/bench_campaign.py and
tests/reliability/test_campaign_delivery.py.

The database is migrated, filled with N roster addresses and an open survey; the
campaign is created and its invitation wave started in this process (what an admin's
request and the scheduler do); `flask jobs worker` processes deliver it to an aiosmtpd
sink running in its own process, which writes one line per accepted recipient.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

import sqlalchemy as sa

from bench.harness import ROOT, SECRET, free_port, portal_env

SENT_STATES = ("sent", "bounced", "failed", "opted_out")


def prepare(url: str, members: int) -> int:
    """Migrate, add `members` roster addresses and open a survey; returns its id."""
    from flask_migrate import upgrade

    from bench.dataset import bench_app, open_survey
    from portal.extensions import db
    from portal.models import RosterEntry

    app = bench_app(url)
    with app.app_context():
        upgrade(directory=str(ROOT / "migrations"))
        rows = [{"member_number": f"B{i:06d}", "email": f"member{i:06d}@example.org",
                 "membership_type": "regular",
                 "career_stage": ("student", "early", "mid", "senior")[i % 4]}
                for i in range(members)]
        for start in range(0, len(rows), 5000):
            db.session.execute(RosterEntry.__table__.insert(), rows[start:start + 5000])
        survey = open_survey()
        db.session.commit()
        survey_id = survey.id
        db.session.remove()
        db.engine.dispose()
    return survey_id


def queue_campaign(url: str, survey_id: int, reminders: int = 0) -> tuple[int, float, int]:
    """Create the campaign and start its invitation wave; returns (campaign id, seconds
    taken, messages queued)."""
    from portal import create_app
    from portal.campaigns import services, waves
    from portal.extensions import db
    from portal.models import CampaignMessage, User
    from portal.timeutil import now_utc

    # As the web app runs: development settings, the workers' key and queue.
    app = create_app({"CONFIG": "development", "SQLALCHEMY_DATABASE_URI": url,
                      "SECRET_KEY": SECRET, "LOG_LEVEL": "WARNING"})
    with app.app_context():
        admin = User(email="bench-admin@example.org", display_name="Bench admin",
                     role="admin", active=True, email_verified_at=now_utc())
        db.session.add(admin)
        db.session.commit()
        started = time.perf_counter()
        send_at = now_utc() + timedelta(seconds=1)
        campaign = services.create_campaign(admin, services.CampaignInput(
            name="Bench", survey_id=survey_id, audience_kind="roster", send_at=send_at,
            reminder_count=reminders, reminder_days=1,
            stop_at=now_utc() + timedelta(days=max(2, reminders + 2))))
        db.session.commit()
        campaign_id = campaign.id
        assert waves.start_wave(campaign_id, 0, now=send_at) == "started"
        db.session.commit()
        seconds = time.perf_counter() - started
        queued = db.session.scalar(sa.select(sa.func.count()).select_from(CampaignMessage)
                                   .where(CampaignMessage.campaign_id == campaign_id))
        db.session.remove()
        db.engine.dispose()
    return campaign_id, seconds, queued


@dataclass
class Delivery:
    """The sink and the workers of one run."""

    url: str
    workdir: Path
    workers: int = 2
    extra_env: dict[str, str] = field(default_factory=dict)
    port: int = field(default_factory=free_port)
    sink: subprocess.Popen | None = None
    procs: list[subprocess.Popen] = field(default_factory=list)

    @property
    def sink_file(self) -> Path:
        return self.workdir / "sink.txt"

    def env(self) -> dict[str, str]:
        return portal_env(self.url, MAIL_BACKEND="smtp", MAIL_SERVER="127.0.0.1",
                          MAIL_PORT=str(self.port), JOBS_WORKERS="1",
                          **self.extra_env)

    def start_sink(self) -> None:
        self.sink = subprocess.Popen(
            [sys.executable, "-m", "tests.smtp_sink", "--port", str(self.port),
             "--out", str(self.sink_file)], cwd=ROOT, env=self.env(),
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        assert self.sink.stdout.readline().strip() == "ready"

    def stop_sink(self) -> None:
        if self.sink is not None:
            self.sink.send_signal(signal.SIGTERM)
            self.sink.wait(15)
            self.sink.stdout.close()
            self.sink = None

    def start_worker(self) -> subprocess.Popen:
        with open(self.workdir / f"worker-{len(self.procs)}.log", "w") as log:
            proc = subprocess.Popen([sys.executable, "-m", "flask", "jobs", "worker"],
                                    cwd=ROOT, env={**self.env(), "FLASK_APP": "portal"},
                                    stdout=log, stderr=subprocess.STDOUT)
        self.procs.append(proc)
        return proc

    def start_workers(self) -> None:
        for _ in range(self.workers):
            self.start_worker()

    def kill(self, proc: subprocess.Popen) -> None:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(10)

    def live(self) -> list[subprocess.Popen]:
        return [p for p in self.procs if p.poll() is None]

    def stop(self) -> None:
        for proc in self.live():
            proc.send_signal(signal.SIGINT)
        for proc in self.procs:
            try:
                proc.wait(20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(5)
        self.stop_sink()

    def sink_lines(self) -> list[tuple[str, str]]:
        if not self.sink_file.exists():
            return []
        lines = self.sink_file.read_text("utf-8").splitlines()
        return [tuple(line.split("\t", 1)) for line in lines if line]


def final_count(engine, campaign_id: int, wave: int = 0) -> int:
    with engine.connect() as conn:
        return conn.execute(sa.text(
            "SELECT count(*) FROM campaign_messages WHERE campaign_id = :c AND wave = :w "
            "AND status IN ('sent', 'bounced', 'failed', 'opted_out')"),
            {"c": campaign_id, "w": wave}).scalar()


def wait_for(engine, campaign_id: int, total: int, timeout: float, wave: int = 0,
             poll: float = 0.5) -> float:
    """Seconds until every message of the wave is final (raises on timeout)."""
    started = time.perf_counter()
    while time.perf_counter() - started < timeout:
        if final_count(engine, campaign_id, wave) >= total:
            return time.perf_counter() - started
        time.sleep(poll)
    raise TimeoutError(f"{final_count(engine, campaign_id, wave)} of {total} messages final "
                       f"after {timeout:.0f} s")
