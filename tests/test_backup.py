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


def _pairing_guesses(survey_id: int) -> list[list[tuple[int, object]]]:
    """The ways an attacker with the database could pair participations (who answered)
    with responses (what was answered): physical position and insertion order."""
    if db.engine.dialect.name != "postgresql":
        # SQLite: the tables have no rowid; the only order is the random response key.
        parts = db.session.execute(sa.text(
            "SELECT user_id FROM survey_participations WHERE survey_id = :s ORDER BY user_id"),
            {"s": survey_id}).scalars().all()
        resps = db.session.execute(sa.text(
            "SELECT id FROM survey_responses WHERE survey_id = :s ORDER BY id"),
            {"s": survey_id}).scalars().all()
        return [list(zip(parts, resps, strict=True))]
    def rows(table: str, key: str) -> list:
        return db.session.execute(sa.text(
            f"SELECT {key} AS k, xmin::text::bigint AS x, ctid::text AS c FROM {table} "  # noqa: S608
            "WHERE survey_id = :s"), {"s": survey_id}).all()

    def ctid(c: str) -> tuple[int, int]:
        page, offset = c.strip("()").split(",")
        return int(page), int(offset)

    parts, resps = rows("survey_participations", "user_id"), rows("survey_responses", "id")
    by_ctid = {r.c: r.k for r in resps}
    guesses = [[(p.k, by_ctid[p.c]) for p in parts if p.c in by_ctid]]
    for key in (lambda row: (row.x, ctid(row.c)), lambda row: ctid(row.c)):
        guesses.append([(p.k, r.k) for p, r in zip(sorted(parts, key=key),
                                                   sorted(resps, key=key), strict=True)])
    return guesses


def test_a_restored_copy_passes_reports_verify_and_the_anonymity_check(app, runner, tmp_path,
                                                                       monkeypatch):
    """The restored database is sound for the leadership reports (`flask reports verify`)
    and still cannot pair anonymous survey responses with the members who gave them."""
    import random

    from portal.surveys import pool
    from tests.test_survey_anonymity import _correct, _submit_many

    _populate()
    monkeypatch.setattr(pool, "_rng", random.Random(8))
    survey = factories.make_survey()
    truth = _submit_many(survey, 16)
    survey_id = survey.id
    result = runner.invoke(args=["reports", "verify"])
    assert result.exit_code == 0, result.output
    before = _snapshot()
    dest = tmp_path / "backup.dump"
    assert runner.invoke(args=["db-backup", str(dest)]).exit_code == 0
    db.session.execute(sa.delete(Rating))
    db.session.commit()
    result = runner.invoke(args=["db-restore", str(dest), "--yes"])
    assert result.exit_code == 0, result.output
    db.session.remove()
    assert _snapshot() == before
    result = runner.invoke(args=["reports", "verify"])
    assert result.exit_code == 0, result.output
    assert "OK" in result.output
    assert runner.invoke(args=["reports", "rebuild"]).exit_code == 0
    assert _snapshot() == before  # the summaries were already exact
    # The anonymity core check on the copy: no way of lining the tables up beats a guess.
    for pairs in _pairing_guesses(survey_id):
        assert _correct(pairs, truth) <= len(truth) // 4, pairs
    from tests.test_survey_anonymity import test_schema_has_no_link_from_answers_to_members

    test_schema_has_no_link_from_answers_to_members(app)
