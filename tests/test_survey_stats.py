"""Survey statistics from count histograms agree with scipy and numpy on the raw data."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats as scipy_stats

from portal.survey_results import stats


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
        low, high = scipy_stats.t.interval(0.95, len(arr) - 1, loc=arr.mean(),
                                           scale=scipy_stats.sem(arr))
        assert d.ci_low == pytest.approx(low)
        assert d.ci_high == pytest.approx(high)


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
    assert one.mean == 4 and one.sd is None and one.ci_low is None
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
