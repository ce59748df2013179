"""portal.stats against scipy computed on the raw rows, edge cases included."""

from __future__ import annotations

import math
import warnings
from collections import Counter

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats as sp

from portal import stats

APPROX = {"rel": 1e-9, "abs": 1e-9}


def rows_from_hist(hist: dict[int, int]) -> np.ndarray:
    return np.repeat(np.array(list(hist), dtype=float), list(hist.values()))


# --- Wilson ------------------------------------------------------------------

@pytest.mark.parametrize("k,n", [(0, 1), (1, 1), (0, 10), (10, 10), (3, 10), (57, 200),
                                 (1, 1000), (999, 1000)])
def test_wilson_matches_scipy(k, n):
    ci = sp.binomtest(k, n).proportion_ci(confidence_level=0.95, method="wilson")
    est = stats.wilson(k, n)
    assert est.p == pytest.approx(k / n)
    assert est.lo == pytest.approx(ci.low, **APPROX)
    assert est.hi == pytest.approx(ci.high, **APPROX)


def test_wilson_without_raters_is_empty_not_a_division_by_zero():
    est = stats.wilson(0, 0)
    assert (est.p, est.lo, est.hi) == (None, None, None)


def test_wilson_refuses_impossible_counts():
    with pytest.raises(ValueError):
        stats.wilson(5, 4)


@given(st.integers(1, 5000).flatmap(lambda n: st.tuples(st.integers(0, n), st.just(n))))
@settings(max_examples=150, deadline=None)
def test_wilson_property(kn):
    k, n = kn
    est = stats.wilson(k, n)
    assert 0.0 <= est.lo <= est.p <= est.hi <= 1.0
    ci = sp.binomtest(k, n).proportion_ci(method="wilson")
    assert est.lo == pytest.approx(ci.low, abs=1e-9)
    assert est.hi == pytest.approx(ci.high, abs=1e-9)


def test_shares_use_only_scale_answers():
    # 0 = don't know and None = not answered are left out of the denominator.
    hist = {0: 7, 1: 2, 2: 3, 3: 5, 4: 6, 5: 4}
    high, low = stats.share_high(hist), stats.share_low(hist)
    assert (high.k, high.n) == (10, 20)
    assert (low.k, low.n) == (5, 20)


# --- Means -------------------------------------------------------------------

hist_strategy = st.dictionaries(st.sampled_from([1, 2, 3, 4, 5]), st.integers(0, 400),
                                min_size=1)


@given(hist_strategy)
@settings(max_examples=150, deadline=None)
def test_mean_from_histogram_matches_scipy_on_rows(hist):
    rows = rows_from_hist(hist)
    est = stats.mean_from_histogram(hist)
    assert est.n == len(rows)
    if len(rows) == 0:
        assert est.mean is None
        return
    assert est.mean == pytest.approx(rows.mean(), **APPROX)
    if len(rows) == 1:
        assert est.sd is None and est.lo is None
        return
    assert est.sd == pytest.approx(rows.std(ddof=1), rel=1e-9, abs=1e-12)
    if rows.std() == 0:
        assert est.lo == est.hi == est.mean
        return
    ci = sp.ttest_1samp(rows, 0).confidence_interval(0.95)
    assert est.lo == pytest.approx(ci.low, **APPROX)
    assert est.hi == pytest.approx(ci.high, **APPROX)


def test_mean_edge_cases():
    assert stats.mean_from_histogram({}).mean is None
    one = stats.mean_from_histogram({4: 1})
    assert (one.n, one.mean, one.sd, one.lo) == (1, 4.0, None, None)
    alike = stats.mean_from_histogram({3: 25})
    assert (alike.mean, alike.sd, alike.lo, alike.hi) == (3.0, 0.0, 3.0, 3.0)


def test_mean_ignores_dont_know():
    assert stats.mean_from_histogram({0: 50, 5: 2}).mean == 5.0


@given(st.lists(st.tuples(st.integers(1, 5), st.integers(1, 5)), min_size=0, max_size=300))
@settings(max_examples=150, deadline=None)
def test_paired_difference_matches_scipy(pairs):
    d = np.array([p - i for i, p in pairs], dtype=float)
    n = len(d)
    est = stats.paired_difference(n, int(d.sum()), int((d * d).sum()))
    if n == 0:
        assert est.mean is None
        return
    assert est.mean == pytest.approx(d.mean(), **APPROX)
    if n < 2:
        assert est.lo is None
        return
    if d.std() == 0:
        assert est.lo == est.hi == est.mean
        return
    imp = np.array([i for i, _ in pairs], dtype=float)
    perf = np.array([p for _, p in pairs], dtype=float)
    res = sp.ttest_rel(perf, imp)
    ci = res.confidence_interval(0.95)
    assert est.lo == pytest.approx(ci.low, **APPROX)
    assert est.hi == pytest.approx(ci.high, **APPROX)


# --- Two-proportion test -------------------------------------------------------

@given(st.integers(1, 3000), st.integers(1, 3000), st.data())
@settings(max_examples=150, deadline=None)
def test_two_proportion_test_matches_chi_square(n1, n2, data):
    k1 = data.draw(st.integers(0, n1))
    k2 = data.draw(st.integers(0, n2))
    z, p = stats.two_proportion_test(k1, n1, k2, n2)
    if k1 + k2 in (0, n1 + n2):
        assert (z, p) == (0.0, 1.0)
        return
    table = np.array([[k1, n1 - k1], [k2, n2 - k2]])
    chi2, p_ref, _, _ = sp.chi2_contingency(table, correction=False)
    assert p == pytest.approx(p_ref, rel=1e-7, abs=1e-12)
    assert z * z == pytest.approx(chi2, rel=1e-7, abs=1e-9)
    assert (z > 0) == (k1 / n1 > k2 / n2) or z == 0


def test_two_proportion_test_with_an_empty_group_is_undefined():
    assert stats.two_proportion_test(0, 0, 3, 10) == (None, None)
    assert stats.proportion_difference(0, 0, 3, 10).p is None


def test_proportion_difference_is_newcombe_from_scipy_wilson_bounds():
    k1, n1, k2, n2 = 56, 70, 48, 80
    w1 = sp.binomtest(k1, n1).proportion_ci(method="wilson")
    w2 = sp.binomtest(k2, n2).proportion_ci(method="wilson")
    p1, p2 = k1 / n1, k2 / n2
    lo = (p1 - p2) - math.sqrt((p1 - w1.low) ** 2 + (w2.high - p2) ** 2)
    hi = (p1 - p2) + math.sqrt((w1.high - p1) ** 2 + (p2 - w2.low) ** 2)
    diff = stats.proportion_difference(k1, n1, k2, n2)
    assert diff.estimate == pytest.approx(p1 - p2)
    assert diff.lo == pytest.approx(lo, **APPROX)
    assert diff.hi == pytest.approx(hi, **APPROX)
    # Newcombe's published example 1 (56/70 vs 48/80): 0.0524 to 0.3339.
    assert diff.lo == pytest.approx(0.0524, abs=5e-4)
    assert diff.hi == pytest.approx(0.3339, abs=5e-4)


# --- Welch ---------------------------------------------------------------------

@given(hist_strategy, hist_strategy)
@settings(max_examples=150, deadline=None)
def test_welch_difference_matches_scipy(h1, h2):
    a_rows, b_rows = rows_from_hist(h1), rows_from_hist(h2)
    a, b = stats.mean_from_histogram(h1), stats.mean_from_histogram(h2)
    diff = stats.welch_difference(a, b)
    if len(a_rows) < 2 or len(b_rows) < 2:
        assert diff.p is None
        return
    assert diff.estimate == pytest.approx(a_rows.mean() - b_rows.mean(), **APPROX)
    if a_rows.std() == 0 and b_rows.std() == 0:
        assert diff.lo == diff.hi == diff.estimate
        assert diff.p == (1.0 if diff.estimate == 0 else 0.0)
        return
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = sp.ttest_ind(a_rows, b_rows, equal_var=False)
        ci = res.confidence_interval(0.95)
    assert diff.p == pytest.approx(res.pvalue, rel=1e-6, abs=1e-12)
    assert diff.lo == pytest.approx(ci.low, rel=1e-7, abs=1e-9)
    assert diff.hi == pytest.approx(ci.high, rel=1e-7, abs=1e-9)


def test_welch_needs_two_values_per_group():
    one = stats.mean_from_histogram({3: 1})
    many = stats.mean_from_histogram({3: 5, 4: 5})
    assert stats.welch_difference(one, many).p is None
    assert stats.welch_difference(stats.mean_from_histogram({}), many).estimate is None


# --- Benjamini-Hochberg -----------------------------------------------------------

@given(st.lists(st.floats(0, 1), min_size=1, max_size=60))
@settings(max_examples=150, deadline=None)
def test_benjamini_hochberg_matches_scipy(ps):
    ours = stats.benjamini_hochberg(ps)
    ref = sp.false_discovery_control(ps, method="bh")
    assert ours == pytest.approx(list(ref), rel=1e-9, abs=1e-12)


def test_benjamini_hochberg_skips_missing_tests():
    ours = stats.benjamini_hochberg([0.01, None, 0.04, 0.03])
    ref = sp.false_discovery_control([0.01, 0.04, 0.03], method="bh")
    assert ours[1] is None
    assert [ours[0], ours[2], ours[3]] == pytest.approx(list(ref))
    assert stats.benjamini_hochberg([]) == []


# --- Quadrants -------------------------------------------------------------------

def test_quadrants_around_the_crosshairs():
    assert stats.quadrant(4.5, 2.0, 4.0, 3.0) == stats.CONCENTRATE
    assert stats.quadrant(4.5, 3.5, 4.0, 3.0) == stats.KEEP_UP
    assert stats.quadrant(3.5, 2.5, 4.0, 3.0) == stats.LOW_PRIORITY
    assert stats.quadrant(3.5, 3.5, 4.0, 3.0) == stats.OVERKILL
    assert stats.quadrant(None, 3.5, 4.0, 3.0) is None
    assert stats.grand_mean([1.0, None, 3.0]) == 2.0
    assert stats.grand_mean([None]) is None


# --- Any numeric values (survey answers): describe, net promoter, ranks -----------


@settings(max_examples=80, deadline=None)
@given(st.lists(st.integers(min_value=0, max_value=10), min_size=2, max_size=300))
def test_describe_matches_scipy(values):
    d = stats.describe(Counter(values))
    arr = np.array(values, dtype=float)
    assert d.n == len(values)
    assert d.mean == pytest.approx(arr.mean())
    assert d.median == pytest.approx(float(np.median(arr)))
    assert d.sd == pytest.approx(arr.std(ddof=1), abs=1e-9)
    if arr.std(ddof=1) > 0:
        low, high = sp.t.interval(0.95, len(arr) - 1, loc=arr.mean(),
                                           scale=sp.sem(arr))
        assert d.lo == pytest.approx(low)
        assert d.hi == pytest.approx(high)


@settings(max_examples=50, deadline=None)
@given(st.lists(st.floats(min_value=-1000, max_value=1000, allow_nan=False), min_size=1,
                max_size=100))
def test_describe_on_decimal_numbers(values):
    d = stats.describe(Counter(values))
    assert d.mean == pytest.approx(float(np.mean(values)), abs=1e-6)
    assert d.median == pytest.approx(float(np.median(values)), abs=1e-6)


def test_describe_edge_cases():
    assert stats.describe({}).n == 0 and stats.describe({}).mean is None
    one = stats.describe({4: 1})
    assert one.mean == 4 and one.sd is None and one.lo is None
    assert stats.describe({3: 0, 5: 2}).n == 2


@given(st.lists(st.integers(min_value=0, max_value=10), min_size=1, max_size=200))
def test_net_promoter_score(values):
    nps = stats.net_promoter(Counter(values))
    arr = np.array(values)
    expected = 100 * ((arr >= 9).mean() - (arr <= 6).mean())
    assert nps.score == pytest.approx(expected)
    assert nps.promoters + nps.passives + nps.detractors == len(values)


def test_rank_summary():
    # Ranks given to one option by 10 respondents (3 did not rank it among 13).
    ranks = [1, 1, 2, 3, 1, 2, 2, 1, 3, 1]
    rs = stats.rank_summary(Counter(ranks), respondents=13)
    assert rs.times_ranked == 10 and rs.ranked_first == 5
    assert rs.mean_rank == pytest.approx(np.mean(ranks))
    assert rs.share_first == pytest.approx(5 / 13)
    assert stats.rank_summary({}, 0).mean_rank is None


def test_describe_keeps_precision_for_decimals_far_from_zero():
    values = [100000.1, 100000.2, 100000.3, 100000.2]
    d = stats.describe(Counter(values))
    assert d.sd == pytest.approx(float(np.std(values, ddof=1)), rel=1e-6)


@settings(max_examples=50, deadline=None)
@given(st.dictionaries(st.sampled_from([0, 1, 2, 3, 4, 5]), st.integers(0, 40), min_size=1))
def test_mean_from_histogram_is_describe_of_the_scale_answers(hist):
    m = stats.mean_from_histogram(hist)
    rows = rows_from_hist({v: c for v, c in hist.items() if v})
    assert m.n == len(rows)
    if len(rows):
        assert m.mean == pytest.approx(rows.mean(), **APPROX)
        assert m.median == pytest.approx(float(np.median(rows)))
    else:
        assert m.mean is None and m.median is None
