"""Race-safe inserts: INSERT ... ON CONFLICT on SQLite and PostgreSQL alike.

Two simultaneous requests from one member (a double click, two tabs) must store
one row and neither may fail; ON CONFLICT settles that inside the database.
"""

from __future__ import annotations

import functools

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from portal.extensions import db


def _insert(table: sa.Table):
    if db.session.get_bind().dialect.name == "postgresql":
        return postgresql.insert(table)
    return sqlite.insert(table)


def insert_ignore(table: sa.Table, values: dict, conflict: list[str]) -> bool:
    """Insert a row unless one with the same `conflict` columns exists. True if inserted."""
    # RETURNING rather than rowcount: psycopg reports -1 for INSERT ... ON CONFLICT here.
    stmt = (_insert(table).values(**values).on_conflict_do_nothing(index_elements=conflict)
            .returning(*[table.c[name] for name in conflict]))
    return db.session.execute(stmt).first() is not None


@functools.cache
def _upsert_statement(dialect: str, table: sa.Table, conflict: tuple[str, ...],
                      update: tuple[str, ...]):
    # Built once per table: the rows go in as parameters, so the compiled SQL is reused.
    stmt = (postgresql.insert(table) if dialect == "postgresql" else sqlite.insert(table))
    return stmt.on_conflict_do_update(
        index_elements=list(conflict), set_={col: stmt.excluded[col] for col in update})


def upsert(table: sa.Table, rows: list[dict], conflict: list[str], update: list[str]) -> None:
    """Insert rows, or update the `update` columns of rows that already exist."""
    if not rows:
        return
    stmt = _upsert_statement(db.session.get_bind().dialect.name, table, tuple(conflict),
                             tuple(update))
    db.session.execute(stmt, rows if len(rows) > 1 else rows[0])
