"""Shared fixtures: a fresh database per test, role fixtures and a real-form login.

SQLite by default; set TEST_DATABASE_URL to run the same suite on PostgreSQL.
Each pytest-xdist worker gets its own database.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
import sqlalchemy as sa
from flask import g, has_app_context
from flask.testing import FlaskClient

from portal import create_app
from portal.extensions import db
from tests import factories

CSRF_RE = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


def _worker() -> str:
    return os.environ.get("PYTEST_XDIST_WORKER", "main")


def postgres_admin_url() -> str | None:
    url = os.environ.get("TEST_DATABASE_URL")
    return url if url and url.startswith("postgresql") else None


def _pg_url(url: str) -> str:
    if url.startswith("postgresql://"):
        return "postgresql+psycopg://" + url[len("postgresql://"):]
    return url


def fresh_postgres_database(suffix: str) -> str:
    """Create (or re-create) a PostgreSQL database for this worker and return its URL."""
    base = sa.engine.make_url(_pg_url(postgres_admin_url() or ""))
    name = f"{base.database}_{suffix}"
    admin = sa.create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return base.set(database=name).render_as_string(hide_password=False)


def drop_postgres_database(url: str) -> None:
    target = sa.engine.make_url(url)
    admin = sa.create_engine(target.set(database=sa.engine.make_url(
        _pg_url(postgres_admin_url() or "")).database), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{target.database}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture(scope="session")
def database_url(tmp_path_factory) -> Iterator[str]:
    if postgres_admin_url():
        url = fresh_postgres_database(f"t_{_worker()}")
        yield url
        drop_postgres_database(url)
    else:
        path = tmp_path_factory.mktemp("db") / "portal-test.db"
        yield f"sqlite:///{path}"


@pytest.fixture(scope="session")
def _schema(database_url) -> str:
    app = create_app({"SQLALCHEMY_DATABASE_URI": database_url})
    with app.app_context():
        db.drop_all()
        db.create_all()
        db.engine.dispose()
    return database_url


def _wipe() -> None:
    from portal.disclosure import surveys

    # Survey disclosure decisions are kept across requests per survey state; a wiped
    # database starts its ids again, so forget them with it.
    surveys._ACROSS_REQUESTS.clear()
    tables = list(reversed(db.metadata.sorted_tables))
    with db.engine.begin() as conn:
        if db.engine.dialect.name == "postgresql":
            names = ", ".join(f'"{t.name}"' for t in tables)
            conn.execute(sa.text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
        else:
            for table in tables:
                conn.execute(table.delete())


@pytest.fixture
def app_config() -> dict:
    """Override in a test module to change configuration for its tests."""
    return {}


@pytest.fixture
def app(_schema, app_config):
    app = create_app({"SQLALCHEMY_DATABASE_URI": _schema, **app_config})
    app.test_client_class = PortalClient
    with app.app_context():
        yield app
        db.session.remove()
        _wipe()
        db.engine.dispose()
        if os.environ.get("TEST_GC_EACH"):
            # Hunting a leaked connection: collect now, so a ResourceWarning names the
            # test that left a connection open instead of whichever test the garbage
            # collector next runs in (TEST_GC_EACH=1; slower, so not the default).
            import gc

            gc.collect()


# Values Flask extensions cache in `g` for the length of one request.
REQUEST_GLOBALS = ("csrf_token", "_login_user", "anonymity_key_status",
                   "anonymity_key_recorded")


class PortalClient(FlaskClient):
    """A test client that can fill in the CSRF token the way a browser form would.

    The `app` fixture keeps one app context pushed for the whole test, and a request
    reuses a pushed context, so `g` would outlive each request: Flask-WTF would hand
    out a token cached before sign-in or sign-out cleared the session, and Flask-Login
    a user from the previous request. Every request therefore starts without them,
    as it does on a real server where each request has its own app context.
    """

    def open(self, *args, **kwargs):
        if has_app_context():
            for name in REQUEST_GLOBALS:
                g.pop(name, None)
        return super().open(*args, **kwargs)

    def csrf_token(self) -> str:
        for path in ("/auth/login", "/"):
            resp = self.get(path)
            match = CSRF_RE.search(resp.get_data(as_text=True))
            if match:
                return match.group(1)
        raise AssertionError("no page offered a CSRF token")

    def post_form(self, url: str, data: dict | None = None, **kwargs):
        data = dict(data or {})
        data.setdefault("csrf_token", self.csrf_token())
        return self.post(url, data=data, **kwargs)


@pytest.fixture
def client(app) -> PortalClient:
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


@pytest.fixture
def plan(app):
    """The bundled ALA plan, loaded."""
    return factories.load_plan()


@pytest.fixture
def member(app):
    return factories.make_user(role="member", email="member@example.org",
                               display_name="Mia Member")


@pytest.fixture
def leader(app):
    return factories.make_user(role="leader", email="leader@example.org",
                               display_name="Lee Leader")


@pytest.fixture
def admin(app):
    return factories.make_user(role="admin", email="admin@example.org",
                               display_name="Ada Admin")


@pytest.fixture
def login(client):
    """Sign a user in through the real sign-in form."""

    def _login(user, password: str = factories.PASSWORD, remember: bool = False):
        # Whoever was signed in signs out first, so tests can switch users freely.
        if _signed_in(client):
            resp = client.post_form("/auth/logout")
            assert resp.status_code == 302, resp.get_data(as_text=True)[:2000]
        resp = client.post_form(
            "/auth/login",
            {"email": user.email, "password": password, "remember": "y" if remember else ""},
        )
        assert resp.status_code == 302, resp.get_data(as_text=True)[:2000]
        return resp

    return _login


def _signed_in(client: PortalClient) -> bool:
    return client.get_cookie("session") is not None and b"Sign out" in client.get("/").data


@contextmanager
def count_queries() -> Iterator[list[str]]:
    """Collect the SQL statements run inside the block."""
    statements: list[str] = []

    def _before(conn, cursor, statement, parameters, context, executemany):
        statements.append(statement)

    engine = db.engine
    sa.event.listen(engine, "before_cursor_execute", _before)
    try:
        yield statements
    finally:
        sa.event.remove(engine, "before_cursor_execute", _before)


@pytest.fixture
def query_counter():
    return count_queries
