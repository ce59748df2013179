"""Fixtures of the reliability suite: template databases, servers, and the table of
figures printed at the end of the run. Run it with `make reliability`."""

from __future__ import annotations

import os
import shutil
import subprocess

import pytest

from tests.reliability import env
from tests.reliability.load import Figures

MEMBERS = int(os.environ.get("RELIABILITY_MEMBERS", "40"))
RESULTS: list[Figures] = []


def _postgres_up() -> bool:
    return subprocess.run(["pg_isready", "-h", "127.0.0.1", "-p", "5432", "-q"],
                          check=False).returncode == 0


def _redis_up() -> bool:
    exe = shutil.which("redis-cli")
    return bool(exe) and subprocess.run([exe, "-h", "127.0.0.1", "ping"], capture_output=True,
                                        check=False).returncode == 0


@pytest.fixture(scope="session", autouse=True)
def _services():
    if not _postgres_up() or not _redis_up():
        pytest.fail("the reliability suite needs PostgreSQL and Redis on 127.0.0.1 "
                    "(.ci/run starts them)")
    try:
        yield
    finally:
        env.drop_all()


@pytest.fixture(scope="session")
def pg_template():
    """A migrated PostgreSQL database with the plan, members and an open round; each
    scenario clones it (CREATE DATABASE ... TEMPLATE) so its counts start from zero."""
    name = env.create_pg_database("template")
    seed = env.build(env.pg_url(name), MEMBERS)
    yield name, seed
    env.drop_pg_database(name)


@pytest.fixture
def pg_database(pg_template, request):
    template, seed = pg_template
    name = env.create_pg_database(request.node.name.replace("test_", "")[:30], template)
    yield env.pg_url(name), seed
    env.drop_pg_database(name)


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory):
    path = tmp_path_factory.mktemp("sqlite") / "template.db"
    seed = env.build(f"sqlite:///{path}", MEMBERS)
    return path, seed


@pytest.fixture
def record():
    def _record(figures: Figures) -> Figures:
        RESULTS.append(figures)
        print("\n" + figures.row() + "\n  " + figures.notes)
        for p in figures.problems[:20]:
            print("  PROBLEM:", p)
        return figures

    return _record


def pytest_terminal_summary(terminalreporter):
    if not RESULTS:
        return
    tr = terminalreporter
    tr.section("reliability figures")
    tr.write_line("| scenario | requests sent | accepted | stored | duplicates | 5xx | "
                  "recovery |")
    tr.write_line("| --- | ---: | ---: | ---: | ---: | ---: | --- |")
    for figures in RESULTS:
        tr.write_line(figures.row())
    for figures in RESULTS:
        tr.write_line(f"{figures.scenario}: {figures.notes}")
