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
        upgrade(revision="heads")
        assert _diff(db.engine) == []
        model_tables = {t.name for t in db.metadata.sorted_tables}
        assert _tables(db.engine) == model_tables
        downgrade(revision="base")
        assert _tables(db.engine) == set()
        upgrade(revision="heads")
        assert _diff(db.engine) == []
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
