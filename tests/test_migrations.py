"""The migrations create exactly the schema the models describe, and go down and up again."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import downgrade, upgrade

from portal import create_app
from portal.extensions import db
from tests.conftest import drop_postgres_database, fresh_postgres_database, postgres_admin_url


def _diff(engine) -> list:
    with engine.connect() as conn:
        ctx = MigrationContext.configure(conn, opts={"compare_type": True,
                                                     "render_as_batch": True})
        return compare_metadata(ctx, db.metadata)


def _tables(engine) -> set[str]:
    return set(sa.inspect(engine).get_table_names()) - {"alembic_version"}


def _round_trip(url: str) -> None:
    app = create_app({"SQLALCHEMY_DATABASE_URI": url})
    with app.app_context():
        try:
            upgrade(revision="heads")
            assert _diff(db.engine) == []
            model_tables = {t.name for t in db.metadata.sorted_tables}
            assert _tables(db.engine) == model_tables
            downgrade(revision="base")
            assert _tables(db.engine) == set()
            upgrade(revision="heads")
            assert _diff(db.engine) == []
        finally:
            # Also when a check fails: connections left open here would surface as a
            # ResourceWarning in some later test.
            db.session.remove()
            db.engine.dispose()


def test_migrations_match_models_on_sqlite(tmp_path):
    _round_trip(f"sqlite:///{tmp_path / 'migrated.db'}")


@pytest.mark.postgres
@pytest.mark.skipif(not postgres_admin_url(), reason="TEST_DATABASE_URL is not a PostgreSQL URL")
def test_migrations_match_models_on_postgresql(worker_id):
    url = fresh_postgres_database(f"mig_{worker_id}")
    try:
        _round_trip(url)
    finally:
        drop_postgres_database(url)


def test_0008_seals_drafts_moves_interrupted_submissions_and_generalises(tmp_path):
    """An install upgraded from 0007: clear drafts become sealed, a submission left
    half-done by the old protocol moves into the pool, and stored anonymous responses
    keep only the breakdown dimensions, recoded, with one date."""
    import json
    import uuid

    from portal.models import SurveyDraft, SurveyPoolEntry, SurveyResponse
    from portal.surveys import pool

    app = create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'old.db'}"})
    with app.app_context():
        upgrade(revision="0007")
        conn = db.session.connection()
        conn.execute(sa.text(
            "INSERT INTO users (id, email, display_name, role, active, session_version, "
            "failed_logins, created_at, updated_at, career_stage, library_type, work_role) "
            "SELECT :i, "
            ":e, 'M', 'member', 1, 1, 0, '2026-01-01', '2026-01-01', :c, 'public', 'manager'"),
            [{"i": i, "e": f"m{i}@example.org", "c": "early" if i < 13 else "senior"}
             for i in range(1, 15)])
        conn.execute(sa.text(
            "INSERT INTO surveys (id, title, introduction, status, anonymous, audience, "
            "version, next_question_number, created_at, updated_at) VALUES "
            "(1, 'S', '', 'open', 1, '{}', 1, 2, '2026-01-01', '2026-01-01')"))
        conn.execute(sa.text(
            "INSERT INTO survey_participations (survey_id, user_id) VALUES (1, :u)"),
            [{"u": u} for u in range(1, 15)])
        for u in range(1, 14):
            conn.execute(sa.text(
                "INSERT INTO survey_responses (id, survey_id, submitted_on, career_stage, "
                "library_type, work_role) VALUES (:r, 1, :d, :c, 'public', 'manager')"),
                {"r": uuid.uuid4().hex, "d": f"2026-01-{u:02d}",
                 "c": "early" if u < 13 else "senior"})
        answers = json.dumps({"q1": "secret words"})
        conn.execute(sa.text(
            "INSERT INTO survey_drafts (survey_id, user_id, answers, completed_sections, "
            "sealed_response_id, updated_at) VALUES (1, 14, :a, '[]', :r, '2026-01-01')"),
            {"a": answers, "r": uuid.uuid4().hex})
        conn.execute(sa.text(
            "INSERT INTO surveys (id, title, introduction, status, anonymous, audience, "
            "version, next_question_number, created_at, updated_at) VALUES "
            "(2, 'T', '', 'open', 1, '{}', 1, 2, '2026-01-01', '2026-01-01')"))
        conn.execute(sa.text(
            "INSERT INTO survey_drafts (survey_id, user_id, answers, completed_sections, "
            "updated_at) VALUES (2, 1, :a, '[]', '2026-01-01')"), {"a": answers})
        db.session.commit()
        upgrade(revision="heads")
        db.session.remove()
        draft = db.session.scalar(sa.select(SurveyDraft))
        assert (draft.survey_id, draft.user_id) == (2, 1)
        assert b"secret words" not in draft.sealed_answers and draft.answers == {
            "q1": "secret words"}
        # The half-done submission of member 14 now waits in the pool, sealed.
        entry = db.session.scalar(sa.select(SurveyPoolEntry))
        assert entry.survey_id == 1 and b"secret words" not in entry.sealed
        assert pool.waiting(1) == 1
        rows = db.session.execute(sa.select(
            SurveyResponse.career_stage, SurveyResponse.library_type,
            SurveyResponse.work_role, SurveyResponse.submitted_on)).all()
        assert len(rows) == 13 and len({r.submitted_on for r in rows}) == 1
        assert {r.work_role for r in rows} == {None}  # not a breakdown dimension
        # Two experienced members among 14 participants: not shown as such.
        assert {(r.career_stage, r.library_type) for r in rows} <= {
            ("early", "public"), ("generalised", "generalised")}
        db.engine.dispose()
