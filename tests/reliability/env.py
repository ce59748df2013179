"""Databases, seed data and gunicorn servers for the load-and-fault runs.

Everything runs on 127.0.0.1: PostgreSQL 15 (trust auth, user postgres), Redis
and gunicorn. Databases made here are named `portal_rel_<pid>_...`; `drop_all()`
removes them, and `make reliability` drops any left behind by a killed run.
"""

from __future__ import annotations

import os
import random
import shutil
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import sqlalchemy as sa

from bench.harness import Server, free_port, portal_env

ROOT = Path(__file__).resolve().parents[2]
PG_ADMIN_URL = os.environ.get("RELIABILITY_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
PG_VERSION = os.environ.get("RELIABILITY_PG_VERSION", "15")
REDIS_URI = os.environ.get("RELIABILITY_REDIS_URI", "redis://127.0.0.1:6379/13")
PREFIX = f"portal_rel_{os.getpid()}"
PASSWORD = "load-test password 42"  # noqa: S105 (a throwaway database's seed accounts)
# Cheap hashes so sign-in does not dominate a 2-core machine; the server uses the
# same parameters, so no sign-in rehashes.
ARGON2 = {"ARGON2_TIME_COST": "1", "ARGON2_MEMORY_COST": "1024", "ARGON2_PARALLELISM": "1"}
# Every simulated member signs in from 127.0.0.1: the per-address limit is for the
# Internet, not for one load generator. The limits still run in Redis.
LIMITS = {"RATELIMIT_AUTH_PER_IP": "100000 per minute",
          "RATELIMIT_AUTH_PER_ACCOUNT": "1000 per minute",
          # The same for the sign-in throttle: sqlmap sends hundreds of wrong passwords
          # from one client, and the throttle has tests of its own.
          "SIGNIN_FREE_FAILURES": "100000"}

_created: list[str] = []


def bin_path(name: str) -> str:
    return str(Path(sys.executable).parent / name)


def pg_url(name: str) -> str:
    return sa.engine.make_url(PG_ADMIN_URL).set(database=name).render_as_string(
        hide_password=False)


def _admin_engine() -> sa.Engine:
    return sa.create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT", poolclass=sa.NullPool)


def pg_exec(sql: str, **params) -> list:
    """Run one statement as the PostgreSQL superuser (retries while the server starts)."""
    deadline = time.monotonic() + 60
    while True:
        engine = _admin_engine()
        try:
            with engine.connect() as conn:
                result = conn.execute(sa.text(sql), params)
                return list(result) if result.returns_rows else []
        except sa.exc.OperationalError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.5)
        finally:
            engine.dispose()


def create_pg_database(suffix: str, template: str | None = None) -> str:
    name = f"{PREFIX}_{suffix}"
    pg_exec(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    pg_exec(f'CREATE DATABASE "{name}"' + (f' TEMPLATE "{template}"' if template else ""))
    _created.append(name)
    return name


def drop_pg_database(name: str) -> None:
    pg_exec(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    if name in _created:
        _created.remove(name)


def drop_all() -> None:
    for name in list(_created):
        try:
            drop_pg_database(name)
        except Exception as exc:  # keep cleaning up the others
            print(f"could not drop {name}: {exc}", file=sys.stderr)


def postgres(action: str) -> None:
    """pg_ctlcluster stop|start|restart on the local cluster (fast shutdown)."""
    extra = ["-m", "fast"] if action in ("stop", "restart") else []
    subprocess.run(["pg_ctlcluster", "--skip-systemctl-redirect", PG_VERSION, "main",
                    action, *extra], check=True, capture_output=True, timeout=120)


def server_env(database_url: str, **extra: str) -> dict[str, str]:
    # Batches of PRIVACY_MIN_N, so that releases of anonymous answers run under the load
    # and the faults too.
    return portal_env(database_url, RATELIMIT_STORAGE_URI=REDIS_URI, LOG_LEVEL="WARNING",
                      ANONYMOUS_BATCH_SIZE="10", **ARGON2, **LIMITS, **extra)


def flask(database_url: str, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    return subprocess.run([bin_path("flask"), "--app", "portal", *args], cwd=ROOT,
                          env=server_env(database_url), capture_output=True, text=True,
                          timeout=300, check=check)


@dataclass
class Seed:
    members: list[str]
    objectives: list[str]
    round_id: int
    leader: str
    extra: dict = field(default_factory=dict)


def build(database_url: str, members: int, seed: int = 7) -> Seed:
    """Migrate, load the plan, add verified members, a leader and an open round."""
    flask(database_url, "db", "upgrade")
    flask(database_url, "plan", "import", "--if-empty")
    from portal import create_app
    from portal.extensions import db
    from portal.models import Objective, User
    from portal.segments import DIMENSIONS
    from tests.factories import make_round

    app = create_app({"CONFIG": "development", "SQLALCHEMY_DATABASE_URI": database_url,
                      **{k: int(v) for k, v in ARGON2.items()}})
    rng = random.Random(seed)
    with app.app_context():
        from portal.auth.passwords import hash_password
        from portal.timeutil import now_utc

        hashed = hash_password(PASSWORD)
        emails = [f"load{n:04d}@example.org" for n in range(members)]
        for email in emails:
            db.session.add(User(email=email, display_name=email.split("@")[0].title(),
                                password_hash=hashed, role="member", active=True,
                                email_verified_at=now_utc(),
                                **{d.key: rng.choice(d.codes) for d in DIMENSIONS}))
        db.session.add(User(email="load-leader@example.org", display_name="Load Leader",
                            password_hash=hashed, role="leader", active=True,
                            email_verified_at=now_utc()))
        db.session.commit()
        rnd = make_round(name="Load round")
        codes = list(db.session.scalars(sa.select(Objective.code).where(
            Objective.retired_at.is_(None)).order_by(Objective.code)))
        survey_id = _open_survey()
        result = Seed(emails, codes, rnd.id, "load-leader@example.org",
                      {"survey_id": survey_id})
        db.session.remove()
        db.engine.dispose()
    return result


SURVEY = {
    "format": "portal-survey/1", "title": "Load survey", "introduction": "Two questions.",
    "anonymous": True, "objective": None, "audience": {},
    "sections": [{"title": "Quick", "description": "", "show_if": None, "questions": [
        {"code": "q1", "type": "single_choice", "prompt": "Which format suits you best?",
         "help": "", "required": True, "settings": {}, "show_if": None,
         "options": [{"code": "web", "label": "Webinar", "other": False},
                     {"code": "course", "label": "Course", "other": False},
                     {"code": "mentor", "label": "Mentoring", "other": False}]},
        {"code": "q2", "type": "short_text", "prompt": "One wish?", "help": "",
         "required": True, "settings": {}, "show_if": None, "options": []},
    ]}],
}


def _open_survey() -> int:
    """An open anonymous survey for every member (inside an app context)."""
    from portal.extensions import db
    from portal.survey_admin.services import create_from_definition
    from portal.surveys import definition

    survey = create_from_definition(definition.validate(SURVEY), None)
    survey.open()
    db.session.commit()
    return survey.id


def sqlite_copy(template: Path, name: str) -> str:
    target = template.with_name(f"{name}.db")
    for suffix in ("", "-wal", "-shm"):
        Path(f"{target}{suffix}").unlink(missing_ok=True)
    shutil.copyfile(template, target)
    return f"sqlite:///{target}"


def _die_with_parent() -> None:
    """In the child: get SIGTERM when the test run dies, so no server outlives it."""
    import ctypes
    import signal

    ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


def start_server(database_url: str, workers: int, log: Path, **extra: str) -> Server:
    """gunicorn with `workers` sync workers on a free port of 127.0.0.1."""
    port = free_port()
    cmd = [bin_path("gunicorn"), "-w", str(workers), "-b", f"127.0.0.1:{port}",
           "--graceful-timeout", "5", "--timeout", "30", "--backlog", "512",
           "portal:create_app()"]
    with log.open("w") as out:
        proc = subprocess.Popen(cmd, env=server_env(database_url, **extra), cwd=ROOT,  # noqa: S603
                                stdout=out, stderr=subprocess.STDOUT,
                                preexec_fn=_die_with_parent)
    server = Server(proc, f"http://127.0.0.1:{port}", log)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"gunicorn exited: {log.read_text()[-2000:]}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                pass
        except OSError:
            time.sleep(0.2)
            continue
        if len(worker_pids(server)) >= workers:
            return server
        time.sleep(0.2)
    server.stop()
    raise RuntimeError("gunicorn did not start in 30 s")


def worker_pids(server: Server) -> list[int]:
    path = Path(f"/proc/{server.proc.pid}/task/{server.proc.pid}/children")
    try:
        return [int(p) for p in path.read_text().split()]
    except OSError:
        return []


def wait_for_workers(server: Server, count: int, exclude: set[int], timeout: float = 30
                     ) -> float:
    """Seconds until the master again runs `count` workers none of which is in `exclude`."""
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        pids = worker_pids(server)
        if len(pids) >= count and not exclude & set(pids):
            return time.monotonic() - started
        time.sleep(0.05)
    raise AssertionError(f"gunicorn did not replace its workers within {timeout} s")
