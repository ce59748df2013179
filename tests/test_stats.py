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

def bounded_reference(rows: np.ndarray, low: float, high: float,
                      confidence: float = 0.95, steps: float | None = None
                      ) -> tuple[float, float]:
    """The bounded-scale interval computed independently from raw rows: numpy for the
    scaled mean and variance, scipy's t quantile, and the score equation
    (p - P)^2 = c^2 phi P (1 - P) / n solved by scipy's root finder on each side."""
    from scipy.optimize import brentq

    n = len(rows)
    y = (rows - low) / (high - low)
    p = float(y.mean())
    var = float(y.var(ddof=1))
    floor = 1 / (steps or (high - low))
    phi = floor if p in (0.0, 1.0) else max(floor, var / (p * (1 - p)))
    c = float(sp.t.ppf(0.5 + confidence / 2, n - 1))

    def score(q: float) -> float:
        return (p - q) ** 2 - c * c * phi * q * (1 - q) / n

    # The roots other than p itself (a root of its own when p is 0 or 1).
    eps = 1e-12
    lo = 0.0 if p == 0 else brentq(score, 0.0, p - eps, xtol=1e-15)
    hi = 1.0 if p == 1 else brentq(score, p + eps, 1.0, xtol=1e-15)
    return low + (high - low) * lo, low + (high - low) * hi


@pytest.mark.parametrize("hist", [{5: 10}, {1: 10}, {3: 25}, {5: 1, 4: 1}, {1: 1, 5: 1},
                                  {4: 3, 5: 11}, {1: 300, 2: 200, 3: 100, 4: 250, 5: 150}])
def test_bounded_interval_edge_cases_match_the_reference(hist):
    est = stats.mean_from_histogram(hist)
    lo, hi = bounded_reference(rows_from_hist(hist), 1, 5)
    assert (est.lo, est.hi) == (pytest.approx(lo, abs=1e-9), pytest.approx(hi, abs=1e-9))
    assert 1 <= est.lo < est.hi <= 5


def test_ten_identical_fives_are_not_certainty():
    est = stats.mean_from_histogram({5: 10})
    assert est.mean == 5.0 and est.hi == 5.0
    assert est.lo == pytest.approx(4.546, abs=1e-3)   # was "5.00 to 5.00"


def test_a_high_mean_no_longer_runs_past_the_scale():
    # The t-interval of 4, 4, 4, 5 x 11 reaches past 5; the bounded one does not.
    rows = rows_from_hist({4: 3, 5: 11})
    t_hi = sp.ttest_1samp(rows, 0).confidence_interval(0.95).high
    assert t_hi > 5 - 0.03
    assert stats.mean_from_histogram({4: 3, 5: 11}).hi < 5


def test_bounded_interval_is_the_t_interval_for_large_spread_samples():
    hist = {1: 1000, 2: 2000, 3: 3000, 4: 3000, 5: 1000}
    est = stats.mean_from_histogram(hist)
    ci = sp.ttest_1samp(rows_from_hist(hist), 0).confidence_interval(0.95)
    assert est.lo == pytest.approx(ci.low, abs=1e-3)
    assert est.hi == pytest.approx(ci.high, abs=1e-3)


@pytest.mark.parametrize("hist", [{3: 10, 4: 20, 5: 30}, {1: 4, 5: 3}, {2: 50, 3: 50},
                                  {5: 12}])
def test_sd_from_a_published_interval_gives_back_the_spread_it_stands_for(hist):
    m = stats.mean_from_histogram(hist)
    sd = stats.sd_from_interval(m.n, m.mean, m.lo, m.hi, 1, 5)
    floor_sd = math.sqrt(4 * ((m.mean - 1) / 4) * (1 - (m.mean - 1) / 4))
    assert sd == pytest.approx(max(m.sd, floor_sd), rel=1e-6, abs=1e-9)


def test_bounded_interval_refuses_an_empty_scale():
    with pytest.raises(ValueError):
        stats.scale_interval(5, 3.0, 1.0, 5, 5)
    assert stats.scale_interval(1, 3.0, 0.0, 1, 5) is None

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
    # The interval respects the 1..5 scale (portal.stats.bounded), not the t-interval
    # it replaced: checked against the score equation solved by scipy on the rows.
    lo, hi = bounded_reference(rows, 1, 5)
    assert est.lo == pytest.approx(lo, rel=1e-7, abs=1e-7)
    assert est.hi == pytest.approx(hi, rel=1e-7, abs=1e-7)
    assert 1 <= est.lo <= est.mean <= est.hi <= 5
    assert est.hi > est.lo


def test_mean_edge_cases():
    assert stats.mean_from_histogram({}).mean is None
    one = stats.mean_from_histogram({4: 1})
    assert (one.n, one.mean, one.sd, one.lo) == (1, 4.0, None, None)
    # Every answer the same: an interval with width, inside the scale (it was 3 to 3).
    alike = stats.mean_from_histogram({3: 25})
    assert (alike.mean, alike.sd) == (3.0, 0.0)
    assert alike.lo == pytest.approx(2.5957, abs=1e-4)
    assert alike.hi == pytest.approx(3.4043, abs=1e-4)


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
    # Paired: one difference per member, on the -4..4 scale of such differences.
    lo, hi = bounded_reference(d, -4, 4, steps=16)
    assert est.lo == pytest.approx(lo, rel=1e-7, abs=1e-7)
    assert est.hi == pytest.approx(hi, rel=1e-7, abs=1e-7)
    assert -4 <= est.lo <= est.mean <= est.hi <= 4 and est.hi > est.lo
    if d.std() > 0 and n >= 200 and 0.1 < (d.mean() + 4) / 8 < 0.9 and \
            d.var(ddof=1) / 64 >= ((d.mean() + 4) / 8) * (1 - (d.mean() + 4) / 8) / 16:
        # Without the floor binding, large samples agree with the paired t-interval.
        imp = np.array([i for i, _ in pairs], dtype=float)
        perf = np.array([p for _, p in pairs], dtype=float)
        ci = sp.ttest_rel(perf, imp).confidence_interval(0.95)
        half = (ci.high - ci.low) / 2
        assert est.lo == pytest.approx(ci.low, abs=0.05 * half)
        assert est.hi == pytest.approx(ci.high, abs=0.05 * half)


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
        # Without the scale, two samples without spread cannot be tested; p is never
        # 0 (it was 0 when the means differed: "beyond chance" from twenty people).
        if diff.estimate == 0:
            assert diff.p == 1.0
        else:
            assert diff.p is None and diff.lo is None
        return
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = sp.ttest_ind(a_rows, b_rows, equal_var=False)
        ci = res.confidence_interval(0.95)
    assert diff.p == pytest.approx(res.pvalue, rel=1e-6, abs=1e-12)
    assert diff.lo == pytest.approx(ci.low, rel=1e-7, abs=1e-9)
    assert diff.hi == pytest.approx(ci.high, rel=1e-7, abs=1e-9)


def _welch_reference(a_rows: np.ndarray, b_rows: np.ndarray, low: float, high: float):
    """Welch on the rows with each variance floored at the pooled-mean floor of the
    bounded-scale method, computed with scipy from the rows' summaries."""
    pooled = (np.concatenate([a_rows, b_rows]).mean() - low) / (high - low)
    floor = (high - low) * pooled * (1 - pooled)
    va, vb = max(a_rows.var(ddof=1), floor), max(b_rows.var(ddof=1), floor)
    return sp.ttest_ind_from_stats(a_rows.mean(), math.sqrt(va), len(a_rows), b_rows.mean(),
                                   math.sqrt(vb), len(b_rows), equal_var=False)


@given(hist_strategy, hist_strategy)
@settings(max_examples=100, deadline=None)
def test_welch_on_the_rating_scale_matches_scipy_with_the_floor(h1, h2):
    a_rows, b_rows = rows_from_hist(h1), rows_from_hist(h2)
    a, b = stats.mean_from_histogram(h1), stats.mean_from_histogram(h2)
    diff = stats.welch_difference(a, b, bounds=(1, 5))
    if len(a_rows) < 2 or len(b_rows) < 2:
        assert diff.p is None
        return
    if diff.statistic is None:  # both at the same end of the scale
        assert a_rows.mean() == b_rows.mean() and diff.p == 1.0
        return
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = _welch_reference(a_rows, b_rows, 1, 5)
    assert diff.p == pytest.approx(res.pvalue, rel=1e-6, abs=1e-12)
    assert diff.p > 0
    assert -4 <= diff.lo <= diff.estimate <= diff.hi <= 4


def test_identical_raters_against_identical_raters_are_not_beyond_chance():
    fives = stats.mean_from_histogram({5: 10})
    same = stats.welch_difference(fives, stats.mean_from_histogram({5: 10}), bounds=(1, 5))
    assert same.p == 1.0 and not same.beyond_chance()
    threes = stats.mean_from_histogram({3: 10})
    also = stats.welch_difference(threes, stats.mean_from_histogram({3: 10}), bounds=(1, 5))
    assert also.p == pytest.approx(1.0) and not also.beyond_chance()
    # Ten 5s against ten 4s: a real difference, yet not a certainty (was p = 0).
    apart = stats.welch_difference(fives, stats.mean_from_histogram({4: 10}), bounds=(1, 5))
    assert 0 < apart.p < 0.05
    assert stats.welch_difference(fives, stats.mean_from_histogram({4: 10})).p is None


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
    assert m == stats.describe({v: c for v, c in hist.items() if v}, bounds=(1, 5))
    rows = rows_from_hist({v: c for v, c in hist.items() if v})
    assert m.n == len(rows)
    if len(rows):
        assert m.mean == pytest.approx(rows.mean(), **APPROX)
        assert m.median == pytest.approx(float(np.median(rows)))
    else:
        assert m.mean is None and m.median is None


# --- Net promoter score interval ------------------------------------------------

def _nps_reference(rows: np.ndarray) -> tuple[float, float, float]:
    """Rocks' (2016) adjusted Wald from raw 0-10 answers: n + 3, 3/4 added to promoters
    and detractors, SE sqrt((p+ + p- - (p+ - p-)^2) / n), with scipy's normal quantile."""
    n = len(rows)
    pro, det = float((rows >= 9).sum()), float((rows <= 6).sum())
    m = n + 3
    pp, pd = (pro + 0.75) / m, (det + 0.75) / m
    se = math.sqrt((pp + pd - (pp - pd) ** 2) / m)
    z = float(sp.norm.ppf(0.975))
    score = (pro - det) / n
    lo = max(-1.0, min(score, pp - pd - z * se))
    hi = min(1.0, max(score, pp - pd + z * se))
    return 100 * score, 100 * lo, 100 * hi


@given(st.lists(st.integers(0, 10), min_size=1, max_size=400))
@settings(max_examples=100, deadline=None)
def test_nps_interval_matches_the_reference_on_rows(values):
    rows = np.array(values)
    nps = stats.net_promoter(Counter(values))
    iv = stats.nps_interval(nps.promoters, nps.detractors, nps.n)
    ref = _nps_reference(rows)
    assert (iv.score, iv.lo, iv.hi) == tuple(pytest.approx(x, abs=1e-9) for x in ref)
    assert -100 <= iv.lo <= iv.score <= iv.hi <= 100


@pytest.mark.parametrize("values", [[10] * 10, [0] * 10, [8] * 10, [9], [3]])
def test_nps_interval_has_width_when_everyone_answers_alike(values):
    nps = stats.net_promoter(Counter(values))
    iv = stats.nps_interval(nps.promoters, nps.detractors, nps.n)
    assert iv.hi - iv.lo > 10
    assert -100 <= iv.lo <= iv.score <= iv.hi <= 100


def test_nps_interval_edge_cases():
    assert stats.nps_interval(0, 0, 0) == stats.NpsInterval(None, None, None)
    with pytest.raises(ValueError):
        stats.nps_interval(6, 5, 10)


@pytest.mark.parametrize("values", [[], [3], [5] * 10, [1, 2, 3, 4, 5] * 2])
def test_describe_with_bounds_at_the_edge_sizes(values):
    d = stats.describe(Counter(values), bounds=(1, 5))
    assert d.n == len(values)
    if len(values) < 2:
        assert d.lo is None
        return
    lo, hi = bounded_reference(np.array(values, dtype=float), 1, 5)
    assert (d.lo, d.hi) == (pytest.approx(lo, abs=1e-9), pytest.approx(hi, abs=1e-9))


@given(st.lists(st.permutations(["a", "b", "c", "d"]).map(lambda p: p[:3]), max_size=60),
       st.integers(0, 5))
@settings(max_examples=60, deadline=None)
def test_borda_points_match_a_count_on_raw_rankings(rankings, blanks):
    """Top-3 rankings of four options, plus respondents who ranked nothing."""
    n = len(rankings) + blanks
    for option in "abcd":
        hist = Counter(r.index(option) + 1 for r in rankings if option in r)
        got = stats.borda_points(hist, n, 3)
        if n == 0:
            assert got is None
            continue
        points = np.array([3 - r.index(option) if option in r else 0 for r in rankings]
                          + [0] * blanks, dtype=float)
        assert got == pytest.approx(points.mean())


# --- Cross-tab test of independence ----------------------------------------------

def _exact_2xc_p(table: list[list[int]]) -> float:
    """Exact conditional p of a 2 x c table by enumerating every table with its
    margins (multivariate hypergeometric probabilities), ordered by chi-square."""
    import itertools as it

    rows = [sum(r) for r in table]
    cols = [sum(c) for c in zip(*table, strict=True)]
    n = sum(rows)

    def chi2(t):
        return sum((t[i][j] - rows[i] * cols[j] / n) ** 2 / (rows[i] * cols[j] / n)
                   for i in range(2) for j in range(len(cols)))

    def prob(t):
        num = math.prod(math.factorial(x) for x in rows + cols)
        return num / (math.factorial(n) * math.prod(math.factorial(x) for r in t for x in r))

    observed = chi2(table)
    total = 0.0
    for first in it.product(*(range(c + 1) for c in cols)):
        if sum(first) != rows[0]:
            continue
        t = [list(first), [c - f for c, f in zip(cols, first, strict=True)]]
        if chi2(t) >= observed - 1e-9:
            total += prob(t)
    return total


def test_chi_square_where_expected_counts_are_large_matches_scipy():
    table = [[40, 22, 31], [25, 30, 28], [12, 18, 25]]
    res = stats.independence_test(table)
    ref = sp.chi2_contingency(np.array(table), correction=False)
    assert res.method == "chi-square" and res.df == ref.dof
    assert (res.statistic, res.p) == (pytest.approx(ref.statistic), pytest.approx(ref.pvalue))


def test_fisher_exact_for_a_small_2x2():
    table = [[1, 9], [8, 2]]
    res = stats.independence_test(table)
    assert res.method == "Fisher's exact test"
    assert res.p == pytest.approx(sp.fisher_exact(table).pvalue)


@pytest.mark.parametrize("table", [[[3, 1, 4], [1, 5, 2]], [[6, 0, 2], [1, 4, 3]],
                                   [[2, 2, 2], [2, 2, 2]]])
def test_monte_carlo_exact_test_agrees_with_full_enumeration(table):
    res = stats.independence_test(table)
    assert res.method == "Monte Carlo exact test"
    exact = _exact_2xc_p(table)
    se = math.sqrt(max(exact * (1 - exact), 1e-4) / stats.crosstab.MC_TABLES)
    assert abs(res.p - exact) <= 4 * se + 1e-4
    assert 0 < res.p <= 1
    assert stats.independence_test(table) == res   # same table, same p


def test_independence_test_edge_cases():
    assert stats.independence_test([]) is None
    assert stats.independence_test([[5, 7, 9]]) is None            # one answer
    assert stats.independence_test([[10], [12]]) is None           # one group
    # Every group answers alike: nothing to test, never "p = 0".
    assert stats.independence_test([[10, 10], [0, 0]]) is None
    # Empty rows and columns are dropped before testing.
    assert stats.independence_test([[40, 0, 22], [0, 0, 0], [25, 0, 30]]) == \
        stats.independence_test([[40, 22], [25, 30]])
    with pytest.raises(ValueError):
        stats.independence_test([[1, -1], [2, 3]])


def test_a_gap_of_members_answering_alike_has_width_but_not_the_8_trial_floor():
    # 24 members whose performance equals their importance: gap 0, no spread.
    est = stats.paired_difference(24, 0, 0)
    assert est.mean == 0.0 and est.lo == pytest.approx(-est.hi)
    assert 0.3 < est.hi < 0.5
    # Typical paired spread (sd ~1.1 around -1.3) is not floored: the paired t-interval.
    rng = np.random.default_rng(3)
    imp = rng.choice([4, 5], size=400, p=[0.4, 0.6])
    perf = imp - rng.choice([0, 1, 2, 3], size=400, p=[0.3, 0.3, 0.2, 0.2])
    d = perf - imp
    est = stats.paired_difference(len(d), int(d.sum()), int((d * d).sum()))
    ci = sp.ttest_rel(perf, imp).confidence_interval(0.95)
    assert (est.lo, est.hi) == (pytest.approx(ci.low, abs=0.01), pytest.approx(ci.high, abs=0.01))
