"""Fast bulk inserts for demo data and benchmarks: executemany on SQLite, COPY on
PostgreSQL. Never used by the web pages."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import sqlalchemy as sa

from portal.extensions import db


def insert_rows(table: sa.Table, columns: Sequence[str], rows: Iterable[Sequence],
                chunk: int = 50_000, progress=None) -> int:
    """Insert tuples (in `columns` order) into `table`; returns the number of rows."""
    conn = db.session.connection()
    raw = conn.connection.dbapi_connection
    cols = ", ".join(f'"{c}"' for c in columns)
    count = 0
    if conn.dialect.name == "postgresql":
        with raw.cursor() as cur, cur.copy(f'COPY "{table.name}" ({cols}) FROM STDIN') as copy:
            for row in rows:
                copy.write_row(row)
                count += 1
                if progress is not None and count % chunk == 0:
                    progress.update(chunk)
        if progress is not None:
            progress.update(count % chunk)
        return count
    # SQLAlchemy writes the statement (SQLite's qmark style: one "?" per column, in
    # `columns` order), so no SQL is put together from strings here.
    stmt = sa.insert(table).values({c: sa.bindparam(c) for c in columns})
    compiled = stmt.compile(dialect=conn.dialect)
    sql = str(compiled)
    order = [list(columns).index(name) for name in compiled.positiontup]
    if order != list(range(len(columns))):  # the statement lists the table's order
        rows = (tuple(row[i] for i in order) for row in rows)
    cur = raw.cursor()
    batch: list[Sequence] = []
    for row in rows:
        batch.append(row)
        if len(batch) >= chunk:
            cur.executemany(sql, batch)
            count += len(batch)
            if progress is not None:
                progress.update(len(batch))
            batch = []
    if batch:
        cur.executemany(sql, batch)
        count += len(batch)
        if progress is not None:
            progress.update(len(batch))
    cur.close()
    return count
