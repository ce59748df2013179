"""(e) on SQLite: a full database (PRAGMA max_page_count) answers 503, writes nothing,
and the same form goes through once there is room again.

`max_page_count` is a setting of each connection, so this runs in-process: every
connection the app opens gets the limit through a connect listener.
"""

from __future__ import annotations

import random
import string

import pytest
import sqlalchemy as sa

from portal.extensions import db
from tests import factories


@pytest.fixture
def sqlite_app(app):
    if db.engine.dialect.name != "sqlite":
        pytest.skip("the full-disk case is SQLite's; PostgreSQL's read-only case is in "
                    "test_load_faults")
    return app


def _snapshot() -> dict[str, list]:
    return {t.name: sorted(map(repr, db.session.execute(sa.select(t)).all()))
            for t in db.metadata.sorted_tables}


def _fill_to_the_brim() -> int:
    """Cap the file at its current size on every connection, then use up the free pages."""
    with db.engine.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE IF NOT EXISTS filler (x BLOB)")
    pages = db.session.execute(sa.text("PRAGMA page_count")).scalar()
    limit = {"pages": pages}

    def _cap(dbapi_connection, _record):
        dbapi_connection.execute(f"PRAGMA max_page_count = {int(limit['pages'])}")

    db.session.remove()
    db.engine.dispose()
    sa.event.listen(db.engine, "connect", _cap)
    with db.engine.connect() as conn:
        for _ in range(10_000):
            try:
                conn.exec_driver_sql("INSERT INTO filler VALUES (zeroblob(1000))")
                conn.commit()
            except sa.exc.OperationalError as exc:
                assert "full" in str(exc)
                conn.rollback()
                break
        else:
            raise AssertionError("the database never filled up")
    return limit, _cap


def test_a_full_sqlite_database_gives_the_503_page_and_no_partial_write(
        sqlite_app, client, login, member, plan):
    factories.make_round()
    login(member)
    token = client.csrf_token()
    words = "".join(random.Random(3).choices(string.ascii_letters + " ", k=4900))
    form = {"body": words, "csrf_token": token}

    limit, cap = _fill_to_the_brim()
    try:
        db.session.expire_all()
        before = _snapshot()
        resp = client.post("/feedback/objectives/A1/comments", data=form)
        assert resp.status_code == 503
        assert "Temporarily unavailable" in resp.get_data(as_text=True)
        assert resp.headers["Retry-After"]
        db.session.remove()
        assert _snapshot() == before  # nothing half-written, not even a version row

        # Room again (an operator freed disk space): the same form goes through, once.
        limit["pages"] = 1_000_000
        db.session.remove()
        db.engine.dispose()
        resp = client.post("/feedback/objectives/A1/comments", data=form)
        assert resp.status_code == 302, resp.get_data(as_text=True)[:500]
        resp = client.post("/feedback/objectives/A1/comments", data=form)  # pressed again
        assert resp.status_code == 302
        db.session.remove()
        bodies = db.session.scalars(sa.text("SELECT body FROM comments")).all()
        assert bodies == [words]
    finally:
        sa.event.remove(db.engine, "connect", cap)
        db.session.remove()
        db.engine.dispose()
        with db.engine.begin() as conn:
            conn.exec_driver_sql("DROP TABLE IF EXISTS filler")
