"""Load and faults against the portal under gunicorn, with an exact count afterwards.

(a) steady load on PostgreSQL, (b) the same on SQLite, (c) PostgreSQL restarted
mid-load, (d) a gunicorn worker killed with SIGKILL mid-load, (e) the database made
read-only mid-load; plus simultaneous identical submissions from one member.
Each scenario prints requests sent, accepted, stored, duplicates, 5xx and recovery.
"""

from __future__ import annotations

import os
import random
import signal
import threading
import time

import pytest

from tests.reliability import env
from tests.reliability.load import Member, drive, first_accepted_after, reconcile

SECONDS = float(os.environ.get("RELIABILITY_SECONDS", "25"))
PG_WORKERS = 4
SQLITE_WORKERS = 2
MAX_ACTIONS = 12


class Fault(threading.Thread):
    """Runs the injected fault next to the load; keeps the outage windows."""

    def __init__(self, action, delay: float) -> None:
        super().__init__(daemon=True)
        self.action, self.delay = action, delay
        self.windows: list[tuple[float, float]] = []
        self.info: dict = {}
        self.error: BaseException | None = None

    def run(self) -> None:
        time.sleep(self.delay)
        try:
            self.action(self)
        except BaseException as exc:  # reported by the test
            self.error = exc


def _scenario(record, tmp_path, url, seed, name, workers, members, fault=None,
              recovery=None, seconds=SECONDS):
    server = env.start_server(url, workers, tmp_path / "gunicorn.log")
    started = time.monotonic()
    try:
        if fault is not None:
            fault.server = server
            fault.start()
        ledger = drive(server.url, seed.members[:members], env.PASSWORD, seed.objectives,
                       seconds, MAX_ACTIONS, tag=name.split()[0],
                       survey_id=seed.extra["survey_id"])
        if fault is not None:
            fault.join(120)
            assert not fault.is_alive(), "the fault injection did not finish"
            if fault.error:
                raise fault.error
            # Recovery without restarting anything: someone who was not part of the
            # load signs in and rates an objective through the same server.
            late = Member(server.url, seed.leader, env.PASSWORD, ledger, "late",
                          random.Random(5), time.monotonic() + 60)
            late.run(seed.objectives, 1)
            assert any(email == seed.leader for email, _ in ledger.ratings), \
                "no write was accepted after the fault was cleared"
            fault.info["late_write"] = time.monotonic() - fault.windows[-1][1] \
                if fault.windows else None
    finally:
        load_seconds = time.monotonic() - started
        server.stop()
    windows = fault.windows if fault else []
    # What an operator runs after an outage: release the anonymous answers whose batch
    # is complete (survey pages do the same by themselves).
    finished = env.flask(url, "surveys", "release").stdout.strip()
    figures = reconcile(url, ledger, seed.round_id, name.split()[0], name, windows,
                        recovery(ledger, fault) if recovery else "n/a")
    figures.notes += f"; release: {finished}; load ran {load_seconds:.0f} s"
    verify = env.flask(url, "reports", "verify", check=False)
    if verify.returncode != 0:
        figures.problems.append("flask reports verify: " + (verify.stderr or verify.stdout)[-800:])
    log = (tmp_path / "gunicorn.log").read_text()
    # Unhandled errors (the portal's 500 handler, or an error escaping to gunicorn).
    # Tracebacks logged on purpose for a handled, recoverable step are not counted.
    for marker in ("unhandled error on", "Error handling request"):
        if marker in log:
            figures.problems.append("unhandled error in the server log: "
                                    + log[log.index(marker):][:1500])
    record(figures)
    assert figures.accepted > 0
    assert not figures.problems, "\n".join(figures.problems[:30])
    return figures, ledger


def _after_clear(ledger, fault) -> str:
    end = fault.windows[-1][1]
    delay = first_accepted_after(ledger, end)
    return f"{delay:.1f} s to first accepted write"


def test_a_steady_load_on_postgresql(record, tmp_path, pg_database):
    url, seed = pg_database
    _scenario(record, tmp_path, url, seed, "(a) steady, PostgreSQL, 4 workers", PG_WORKERS,
              len(seed.members))


def test_b_steady_load_on_sqlite(record, tmp_path, sqlite_template):
    template, seed = sqlite_template
    url = env.sqlite_copy(template, "steady")
    _scenario(record, tmp_path, url, seed, "(b) steady, SQLite, 2 workers", SQLITE_WORKERS,
              len(seed.members) // 2)


def test_c_postgresql_restarted_mid_load(record, tmp_path, pg_database):
    """The cluster is stopped for a few seconds and started again (a restart with a
    downtime long enough to be seen whatever the machine's load). A probe opens the
    home page, which reads the plan from the database, while it is down."""
    from bench.harness import Client

    url, seed = pg_database

    def restart(fault):
        probe = Client(fault.server.url, timeout=10)
        start = time.monotonic()
        env.postgres("stop")
        down = time.monotonic()
        answers = []
        while time.monotonic() - down < 3:
            status, headers, text = probe.get("/")
            answers.append((status, "Temporarily unavailable" in text,
                            headers.get("retry-after")))
            time.sleep(0.2)
        env.postgres("start")
        end = time.monotonic()
        fault.windows.append((start, end))
        fault.info.update(outage=end - start, probe=answers)

    fault = Fault(restart, delay=6)
    figures, _ = _scenario(
        record, tmp_path, url, seed, "(c) PostgreSQL stopped and started mid-load", PG_WORKERS,
        len(seed.members), fault,
        lambda led, f: f"down {f.info['outage']:.1f} s; " + _after_clear(led, f))
    probe = fault.info["probe"]
    assert probe and all(a == (503, True, "30") for a in probe), probe


def test_d_worker_killed_mid_load(record, tmp_path, pg_database):
    url, seed = pg_database

    def kill(fault):
        for _ in range(2):
            pids = env.worker_pids(fault.server)
            assert len(pids) == PG_WORKERS, pids
            victim = pids[0]
            os.kill(victim, signal.SIGKILL)
            fault.info.setdefault("replaced", []).append(
                env.wait_for_workers(fault.server, PG_WORKERS, {victim}))
            time.sleep(5)

    fault = Fault(kill, delay=6)
    figures, _ = _scenario(
        record, tmp_path, url, seed, "(d) worker SIGKILLed twice mid-load", PG_WORKERS,
        len(seed.members), fault,
        lambda led, f: "worker replaced in " + ", ".join(f"{s:.1f} s" for s in f.info["replaced"]))
    assert figures.five_xx == 0


def _terminate_app_backends(name: str) -> None:
    env.pg_exec("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = :name AND pid <> pg_backend_pid()", name=name)


def test_e_postgresql_read_only_mid_load(record, tmp_path, pg_database):
    url, seed = pg_database
    name = url.rsplit("/", 1)[1]

    def read_only(fault):
        start = time.monotonic()
        env.pg_exec(f'ALTER DATABASE "{name}" SET default_transaction_read_only = on')
        _terminate_app_backends(name)  # the pool reconnects and gets the new default
        time.sleep(6)
        env.pg_exec(f'ALTER DATABASE "{name}" RESET default_transaction_read_only')
        _terminate_app_backends(name)
        fault.windows.append((start, time.monotonic()))

    fault = Fault(read_only, delay=6)
    figures, _ = _scenario(
        record, tmp_path, url, seed, "(e) PostgreSQL read-only for 6 s mid-load", PG_WORKERS,
        len(seed.members), fault, lambda led, f: "6 s read-only; " + _after_clear(led, f))
    assert figures.five_xx_503 > 0, "writes during the read-only spell must get the 503 page"


@pytest.fixture
def signed_in(pg_database, tmp_path):
    """A running server and a factory of signed-in clients for the race test."""
    from bench.harness import Client

    url, seed = pg_database
    server = env.start_server(url, PG_WORKERS, tmp_path / "gunicorn.log")

    def client(email: str) -> Client:
        c = Client(server.url)
        c.login(email, env.PASSWORD)
        return c

    yield url, seed, server, client
    server.stop()


def test_simultaneous_identical_submissions_store_one_row(signed_in, record):
    """Threads of one member send the same rating, comment, endorsement and flag at the
    same instant through different gunicorn workers: one row each, no 5xx."""
    import re

    import sqlalchemy as sa

    from bench.harness import CSRF_RE, Client

    url, seed, server, client = signed_in
    author = client(seed.members[0])
    status, headers, _ = author.post("/feedback/objectives/A1/comments",
                                     {"body": "Race target comment."}, "/plan/objectives/A1")
    assert status == 302
    comment_id = int(re.search(r"comment-(\d+)", headers["location"]).group(1))
    statuses: list[int] = []
    lock = threading.Lock()

    def burst(email: str, path: str, form: dict, copies: int = 6) -> None:
        base = client(email)
        _, _, html = base.get("/plan/objectives/A1")
        form = {**form, "csrf_token": CSRF_RE.search(html).group(1)}
        clones = []
        for _ in range(copies):
            c = Client(server.url)
            c.cookies = dict(base.cookies)
            clones.append(c)
        barrier = threading.Barrier(copies)

        def one(c):
            barrier.wait(10)
            s, _, _ = c.request("POST", path, form)
            with lock:
                statuses.append(s)

        threads = [threading.Thread(target=one, args=(c,)) for c in clones]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)

    racers = seed.members[1:4]
    survey_id = seed.extra["survey_id"]
    for email in racers:
        taker = client(email)
        page = f"/surveys/{survey_id}"
        assert taker.post(f"{page}/start", {}, page)[0] == 302
        assert taker.post(f"{page}/sections/1", {"q-q1": "web", "q-q2": f"Race {email}",
                                                 "action": "next"}, page)[0] == 302
        burst(email, f"{page}/submit", {})
        burst(email, "/feedback/objectives/A2/rating", {"importance": 4, "performance": 2})
        burst(email, "/feedback/objectives/A2/comments", {"body": f"Same words from {email}."})
        burst(email, f"/feedback/comments/{comment_id}/endorse", {})
        burst(email, f"/feedback/comments/{comment_id}/flag", {"reason": "off_topic"})

    engine = sa.create_engine(url, poolclass=sa.NullPool)
    with engine.connect() as conn:
        def one_each(sql: str) -> list:
            return conn.execute(sa.text(sql)).all()

        ratings = one_each("SELECT user_id, count(*) FROM ratings GROUP BY user_id")
        comments = one_each("SELECT body, count(*) FROM comments WHERE body LIKE 'Same words%' "
                            "GROUP BY body")
        endorsements = one_each(f"SELECT user_id, count(*) FROM endorsements "  # noqa: S608
                                f"WHERE comment_id = {comment_id} GROUP BY user_id")
        flags = one_each(f"SELECT user_id, count(*) FROM comment_flags "  # noqa: S608
                         f"WHERE comment_id = {comment_id} GROUP BY user_id")
        counts = conn.execute(sa.text("SELECT endorsement_count, flag_count FROM comments "
                                      "WHERE id = :id"), {"id": comment_id}).one()
        participations = one_each("SELECT user_id, count(*) FROM survey_participations "
                                  "GROUP BY user_id")
        # Released responses, and answers still sealed in the pool for their batch.
        responses = conn.execute(sa.text("SELECT count(*) FROM survey_responses")).scalar()
        waiting = conn.execute(sa.text("SELECT count(*) FROM survey_pool")).scalar()
    engine.dispose()
    assert [n for _, n in ratings] == [1] * len(racers)
    assert [n for _, n in comments] == [1] * len(racers)
    assert [n for _, n in endorsements] == [1] * len(racers)
    assert [n for _, n in flags] == [1] * len(racers)
    assert tuple(counts) == (len(racers), len(racers))
    assert [n for _, n in participations] == [1] * len(racers)
    assert responses + waiting == len(racers)
    assert all(s < 500 for s in statuses), statuses
    assert statuses.count(302) >= 4 * len(racers)  # ratings, comments, endorsement, flag
    # Every copy of a survey submission gets the thank-you page (a second submission
    # is told it was already received; the rows above prove only one was stored).
    assert statuses.count(200) == 6 * len(racers)
    print(f"\nraces: {len(statuses)} simultaneous requests, answers {sorted(set(statuses))}, "
          "one row each for ratings, comments, endorsements, flags and survey responses")
