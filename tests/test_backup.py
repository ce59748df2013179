"""Backups round-trip a populated database on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa

from portal.extensions import db
from portal.models import FeedbackRound, Objective, Rating, User
from portal.timeutil import now_utc
from tests import factories


def _populate() -> None:
    factories.load_plan()
    users = [factories.make_user(region="west") for _ in range(5)]
    now = now_utc()
    rnd = FeedbackRound(name="Spring", status="draft", opens_at=now - timedelta(days=1),
                        closes_at=now + timedelta(days=1))
    db.session.add(rnd)
    rnd.open()
    db.session.flush()
    objectives = list(db.session.scalars(sa.select(Objective)))
    for i, user in enumerate(users):
        for obj in objectives[:4]:
            db.session.add(Rating(user_id=user.id, objective_id=obj.id, round_id=rnd.id,
                                  importance=1 + (i + obj.id) % 5, performance=i % 6,
                                  region=user.region))
    db.session.commit()


def _snapshot() -> dict[str, int]:
    return {t.name: db.session.scalar(sa.select(sa.func.count()).select_from(t))
            for t in db.metadata.sorted_tables}


def test_backup_and_restore_round_trip(app, runner, tmp_path):
    _populate()
    before = _snapshot()
    assert before["ratings"] == 20
    dest = tmp_path / "backup.dump"
    result = runner.invoke(args=["db-backup", str(dest)])
    assert result.exit_code == 0, result.output
    assert dest.stat().st_size > 0

    # Damage the live database after the backup.
    db.session.execute(sa.delete(Rating))
    db.session.execute(sa.update(User).values(display_name="changed"))
    db.session.commit()
    assert _snapshot()["ratings"] == 0

    result = runner.invoke(args=["db-restore", str(dest), "--yes"])
    assert result.exit_code == 0, result.output
    assert "integrity check: ok" in result.output
    db.session.remove()
    assert _snapshot() == before
    assert db.session.scalar(sa.select(User.display_name).where(User.region == "west")
                             .limit(1)) != "changed"


def test_restore_refuses_a_file_that_is_not_a_backup(app, runner, tmp_path):
    _populate()
    junk = tmp_path / "junk.db"
    junk.write_bytes(b"this is not a database at all" * 100)
    result = runner.invoke(args=["db-restore", str(junk), "--yes"])
    assert result.exit_code != 0
    assert "Error" in result.output
    assert _snapshot()["ratings"] == 20


def test_restore_asks_before_replacing(app, runner, tmp_path):
    dest = tmp_path / "b.dump"
    runner.invoke(args=["db-backup", str(dest)])
    result = runner.invoke(args=["db-restore", str(dest)], input="n\n")
    assert result.exit_code == 1
    assert "Aborted" in result.output
