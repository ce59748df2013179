"""Rank ranges: which objectives are clearly above which (Holm-corrected pairwise tests)."""

from __future__ import annotations

import itertools

from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.stats import chi2_contingency

from portal import stats
from portal.numfmt import ordinal, rank_range


def test_holm_matches_the_textbook_values():
    # R: p.adjust(c(0.01, 0.02, 0.03, 0.04, 0.05), "holm")
    assert [round(q, 10) for q in stats.holm([0.01, 0.02, 0.03, 0.04, 0.05])] == \
        [0.05, 0.08, 0.09, 0.09, 0.09]
    assert stats.holm([0.04, None, 0.01]) == [0.04, None, 0.02]
    assert stats.holm([0.6, 0.9]) == [1.0, 1.0]


def test_clearly_separated_shares_get_single_ranks():
    assert stats.rank_ranges([(900, 1000), (500, 1000), (100, 1000)]) == [(1, 1), (2, 2), (3, 3)]


def test_close_shares_share_their_ranks_and_unranked_ones_stay_out():
    ranges = stats.rank_ranges([(500, 1000), None, (505, 1000), (100, 1000), (3, 0)])
    assert ranges == [(1, 2), None, (1, 2), (3, 3), None]


def test_small_groups_settle_little():
    # 9 of 10 against 5 of 10 and 6 of 10: no pair survives the correction.
    assert stats.rank_ranges([(9, 10), (5, 10), (6, 10)]) == [(1, 3)] * 3


def _reference(shares, alpha=0.05):
    """Brute force: every pair's chi-square p (no continuity correction), Holm by its
    definition, then count clear wins and losses."""
    idx = [i for i, s in enumerate(shares) if s is not None]
    pairs = list(itertools.combinations(idx, 2))
    ps = []
    for a, b in pairs:
        (ka, na), (kb, nb) = shares[a], shares[b]
        table = [[ka, na - ka], [kb, nb - kb]]
        if min(ka + kb, na + nb - ka - kb) == 0:
            ps.append(1.0)
        else:
            ps.append(chi2_contingency(table, correction=False).pvalue)
    order = sorted(range(len(ps)), key=lambda i: ps[i])
    m = len(ps)
    adjusted = [0.0] * m
    for pos, i in enumerate(order):
        adjusted[i] = min(1.0, max((m - j) * ps[order[j]] for j in range(pos + 1)))
    above = dict.fromkeys(idx, 0)
    below = dict.fromkeys(idx, 0)
    for (a, b), q in zip(pairs, adjusted, strict=True):
        if q < alpha:
            hi, lo = (a, b) if shares[a][0] / shares[a][1] > shares[b][0] / shares[b][1] else (b, a)
            above[lo] += 1
            below[hi] += 1
    return [(1 + above[i], len(idx) - below[i]) if i in above else None
            for i in range(len(shares))]


@settings(max_examples=60, deadline=None)
@given(st.lists(st.one_of(st.none(), st.integers(20, 400).flatmap(
    lambda n: st.tuples(st.integers(0, n), st.just(n)))), min_size=1, max_size=8))
def test_ranges_agree_with_scipy_and_contain_the_point_rank(shares):
    ranges = stats.rank_ranges(shares)
    assert ranges == _reference(shares)
    known = [i for i, s in enumerate(shares) if s is not None]
    for i in known:
        best, worst = ranges[i]
        assert 1 <= best <= worst <= len(known)
        p = shares[i][0] / shares[i][1]
        strictly_higher = sum(1 for j in known if shares[j][0] / shares[j][1] > p)
        ties = sum(1 for j in known if shares[j][0] / shares[j][1] == p) - 1
        # Every place it could take in the point ranking (ties in any order) is in range.
        assert best <= strictly_higher + 1 and strictly_higher + 1 + ties <= worst


def test_ordinals_and_ranges_read_well():
    assert [ordinal(n) for n in (1, 2, 3, 4, 11, 12, 13, 21, 22, 102, 111)] == \
        ["1st", "2nd", "3rd", "4th", "11th", "12th", "13th", "21st", "22nd", "102nd", "111th"]
    assert rank_range(1, 1) == "1st" and rank_range(1, 3) == "1st–3rd"
