"""Binds SQLAlchemy and Alembic, and tunes SQLite for a web server."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa
from flask import Flask

from portal.extensions import db, migrate

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
