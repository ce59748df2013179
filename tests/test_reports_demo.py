"""Demo data: deterministic, structured, verified, and never in production."""

from __future__ import annotations

import sqlalchemy as sa

from portal import create_app, segments, stats
from portal.extensions import db
from portal.models import Comment, Endorsement, Rating, User
from portal.reports import queries
from portal.reports.aggregates import ALL


def _fingerprint():
    return (db.session.scalar(sa.select(sa.func.count()).select_from(Rating)),
            db.session.scalar(sa.select(sa.func.sum(Rating.importance))),
            db.session.scalar(sa.select(sa.func.sum(Rating.performance))),
            db.session.scalar(sa.select(sa.func.count()).select_from(Comment)),
            db.session.scalar(sa.select(sa.func.count()).select_from(Endorsement)))


def _some_segment_differs(rounds) -> bool:
    for rnd in rounds:
        totals = queries.load_counts(rnd.id, ALL)
        for dim in segments.KEYS:
            for (oid, value), c in queries.load_counts(rnd.id, dim).items():
                total = totals.get((oid, ""))
                if not value or total is None:
                    continue
                seg, everyone = stats.share_high(c.importance), stats.share_high(total.importance)
                rest_k, rest_n = everyone.k - seg.k, everyone.n - seg.n
                if seg.n and rest_n:
                    _, p = stats.two_proportion_test(seg.k, seg.n, rest_k, rest_n)
                    if p is not None and p < 0.001:
                        return True
    return False


def test_demo_data_is_deterministic_verified_and_structured(app, runner):
    result = runner.invoke(args=["demo-data", "--members", "400", "--seed", "5", "--quiet",
                                 "--password", "demo pass phrase"])
    assert result.exit_code == 0, result.output
    assert "demo-leader@example.org" in result.output and "demo pass phrase" in result.output
    first = _fingerprint()
    assert first[0] > 4000 and first[3] > 20 and first[4] > 0
    verified = runner.invoke(args=["reports", "verify"])
    assert verified.exit_code == 0, verified.output
    # Endorsement counts on comments agree with the endorsement rows.
    total = db.session.scalar(sa.select(sa.func.sum(Comment.endorsement_count)))
    assert total == first[4]
    # Real structure: some segment differs from the other members beyond chance (on
    # the raw counts: at 400 members the heatmap shows few segments, by design).
    assert _some_segment_differs(queries.all_rounds())
    assert runner.invoke(args=["demo-data", "--members", "400"]).exit_code != 0  # loaded once

    # Same seed, fresh database: the same data.
    db.session.remove()
    from tests.conftest import _wipe
    _wipe()
    again = runner.invoke(args=["demo-data", "--members", "400", "--seed", "5", "--quiet",
                                "--password", "demo pass phrase"])
    assert again.exit_code == 0, again.output
    assert _fingerprint() == first


def test_demo_data_refuses_production(monkeypatch, _schema):
    monkeypatch.setenv("SECRET_KEY", "0123456789abcdefghijklmnopqrstuvwxyzABCDEF")
    prod = create_app({"CONFIG": "production", "SQLALCHEMY_DATABASE_URI": _schema})
    result = prod.test_cli_runner().invoke(args=["demo-data", "--members", "50"])
    assert result.exit_code != 0
    assert "production" in result.output
    with prod.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(User)) == 0
        db.session.remove()
        db.engine.dispose()
