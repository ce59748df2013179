"""Disclosure control for ratings: no hidden cell can be worked out from what a slice
publishes, checked by the portal's auditor and by an independent brute-force attacker."""

from __future__ import annotations

import itertools

from hypothesis import given, settings
from hypothesis import strategies as st

from portal import stats
from portal.disclosure import ratings
from portal.disclosure.audit import Problem, exposed, protected
from portal.reports.estimates import estimate
from portal.reports.queries import Counts

K = 10
A1 = {1: 1, 2: 16, 3: 150, 4: 400, 5: 661, 0: 0, -1: 0}


def _old_publication(hist, digits=3):
    """What the portal used to publish: cells with one complementary cell hidden, the
    mean and its t-interval to three decimals (ratings now get the bounded-scale
    interval; `describe` without bounds is the t-interval)."""
    m = stats.describe(stats.scale_histogram(hist))
    return round(m.mean, digits), round(m.lo, digits), round(m.hi, digits)


def test_the_attack_from_the_issue_worked_on_the_old_publication():
    # Mean 4.321 over 1,228 answers with the shown cells gives back 1 and 16 exactly.
    mean, lo, hi = _old_publication(A1)
    p = Problem()
    for v in A1:
        p.cell(v)
    for v in (3, 4, 5, 0, -1):
        p.fix(v, A1[v])
    p.t_interval({v: v for v in (1, 2, 3, 4, 5)}, 1228, mean, lo, hi, 3)
    assert p.extremes([1, 2]) == {1: (1, 1), 2: (16, 16)}


def test_the_auditor_models_the_bounded_scale_interval_exactly():
    # The same attack on today's interval: the auditor sees it work, so it can refuse it.
    m = stats.mean_from_histogram(A1)
    mean, lo, hi = round(m.mean, 3), round(m.lo, 3), round(m.hi, 3)
    p = Problem()
    for v in A1:
        p.cell(v)
    for v in (3, 4, 5, 0, -1):
        p.fix(v, A1[v])
    p.t_interval({v: v for v in (1, 2, 3, 4, 5)}, 1228, mean, lo, hi, 3,
                 bounds=stats.SCALE_BOUNDS)
    assert p.extremes([1, 2]) == {1: (1, 1), 2: (16, 16)}


def test_scale_sum_sq_bounds_holds_the_true_sum_of_squares():
    from portal.disclosure.audit import scale_sum_sq_bounds
    for hist in ({5: 10}, {3: 25}, {1: 3, 5: 9}, {2: 40, 3: 70, 4: 12}, dict(A1)):
        scale = stats.scale_histogram(hist)
        n = sum(scale.values())
        s1 = sum(v * c for v, c in scale.items())
        s2 = sum(v * v * c for v, c in scale.items())
        m = stats.mean_from_histogram(hist)
        for digits in (1, 2, 3):
            a, b = scale_sum_sq_bounds(n, s1, round(m.lo, digits), round(m.hi, digits),
                                       digits, stats.SCALE_BOUNDS, 25)
            assert a <= s2 <= b


def test_the_decision_for_a1_protects_both_hidden_cells():
    d = ratings.decide(A1, k=K)
    assert d.audited and 1 in d.hidden
    p = Problem()
    keys = ratings.add_facts(p, "r", ratings.published(ratings._as_hist(A1), d))
    assert not exposed(p, [keys[a] for a in d.hidden if 0 < A1[a] < K], K)


def test_a_row_with_nothing_hidden_keeps_full_precision():
    hist = {1: 20, 2: 40, 3: 150, 4: 400, 5: 661, 0: 12, -1: 0}
    d = ratings.decide(hist, k=K)
    assert not d.audited and d.digits == 3 and d.interval and d.shares == {"high", "low"}


def test_estimates_publish_the_rounded_figures_and_a_gap_from_them():
    c = Counts(importance=dict(A1), performance={1: 100, 2: 200, 3: 400, 4: 300, 5: 228},
               gap_n=1228, gap_sum=-1000, gap_sum_sq=3000)
    e = estimate(c)
    d = e.decisions["importance"]
    assert e.imp_mean.mean == round(stats.mean_from_histogram(A1).mean, d.digits)
    assert e.cells["importance"][1] is None and e.cells["importance"][3] == 150
    # The gap is the difference of the two published means, not the paired one.
    assert e.gap.mean == e.perf_mean.mean - e.imp_mean.mean


def test_dont_know_group_is_not_given_away_by_raters_minus_answers():
    hist = {1: 30, 2: 40, 3: 150, 4: 400, 5: 661, 0: 4, -1: 0}
    assert not ratings.rows_publishable(hist, K)
    c = Counts(importance=dict(hist), performance=dict(hist))
    assert not estimate(c).show_rows


# ---------------------------------------------------------------------------
# An independent attacker: enumerate every histogram consistent with what a slice
# publishes, recomputing each published figure with portal.stats.


def _figures(hist: dict[int, int], d: ratings.Decision) -> tuple:
    return repr(sorted(ratings.published(ratings._as_hist(hist), d).items(), key=str))


def _brute_force(hist: dict[int, int], d: ratings.Decision) -> dict[int, tuple[int, int]]:
    pub = ratings.published(ratings._as_hist(hist), d)
    hidden = sorted(d.hidden)
    shown_sum = sum(hist[a] for a in ratings.ANSWERS if a not in d.hidden)
    rows = sum(hist.values())
    seen: dict[int, set[int]] = {a: set() for a in hidden}
    # Every split of the hidden total over the hidden cells (rows is published or,
    # when not, bounded here by the true total plus the threshold).
    totals = [rows - shown_sum] if pub["rows"] is not None else range(rows - shown_sum + K + 1)
    for total in totals:
        for split in itertools.product(range(total + 1), repeat=max(len(hidden) - 1, 0)):
            last = total - sum(split)
            if last < 0:
                continue
            cand = dict(hist)
            for a, v in zip(hidden, (*split, last), strict=True):
                cand[a] = v
            if pub["rows"] is None and sum(cand.values()) != shown_sum + total:
                continue
            trial = ratings.Decision(d.hidden, d.digits, d.interval, d.shares, d.share_digits,
                                     d.audited, d.rows_hidden, d.rows_known, d.n_known)
            if _figures_equal(cand, hist, trial):
                for a in hidden:
                    seen[a].add(cand[a])
    return {a: (min(v), max(v)) for a, v in seen.items() if v}


def _figures_equal(cand, hist, d) -> bool:
    a = ratings.published(ratings._as_hist(cand), d)
    b = ratings.published(ratings._as_hist(hist), d)
    if pub_rows_unknown := b["rows"] is None:
        a = {**a, "rows": None}
    del pub_rows_unknown
    return a == b


small_hist = st.fixed_dictionaries({
    1: st.integers(0, 12), 2: st.integers(0, 15), 3: st.integers(0, 40),
    4: st.integers(5, 60), 5: st.integers(5, 60), 0: st.integers(0, 12), -1: st.just(0)})


@settings(max_examples=30, deadline=None)
@given(small_hist)
def test_no_hidden_cell_leaves_its_protection_interval(hist):
    d = ratings.decide(hist, k=K)
    risky = [a for a in d.hidden if 0 < hist[a] < K]
    if not risky or len(d.hidden) > 3:
        return  # nothing to protect, or too many splits for brute force here
    ranges = _brute_force(hist, d)
    for a in risky:
        assert protected(*ranges[a], K), (hist, d, a, ranges[a])
