"""Binds SQLAlchemy and Alembic, and tunes SQLite for a web server."""

from __future__ import annotations

import logging
import select
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import sqlalchemy as sa
from flask import Flask

from portal.extensions import db, migrate

log = logging.getLogger("portal.database")
T = TypeVar("T")

MIGRATIONS_DIR = Path(__file__).resolve().parent.parent / "migrations"


def _migrations_dir() -> str:
    packaged = Path(__file__).resolve().parent / "migrations"
    return str(packaged if packaged.is_dir() else MIGRATIONS_DIR)


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    cur = dbapi_connection.cursor()
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA busy_timeout=15000")
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=NORMAL")
    # Freed pages and cells are zeroed, so a deleted draft or pool entry leaves no
    # bytes behind in the database file (portal/surveys/pool.py).
    cur.execute("PRAGMA secure_delete=ON")
    cur.close()


def init_app(app: Flask) -> None:
    db.init_app(app)
    migrate.init_app(app, db, directory=_migrations_dir(), render_as_batch=True)
    with app.app_context():
        engine = db.engine
        if engine.dialect.name == "sqlite":
            sa.event.listen(engine, "connect", _sqlite_pragmas)
            url = engine.url
            if url.database and url.database != ":memory:":
                Path(url.database).parent.mkdir(parents=True, exist_ok=True)
        elif engine.dialect.name == "postgresql":
            sa.event.listen(engine, "checkout", _refuse_connection_closed_by_server)


# A dead pooled connection, without a round trip per request ------------------------
# pool_pre_ping would send a query to the server on every checkout, i.e. on every
# request: a round trip that buys nothing while the server is up. Instead:
# - a connection whose server end has spoken while it sat idle in the pool (a
#   restarting or terminating server sends its notice and closes the socket) is
#   refused at checkout, so the pool opens a new one in its place (one poll() call);
# - connections older than pool_recycle are replaced (idle drops on the way);
# - the first query of a signed-in request (the user load) is retried once when its
#   connection turns out to be dead all the same (the server went away between the
#   checkout and the query); SQLAlchemy then also drops every older pooled connection.
# Any other query on a dead connection answers 503, as a database outage does.

def _closed_by_server(dbapi_connection) -> bool:
    if getattr(dbapi_connection, "closed", False) or getattr(dbapi_connection, "broken", False):
        return True
    try:
        fd = dbapi_connection.fileno()
    except Exception:  # noqa: BLE001 - a connection without a socket is no good either
        return True
    poller = select.poll()
    poller.register(fd, select.POLLIN | select.POLLPRI)
    # An idle connection has nothing to read: anything there is the server's goodbye
    # (a termination notice, or the end of the stream).
    return bool(poller.poll(0))


def _refuse_connection_closed_by_server(dbapi_connection, _record, _proxy) -> None:
    if _closed_by_server(dbapi_connection):
        log.warning("pooled database connection was closed by the server; reconnecting")
        raise sa.exc.DisconnectionError("connection closed by the server")


def retry_once_on_disconnect(work: Callable[[], T]) -> T:
    """Run `work()`, the first database work of a transaction; if it failed because
    its connection was dead (the server restarted since the connection was checked
    out), roll back and run it once more on a new connection. There is nothing to
    lose: the failed statement was the transaction's first."""
    try:
        return work()
    except sa.exc.DBAPIError as err:
        if not err.connection_invalidated:
            raise
        log.warning("database connection lost; retrying on a new one")
        db.session.rollback()
        return work()


def lock_for_write(conn: sa.Connection, table: sa.Table, row_id: int, *columns: sa.Column,
                   touch: str) -> sa.Row | None:
    """Take the write lock of one row as a transaction's first step; return `columns`
    read under the lock (None if the row does not exist).

    Read-modify-write code (report summaries computed from a rating's old value, a
    member's segments read while their profile changes) is only exact if no other
    transaction can change what it read before it commits. Call this BEFORE reading
    the values a write depends on:

    - PostgreSQL: `SELECT ... FOR NO KEY UPDATE` locks the row until commit; a second
      caller waits, then reads the committed new version. (NO KEY: inserts of rows
      that merely reference this one, e.g. ratings by the same member, do not wait.)
    - SQLite: pysqlite opens its transaction only at the first INSERT/UPDATE/DELETE,
      so a plain SELECT runs outside any transaction and locks nothing. A no-op
      `UPDATE table SET touch = touch WHERE id = :id RETURNING ...` takes the
      database write lock (waiting up to busy_timeout) and starts the transaction's
      snapshot at that moment, so every read after it sees the latest commit and no
      other writer runs until we commit. `touch` must not be a key column: updating
      a referenced primary key, even to itself, makes SQLite scan every child table
      for foreign keys.
    """
    pk = table.primary_key.columns.values()[0]
    wanted = columns or (pk,)
    if conn.dialect.name == "postgresql":
        stmt = sa.select(*wanted).where(pk == row_id).with_for_update(key_share=True)
    else:
        # Columns with an onupdate default (updated_at) keep their value too: the
        # statement must change nothing.
        same = {c.name: c for c in table.columns if c.onupdate is not None or c.name == touch}
        stmt = sa.update(table).where(pk == row_id).values(same).returning(*wanted)
    return conn.execute(stmt).first()
