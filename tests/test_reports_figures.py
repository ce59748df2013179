"""Every figure on the report pages equals scipy computed on the raw rating rows."""

from __future__ import annotations

import math
import random

import numpy as np
import pytest
import sqlalchemy as sa
from scipy import stats as sp

from portal import privacy
from portal.extensions import db
from portal.models import Rating
from portal.reports import dashboard, drilldown, heatmap, queries, trends
from tests import factories
from tests.test_stats import _welch_reference, bounded_reference

STAGES = ["student", "early", "mid", "senior"]


@pytest.fixture
def rated(app, plan):
    """Two rounds, 3 objectives, 4 career stages of different sizes, varied answers."""
    rng = random.Random(42)
    objs = queries.report_objectives([])[:3]
    old = factories.make_past_round("Round A", "closed", days_ago=400)
    new = factories.make_past_round("Round B", "closed", days_ago=10)
    sizes = {"student": 14, "early": 30, "mid": 40, "senior": 10}
    members = []
    for stage, size in sizes.items():
        members += factories.make_members(size, career_stage=stage,
                                          region=rng.choice(["south", "west"]))
    for rnd, shift in ((old, 0), (new, 1)):
        for u in members:
            for j, o in enumerate(objs):
                bias = {"student": 1, "early": 0, "mid": -1, "senior": 0}[u.career_stage]
                imp = min(5, max(1, 3 + bias + rng.choice([-1, 0, 1, 1]) + (j == 0)))
                perf = min(5, max(1, 3 + shift * (j == 1) + rng.choice([-2, -1, 0, 1])))
                if rng.random() < 0.07:
                    imp = 0
                if rng.random() < 0.05:
                    perf = None
                factories.make_rating(u, o, rnd, imp, perf, commit=False)
        db.session.commit()
    return {"objectives": objs, "old": old, "new": new, "members": members}


def _raw(round_id, objective_id, **where):
    stmt = sa.select(Rating).where(Rating.round_id == round_id,
                                   Rating.objective_id == objective_id)
    for k, v in where.items():
        stmt = stmt.where(getattr(Rating, k) == v)
    return list(db.session.scalars(stmt))


def _scale(values):
    return np.array([v for v in values if v is not None and 1 <= v <= 5], dtype=float)


def test_dashboard_matches_scipy_on_raw_rows(rated, app):
    rnd = rated["new"]
    with app.test_request_context():
        dash = dashboard.build(rnd)
    for row in dash.rows[:3]:
        rows = _raw(rnd.id, row.objective.id)
        imp = _scale(r.importance for r in rows)
        perf = _scale(r.performance for r in rows)
        e = row.est
        assert e.rows == len(rows)
        if e.decisions["importance"].audited or e.decisions["performance"].audited:
            # A hidden cell in the slice: the disclosure step publishes rounded figures
            # (portal.disclosure.ratings), and the gap from the two published means.
            for m, vals in ((e.imp_mean, imp), (e.perf_mean, perf)):
                digits = e.decisions["importance" if m is e.imp_mean else "performance"].digits
                assert m.mean is None if digits is None else m.mean == round(vals.mean(), digits)
            if e.gap.mean is not None:
                assert e.gap.mean == pytest.approx(e.perf_mean.mean - e.imp_mean.mean)
            continue
        k = int((imp >= 4).sum())
        ci = sp.binomtest(k, len(imp)).proportion_ci(method="wilson")
        assert e.imp_high.p == pytest.approx(k / len(imp))
        assert (e.imp_high.lo, e.imp_high.hi) == pytest.approx((ci.low, ci.high))
        assert e.imp_low.p == pytest.approx((imp <= 2).mean())
        # Means on 1..5 carry the bounded-scale interval (portal.stats.bounded), here
        # recomputed from the raw rows with scipy's root finder.
        lo, hi = bounded_reference(imp, 1, 5)
        assert (e.imp_mean.mean, e.imp_mean.lo, e.imp_mean.hi) == pytest.approx(
            (imp.mean(), lo, hi))
        lo, hi = bounded_reference(perf, 1, 5)
        assert (e.perf_mean.mean, e.perf_mean.lo, e.perf_mean.hi) == pytest.approx(
            (perf.mean(), lo, hi))
        both = [(r.importance, r.performance) for r in rows
                if r.importance and r.performance and 1 <= r.importance <= 5]
        i = np.array([b[0] for b in both], float)
        p = np.array([b[1] for b in both], float)
        lo, hi = bounded_reference(p - i, -4, 4, steps=16)
        assert (e.gap.n, e.gap.mean, e.gap.lo, e.gap.hi) == pytest.approx(
            (len(both), (p - i).mean(), lo, hi))
    # Labels from the intervals, against the scale midpoint by default.
    assert dash.centre == (3.0, 3.0)
    for r in dash.rows:
        _assert_label_from_intervals(r, 3.0, 3.0)
    # Against the averages, on leaders' request: crosshairs at the grand means.
    with app.test_request_context():
        avg = dashboard.build(rnd, reference="average")
    ci, cp = avg.centre
    means = [r.est.imp_mean.mean for r in avg.rows
             if r.est.rows and r.est.imp_mean.mean is not None]
    assert ci == (pytest.approx(np.mean(means)) if means else None)
    for r in avg.rows:
        _assert_label_from_intervals(r, ci, cp)


def _assert_label_from_intervals(r, ci, cp):
    e = r.est
    if not e.rows or None in (e.imp_mean.mean, e.perf_mean.mean):
        return
    if e.gap.hi is not None and e.gap.hi < 0:
        assert r.quadrant == "Concentrate here"
        return
    if ci is None or e.imp_mean.lo is None or e.perf_mean.lo is None:
        assert r.quadrant == "Not clearly different"
        return
    imp = 1 if e.imp_mean.lo > ci else (-1 if e.imp_mean.hi < ci else 0)
    perf = 1 if e.perf_mean.lo > cp else (-1 if e.perf_mean.hi < cp else 0)
    expected = {(1, -1): "Concentrate here", (1, 1): "Keep up the good work",
                (-1, -1): "Low priority", (-1, 1): "Possible overkill"}
    assert r.quadrant == expected.get((imp, perf), "Not clearly different")


def test_heatmap_flags_match_chi_square_and_bh_on_raw_rows(rated, app):
    rnd = rated["new"]
    hm = heatmap.build(rnd, "career_stage")
    pvalues, cells = [], []
    for obj, total, row in hm.rows:
        if not total:
            continue
        everyone = _scale(r.importance for r in _raw(rnd.id, obj.id))
        for (code,), cell in row.items():
            if not cell.n:
                continue
            mine = _scale(r.importance for r in _raw(rnd.id, obj.id, career_stage=code or None))
            sides = (int((mine >= 4).sum()), len(mine) - int((mine >= 4).sum()))
            small_side = any(0 < side < 10 for side in sides)
            # A share tells both of its sides: hidden when one is a small group, or
            # when the disclosure step withholds it to protect a hidden cell.
            if cell.split_hidden and not small_side:
                assert cell.value is None
                continue
            assert cell.split_hidden == small_side
            if small_side:
                assert cell.value is None and cell.p is None
                continue
            rest_k = int((everyone >= 4).sum() - (mine >= 4).sum())
            rest_n = len(everyone) - len(mine)
            table = np.array([[int((mine >= 4).sum()), len(mine) - int((mine >= 4).sum())],
                              [rest_k, rest_n - rest_k]])
            expected = np.outer(table.sum(axis=1), table.sum(axis=0)) / table.sum()
            if expected.min() < 5:
                # Small expected counts: Fisher's exact test, not the chi-square.
                p = sp.fisher_exact(table).pvalue
            elif table[:, 0].sum() in (0, table.sum()):
                p = 1.0
            else:
                p = sp.chi2_contingency(table, correction=False)[1]
            if cell.value is None:
                continue
            if round(cell.value, 2) == cell.value and cell.value != (mine >= 4).mean():
                # A hidden cell in the segment or all members: the share is published
                # to whole percentages and the test runs on published figures only.
                assert cell.value == pytest.approx(round((mine >= 4).mean(), 2))
                if cell.p is not None:
                    pvalues.append(cell.p)
                    cells.append(cell)
                continue
            assert cell.value == pytest.approx((mine >= 4).mean())
            assert cell.diff == pytest.approx((mine >= 4).mean() - (everyone >= 4).mean())
            assert cell.p == pytest.approx(p)
            pvalues.append(p)
            cells.append(cell)
    q = sp.false_discovery_control(pvalues, method="bh")
    for cell, qq in zip(cells, q, strict=True):
        assert cell.q == pytest.approx(qq)
        assert cell.flagged == (qq < 0.05 and abs(cell.diff) >= 0.05)


def test_trends_match_welch_and_two_proportion_tests(rated, app):
    tr = trends.build(rated["new"], rated["old"])
    compared = 0
    for obj, change in tr.rows:
        after = _scale(r.performance for r in _raw(rated["new"].id, obj.id))
        before = _scale(r.performance for r in _raw(rated["old"].id, obj.id))
        if len(after) < 2 or len(before) < 2:
            continue
        # Welch with each variance floored as on the 1..5 scale (portal.stats).
        res = _welch_reference(after, before, 1, 5)
        d = change.performance
        audited = any(e.decisions["performance"].audited for e in (change.after, change.before))
        if audited:
            # Compared from the published (rounded) means, never from more precision.
            if d.estimate is not None:
                assert d.estimate == pytest.approx(change.after.perf_mean.mean
                                                   - change.before.perf_mean.mean)
                compared += 1
        else:
            assert (d.estimate, d.p) == pytest.approx(
                (after.mean() - before.mean(), res.pvalue))
            assert d.lo <= d.estimate <= d.hi
        a = _scale(r.importance for r in _raw(rated["new"].id, obj.id))
        b = _scale(r.importance for r in _raw(rated["old"].id, obj.id))
        table = np.array([[(a >= 4).sum(), (a < 4).sum()], [(b >= 4).sum(), (b < 4).sum()]])
        if not (change.after.show_share() and change.before.show_share()):
            # A share hidden by the privacy rule for shares is not compared either.
            assert change.share.estimate is None and change.share.p is None
            continue
        if any(e.decisions["importance"].audited for e in (change.after, change.before)):
            assert change.share.estimate == pytest.approx(
                change.after.imp_high.p - change.before.imp_high.p, abs=0.01)
            continue
        assert change.share.p == pytest.approx(sp.chi2_contingency(table, correction=False)[1])
        assert change.share.estimate == pytest.approx((a >= 4).mean() - (b >= 4).mean())
        compared += 1
    assert compared >= 1


def _stage_heatmap(groups):
    rnd = factories.make_past_round(status="closed")
    obj = queries.report_objectives([])[0]
    for stage, n in groups.items():
        for u in factories.make_members(n, career_stage=stage):
            factories.make_rating(u, obj, rnd, 4, 3, commit=False)
    db.session.commit()
    hm = heatmap.build(rnd, "career_stage")
    return hm, hm.rows[0][2]


def test_a_segment_of_exactly_the_threshold_is_shown_one_less_is_hidden(app, plan):
    # Two small cells hide each other; the cell of exactly 10 stays visible.
    hm, row = _stage_heatmap({"student": 10, "early": 9, "mid": 30, "senior": 25, "retired": 3})
    assert row[("student",)].n == 10 and row[("student",)].value == 1.0
    assert row[("early",)].n is None and row[("retired",)].n is None
    assert (row[("mid",)].n, row[("senior",)].n) == (30, 25)
    cells = {c.key: c for c in hm.table.columns}
    labels = {cells[k].label: v for k, v in hm.table.rows[0].items() if k in cells}
    assert labels["Early career (0–5 years)"].text == "fewer than 10"
    assert labels["Student or new to the field"].text == "100%"


def test_a_lone_small_segment_takes_the_next_smallest_with_it(app, plan):
    _, row = _stage_heatmap({"student": 10, "early": 9, "mid": 30, "senior": 25})
    assert row[("early",)].n is None
    assert row[("student",)].n is None       # else 9 = total - 10 - 30 - 25
    assert (row[("mid",)].n, row[("senior",)].n) == (30, 25)


def test_everyone_alike_gives_an_interval_inside_the_scale_and_no_false_flags(app, plan):
    rnd = factories.make_past_round(status="closed")
    obj = queries.report_objectives([])[0]
    for stage in ("student", "mid"):
        for u in factories.make_members(12, career_stage=stage):
            factories.make_rating(u, obj, rnd, 5, 5, commit=False)
    db.session.commit()
    with app.test_request_context():
        dash = dashboard.build(rnd)
    e = dash.rows[0].est
    # 24 identical answers do not make certainty: the interval keeps width and stays
    # inside 1..5 (it used to read "5.00 to 5.00"); the gap's likewise inside -4..4.
    assert (e.imp_mean.mean, e.imp_mean.sd, e.imp_mean.hi) == (5.0, 0.0, 5.0)
    assert 4.5 < e.imp_mean.lo < 5.0
    assert e.gap.mean == 0.0 and -4 < e.gap.lo < 0.0 < e.gap.hi < 4
    assert e.imp_high.p == 1.0 and e.imp_high.lo < 1.0 == e.imp_high.hi
    hm = heatmap.build(rnd, "career_stage", measure="importance_mean")
    assert not hm.flags
    assert all(c.p in (1.0, None) for _, _, row in hm.rows for c in row.values() if c.n)


def test_one_rater_is_suppressed_and_shows_no_interval_even_when_allowed(app, plan):
    rnd = factories.make_past_round(status="closed")
    obj = queries.report_objectives([])[0]
    factories.make_rating(factories.make_members(1)[0], obj, rnd, 4, 2)
    with app.test_request_context():
        dash = dashboard.build(rnd)
    row = dash.tables["priorities"].rows[0]
    assert row["raters"].text == "fewer than 10"
    assert row["imp_mean"].suppressed and row["gap"].suppressed
    app.config["PRIVACY_MIN_N"] = 1
    with app.test_request_context():
        dash = dashboard.build(rnd)
    e = dash.rows[0].est
    assert e.imp_mean.mean == 4.0 and e.imp_mean.lo is None
    assert dash.tables["priorities"].rows[0]["imp_mean"].sub == ""


def test_a_round_without_ratings_is_an_empty_state(app, plan):
    rnd = factories.make_past_round(status="closed")
    with app.test_request_context():
        dash = dashboard.build(rnd)
    assert dash.empty
    assert all(r.est.imp_high.p is None and r.est.gap.mean is None for r in dash.rows)
    assert heatmap.build(rnd, "region").empty
    obj = queries.report_objectives([])[0]
    assert drilldown.build(rnd, obj).empty


def test_crossed_cells_hide_enough_to_protect_both_margins(app, plan):
    rnd = factories.make_past_round(status="closed")
    obj = queries.report_objectives([])[0]
    layout = {("student", "south"): 3, ("student", "west"): 40, ("mid", "south"): 50,
              ("mid", "west"): 45}
    for (stage, region), n in layout.items():
        for u in factories.make_members(n, career_stage=stage, region=region):
            factories.make_rating(u, obj, rnd, 4, 4, commit=False)
    db.session.commit()
    hm = heatmap.build(rnd, "career_stage", by="region")
    _, _, row = hm.rows[0]
    hidden = {k for k, c in row.items() if c.n is None}
    assert ("student", "south") in hidden
    # Each row and column of the grid holding a hidden cell holds at least two.
    for k in hidden:
        assert sum(1 for h in hidden if h[0] == k[0]) >= 2
        assert sum(1 for h in hidden if h[1] == k[1]) >= 2
    assert math.isclose(sum(c.n or 0 for c in row.values()) + sum(
        layout[k] for k in hidden), sum(layout.values()))
    assert privacy.min_n() == 10


def test_unhidden_slices_match_the_bounded_interval_and_floored_welch_on_raw_rows(app, plan):
    """Every answer value held by 10 or more members, so nothing is hidden and the
    pages publish full precision: the dashboard's means and gap, and the trend's
    Welch test, against references computed from the raw rows."""
    obj = queries.report_objectives([])[0]
    old = factories.make_past_round("Round A", "closed", days_ago=400)
    new = factories.make_past_round("Round B", "closed", days_ago=10)
    members = factories.make_members(60)
    plans = {old: [(1 + i % 5, 1 + (i // 12) % 5) for i in range(60)],
             new: [(1 + i % 5, min(5, 2 + (i // 12) % 5)) for i in range(60)]}
    for rnd, pairs in plans.items():
        for u, (imp, perf) in zip(members, pairs, strict=True):
            factories.make_rating(u, obj, rnd, imp, perf, commit=False)
    db.session.commit()
    with app.test_request_context():
        e = dashboard.build(new).rows[0].est
        tr = trends.build(new, old)
    assert not e.decisions["importance"].audited and not e.decisions["performance"].audited
    imp = np.array([i for i, _ in plans[new]], float)
    perf = np.array([p for _, p in plans[new]], float)
    assert (e.imp_mean.lo, e.imp_mean.hi) == pytest.approx(bounded_reference(imp, 1, 5))
    assert (e.perf_mean.lo, e.perf_mean.hi) == pytest.approx(bounded_reference(perf, 1, 5))
    assert (e.gap.lo, e.gap.hi) == pytest.approx(bounded_reference(perf - imp, -4, 4,
                                                                   steps=16))
    change = next(c for o, c in tr.rows if o.id == obj.id)
    before = np.array([p for _, p in plans[old]], float)
    ref = _welch_reference(perf, before, 1, 5)
    assert change.performance.p == pytest.approx(ref.pvalue)
    assert change.performance.estimate == pytest.approx(perf.mean() - before.mean())


def test_dashboard_shows_the_dont_know_share_only_when_its_count_is_published(app, plan):
    rnd = factories.make_past_round(status="closed")
    first, second = queries.report_objectives([])[:2]
    members = factories.make_members(40)
    for i, u in enumerate(members):
        # First objective: 12 "Don't know" on performance; second: 3 (a small group).
        factories.make_rating(u, first, rnd, 1 + i % 5, 0 if i < 12 else 1 + i % 5,
                              commit=False)
        factories.make_rating(u, second, rnd, 1 + i % 5, 0 if i < 3 else 1 + i % 5,
                              commit=False)
    db.session.commit()
    with app.test_request_context():
        dash = dashboard.build(rnd)
    by_code = {r["code"].text: r for r in dash.tables["priorities"].rows}
    shown = by_code[first.code]["perf_dont_know"]
    assert not shown.suppressed and shown.values == (round(100 * 12 / 40, 1),)
    hidden = by_code[second.code]["perf_dont_know"]
    assert hidden.suppressed
    assert dash.rows[1].est.cells["performance"][0] is None
