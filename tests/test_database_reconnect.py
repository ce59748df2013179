"""A PostgreSQL connection the server dropped costs no request, without pre-ping.

The pool sends no query on checkout (a round trip on every request). A connection the
server closed while it sat in the pool is refused at checkout and replaced; one found
dead at the first query of a signed-in request (the user load) is retried once on a
new connection. tests/reliability restarts the whole cluster under load.
"""

from __future__ import annotations

import time

import pytest
import sqlalchemy as sa

from portal import database
from portal.extensions import db

pytestmark = pytest.mark.usefixtures("app")


@pytest.fixture(autouse=True)
def _postgres_only(app):
    if db.engine.dialect.name != "postgresql":
        pytest.skip("PostgreSQL only: SQLite has no server to drop a connection "
                    "(run with TEST_DATABASE_URL=postgresql://...)")


def _terminate_pooled_connections() -> None:
    """What a server restart does to the pool: every backend of the app ends."""
    db.session.remove()  # the test's own session gives its connection back first
    name = db.engine.url.database
    admin = sa.create_engine(db.engine.url, poolclass=sa.pool.NullPool)
    with admin.connect() as conn:
        conn.execute(sa.text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                             "WHERE datname = :name AND pid <> pg_backend_pid()"),
                     {"name": name})
        deadline = time.monotonic() + 10
        while conn.execute(sa.text(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = :name "
                "AND pid <> pg_backend_pid()"), {"name": name}).scalar() and \
                time.monotonic() < deadline:
            time.sleep(0.05)
    admin.dispose()


def test_postgresql_pool_sends_no_pre_ping(app):
    assert not app.config["SQLALCHEMY_ENGINE_OPTIONS"].get("pool_pre_ping")
    assert app.config["SQLALCHEMY_ENGINE_OPTIONS"]["pool_recycle"] > 0


def test_pages_answer_after_the_server_dropped_every_pooled_connection(app, client, member,
                                                                         login, plan,
                                                                         monkeypatch):
    login(member)
    assert client.get("/account").status_code == 200
    _terminate_pooled_connections()
    assert client.get("/account").status_code == 200  # signed in: the user load
    # Anonymous: no user load to retry, so the checkout must refuse the dead one.
    monkeypatch.setattr(database, "retry_once_on_disconnect", lambda work: work())
    _terminate_pooled_connections()
    assert app.test_client().get("/").status_code == 200  # reads the plan


def test_a_connection_found_dead_at_the_user_load_is_retried(client, member, login,
                                                             monkeypatch):
    login(member)
    # The server goes away between the checkout and the first query: the checkout
    # sees a healthy socket, the query fails, the user load runs again.
    monkeypatch.setattr(database, "_closed_by_server", lambda _conn: False)
    _terminate_pooled_connections()
    resp = client.get("/account")
    assert resp.status_code == 200
    assert "/auth/logout" in resp.get_data(as_text=True)  # still signed in
