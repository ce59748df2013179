"""Priority labels from intervals, the ranking by gap, number formatting and the
exact test for small groups (issue 16, points 2, 3 and 9)."""

from __future__ import annotations

import math

import pytest
import scipy.stats as sp
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from portal import numfmt, stats
from portal.reports import labels
from portal.reports.estimates import estimate
from portal.reports.queries import Counts


def _counts(pairs: list[tuple[int, int]]) -> Counts:
    imp: dict[int, int] = {}
    perf: dict[int, int] = {}
    for i, p in pairs:
        imp[i] = imp.get(i, 0) + 1
        perf[p] = perf.get(p, 0) + 1
    diffs = [p - i for i, p in pairs]
    return Counts(imp, perf, len(diffs), sum(diffs), sum(d * d for d in diffs))


class _Row:
    def __init__(self, est, label):
        self.est, self.quadrant = est, label


pairs = st.lists(st.tuples(st.integers(1, 5), st.integers(1, 5)), min_size=10, max_size=400)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(pairs, min_size=2, max_size=6), st.sampled_from([labels.MIDPOINT,
                                                                  labels.AVERAGE]))
def test_labels_and_gap_ranking_agree_over_random_data(objectives, kind):
    ests = [estimate(_counts(p)) for p in objectives]
    ref = labels.reference(kind, ests)
    rows = [_Row(e, labels.classify(e, ref)) for e in ests]
    for r in rows:
        e, label = r.est, r.quadrant
        if label is None:
            continue
        clearly_short = e.gap.hi is not None and e.gap.hi < 0
        if clearly_short:
            assert label == stats.CONCENTRATE
        if label in (stats.KEEP_UP, stats.LOW_PRIORITY, stats.OVERKILL):
            assert not clearly_short
            # Both intervals are clear of the reference on the label's side.
            assert e.imp_mean.lo is not None and e.perf_mean.lo is not None
            above_i = e.imp_mean.lo > ref.importance
            above_p = e.perf_mean.lo > ref.performance
            below_i = e.imp_mean.hi < ref.importance
            below_p = e.perf_mean.hi < ref.performance
            assert {stats.KEEP_UP: above_i and above_p,
                    stats.LOW_PRIORITY: below_i and below_p,
                    stats.OVERKILL: below_i and above_p}[label]
        if label == stats.CONCENTRATE and not clearly_short:
            assert e.imp_mean.lo > ref.importance and e.perf_mean.hi < ref.performance
    ranked = labels.shortfalls(rows)
    assert all(r.quadrant == stats.CONCENTRATE for r in ranked)
    assert [r.est.gap.mean for r in ranked] == sorted(r.est.gap.mean for r in ranked)
    # Every objective clearly short of its importance is in the ranking.
    assert len(ranked) == sum(1 for r in rows if r.est.gap.hi is not None and r.est.gap.hi < 0)


def test_high_importance_with_clear_shortfall_is_never_keep_up():
    # Like E2 in the issue: 86% important, 43% doing well, both above the midpoint.
    pairs_ = [(5, 3)] * 60 + [(4, 4)] * 40 + [(4, 3)] * 30 + [(3, 4)] * 10
    e = estimate(_counts(pairs_))
    assert e.perf_mean.lo > 3 and e.gap.hi < 0
    ref = labels.reference(labels.MIDPOINT, [e])
    assert labels.classify(e, ref) == stats.CONCENTRATE


def test_a_hair_from_the_reference_is_not_clearly_different():
    # Like D5: the mean sits a hair below the crosshair; its interval spans it.
    pairs_ = [(3, 3)] * 20 + [(2, 4)] * 20 + [(4, 2)] * 19 + [(3, 4)]
    e = estimate(_counts(pairs_))
    ref = labels.Reference(labels.AVERAGE, e.imp_mean.mean + 0.005, 3.0)
    assert labels.classify(e, ref) == labels.NOT_CLEAR
    assert labels.reference(labels.MIDPOINT, [e]).text == "the scale midpoint (3)"


def test_no_label_without_published_means():
    e = estimate(_counts([(4, 4)] * 3))
    assert labels.classify(e, labels.reference(labels.MIDPOINT, [e])) is None


@pytest.mark.parametrize("text, name", [
    ("End operating deficit spending, adhere to clear/realistic/reality sized budgeting "
     "practices.", "End operating deficit spending"),
    ('3. Advance the "Our ALA" model.', 'Advance the "Our ALA" model'),
    ("Implement consistent onboarding, training and leadership development programs",
     "Implement consistent onboarding, training and…"),
    ("Develop a unified, proactive advocacy strategy centered on ALA's values of access",
     "Develop a unified, proactive advocacy strategy…"),
])
def test_short_names(text, name):
    assert labels.short_name(text) == name
    assert len(labels.short_name(text)) <= 49


# ---------------------------------------------------------------------------
# Number formatting (point 9)


@pytest.mark.parametrize("value, digits, text", [
    (-0.001, 2, "0.00"), (0.004, 2, "0.00"), (-0.0, 2, "0.00"), (0.0, 0, "0"),
    (-1.194, 2, "-1.19"), (0.42, 2, "+0.42"), (-0.4, 0, "0"), (2.5, 1, "+2.5"),
])
def test_signed_has_no_signed_zero(value, digits, text):
    assert numfmt.signed(value, digits) == text


@pytest.mark.parametrize("value, text", [(-0.001, "0.00"), (-0.0, "0.00"), (3.456, "3.46")])
def test_number_has_no_negative_zero(value, text):
    assert numfmt.number(value) == text


def test_percent_points_counts_and_pvalues():
    assert numfmt.percent(-0.001) == "0%" and numfmt.percent(0.8049) == "80%"
    assert numfmt.points(-0.004) == "0 pts" and numfmt.points(0.12) == "+12 pts"
    assert numfmt.count(50000) == "50,000" and numfmt.count(None) == "–"
    assert numfmt.pvalue(0.0) == "p < 0.001"
    assert numfmt.pvalue(0.00049, "adjusted p") == "adjusted p < 0.001"
    assert numfmt.pvalue(0.0123) == "p = 0.012"
    assert numfmt.pvalue(None) == "p not available"
    assert numfmt.interval(-0.001, 0.3, 2, sign=True) == "0.00 to +0.30"
    assert numfmt.percent_interval(0.551, 0.68) == "55–68%"


@given(st.floats(-10, 10, allow_nan=False), st.integers(0, 3))
def test_no_format_ever_writes_a_signed_zero(x, digits):
    for text in (numfmt.signed(x, digits), numfmt.number(x, digits)):
        if set(text.lstrip("+-")) <= {"0", "."}:
            assert text[0] not in "+-", text


# ---------------------------------------------------------------------------
# The test between a segment and the rest (point 3)


def test_exact_test_where_an_expected_count_is_under_five():
    kind, p = stats.share_test(8, 9, 40, 100)      # 9 x 48 / 109 = 3.96 expected
    assert kind == "exact"
    assert p == pytest.approx(sp.fisher_exact([[8, 1], [40, 60]]).pvalue)


def test_z_test_where_every_expected_count_is_five_or_more():
    kind, p = stats.share_test(60, 100, 45, 100)
    assert kind == "z"
    table = [[60, 40], [45, 55]]
    chi2 = sp.chi2_contingency(table, correction=False)
    assert p == pytest.approx(chi2.pvalue)
    assert stats.share_test(0, 0, 5, 10) == ("z", None)
    assert not math.isnan(stats.share_test(10, 10, 10, 10)[1])
