"""The report summaries stay equal to a recomputation from the raw ratings."""

from __future__ import annotations

import sqlalchemy as sa

from portal.extensions import db
from portal.models import Rating, ReportCell, ReportEligible, ReportParticipation, User
from portal.reports import aggregates, participation, queries, verify
from tests import factories


def _problems(rnd) -> list[str]:
    return verify.check_summaries(rnd)


def _objectives(n=3):
    return queries.report_objectives([])[:n]


def test_orm_inserts_updates_and_deletes_keep_the_summaries_exact(app, plan):
    rnd = factories.make_past_round()
    a1, a2, _ = _objectives()
    users = factories.make_members(4, career_stage="early", region="south")
    r1 = factories.make_rating(users[0], a1, rnd, 5, 2)
    factories.make_rating(users[1], a1, rnd, 0, None)        # don't know, not answered
    factories.make_rating(users[2], a2, rnd, None, None)
    assert _problems(rnd) == []

    # Change after a commit: the attributes are expired, the old values must still count.
    r1.importance = 3
    r1.career_stage = "mid"
    db.session.commit()
    assert _problems(rnd) == []

    db.session.delete(r1)
    db.session.commit()
    assert _problems(rnd) == []
    cell = db.session.scalar(sa.select(sa.func.sum(ReportCell.n)).where(
        ReportCell.round_id == rnd.id, ReportCell.dimension == "",
        ReportCell.objective_id == a1.id))
    assert cell == 1


def test_the_all_members_counts_match_a_raw_group_by(app, plan):
    rnd = factories.make_past_round()
    objs = _objectives()
    users = factories.make_members(6, library_type="public")
    for i, u in enumerate(users):
        for j, o in enumerate(objs):
            factories.make_rating(u, o, rnd, (i + j) % 6, (i * j) % 6 or None, commit=False)
    db.session.commit()
    summary = queries.load_counts(rnd.id, source="live")
    raw = queries.load_counts(rnd.id, source="raw")
    assert summary.keys() == raw.keys()
    for key in summary:
        assert summary[key].importance == {k: v for k, v in raw[key].importance.items() if v}
        assert (summary[key].gap_n, summary[key].gap_sum, summary[key].gap_sum_sq) == (
            raw[key].gap_n, raw[key].gap_sum, raw[key].gap_sum_sq)


def test_deleting_an_account_keeps_its_ratings_in_the_counts(app, plan):
    rnd = factories.make_past_round()
    a1 = _objectives(1)[0]
    user = factories.make_members(1, region="west")[0]
    factories.make_rating(user, a1, rnd, 4, 4)
    before = queries.load_counts(rnd.id, source="live")
    db.session.delete(user)
    db.session.commit()
    assert db.session.scalar(sa.select(Rating.user_id)) is None
    assert queries.load_counts(rnd.id, source="live") == before
    assert _problems(rnd) == []


def test_participation_follows_members_and_their_first_and_last_rating(app, plan):
    rnd = factories.make_past_round()
    a1, a2, _ = _objectives()
    users = factories.make_members(3, career_stage="mid")
    unverified = factories.make_user(verified=False, career_stage="mid")

    def counts():
        return participation.counts(rnd.id, "live")

    assert counts()[("career_stage", "mid")] == (3, 0)
    factories.make_rating(users[0], a1, rnd, 4, 3)
    factories.make_rating(users[0], a2, rnd, 4, 3)
    factories.make_rating(unverified, a1, rnd, 2, 2)        # not eligible: not counted
    assert counts()[("career_stage", "mid")] == (3, 1)
    assert counts()[("", "")] == (3, 1)

    users[0].career_stage = "senior"                          # moves both counts
    unverified.email_verified_at = users[1].email_verified_at  # becomes eligible, has rated
    db.session.commit()
    assert counts()[("career_stage", "mid")] == (3, 1)
    assert counts()[("career_stage", "senior")] == (1, 1)

    users[1].active = False
    db.session.commit()
    assert counts()[("career_stage", "mid")] == (2, 1)

    for r in db.session.scalars(sa.select(Rating).where(Rating.user_id == users[0].id)):
        db.session.delete(r)
    db.session.commit()
    assert counts()[("", "")] == (3, 1)
    assert verify.check_summaries(rnd) == []


def test_rebuild_reproduces_the_incremental_summaries(app, plan):
    rnd = factories.make_past_round()
    objs = _objectives()
    for i, u in enumerate(factories.make_members(5, work_role="manager")):
        for o in objs:
            factories.make_rating(u, o, rnd, i % 6, (i + 2) % 6, commit=False)
    db.session.commit()
    before = sorted(db.session.execute(sa.select(ReportCell.__table__).where(
        ReportCell.n != 0)).all())
    eligible = sorted(db.session.execute(sa.select(ReportEligible.__table__)).all())
    part = sorted(db.session.execute(sa.select(ReportParticipation.__table__)).all())
    aggregates.rebuild_round(rnd.id)
    participation.rebuild_participation()
    db.session.commit()
    assert sorted(db.session.execute(sa.select(ReportCell.__table__)).all()) == before
    assert sorted(db.session.execute(sa.select(ReportEligible.__table__)).all()) == eligible
    assert sorted(db.session.execute(sa.select(ReportParticipation.__table__)).all()) == part


def test_verify_command_passes_and_catches_a_tampered_count(app, plan, runner):
    rnd = factories.make_past_round()
    a1 = _objectives(1)[0]
    for u in factories.make_members(3):
        factories.make_rating(u, a1, rnd, 5, 1)
    ok = runner.invoke(args=["reports", "verify"])
    assert ok.exit_code == 0, ok.output
    assert "OK" in ok.output
    db.session.execute(sa.update(ReportCell).where(ReportCell.round_id == rnd.id,
                                                   ReportCell.dimension == "")
                       .values(n=ReportCell.n + 1))
    db.session.commit()
    bad = runner.invoke(args=["reports", "verify"])
    assert bad.exit_code == 1
    assert "MISMATCH" in bad.output

    fixed = runner.invoke(args=["reports", "rebuild"])
    assert fixed.exit_code == 0, fixed.output
    assert runner.invoke(args=["reports", "verify"]).exit_code == 0


def test_core_writes_are_applied_with_apply_rating_change(app, plan):
    rnd = factories.make_past_round()
    a1 = _objectives(1)[0]
    user = factories.make_members(1, region="south")[0]
    rating = factories.make_rating(user, a1, rnd, 2, 2)
    old = aggregates.facts(rating)
    db.session.execute(sa.update(Rating).where(Rating.id == rating.id).values(importance=5),
                       execution_options={"synchronize_session": False})
    db.session.expire_all()
    aggregates.apply_rating_change(old, db.session.get(Rating, rating.id))
    db.session.commit()
    assert _problems(rnd) == []


def test_member_segments_are_read_from_users_for_participation(app, plan):
    factories.make_members(2, region="international")
    rows = {(d, v): n for d, v, n in db.session.execute(
        sa.select(ReportEligible.dimension, ReportEligible.value, ReportEligible.n))}
    assert rows[("region", "international")] == 2
    assert rows[("", "")] == 2
    assert rows.get(("region", "south"), 0) == 0
    assert rows[("career_stage", "")] == 2    # not answered
    assert db.session.scalar(sa.select(sa.func.count()).select_from(User)) == 2
