"""Tests of independence for cross-tabulations (answer by segment), from counts.

Pearson's chi-square test where every expected count is 5 or more; where one is
smaller the chi-square distribution is not to be trusted, and the test is exact:
Fisher's exact test for a 2x2 table, and for larger tables a Monte Carlo exact test
conditional on the margins (the share of 9,999 random tables with the observed row
and column totals, drawn with Patefield's algorithm by scipy.stats.random_table,
whose chi-square statistic is at least the observed one; as R's
chisq.test(simulate.p.value = TRUE)). The seed is fixed, so a page always shows the
same p for the same table. Rows and columns without any count are left out first.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from scipy import special as _special

MIN_EXPECTED = 5
MC_TABLES = 9_999
MC_SEED = 17

CHI_SQUARE = "chi-square"
FISHER = "Fisher's exact test"
MONTE_CARLO = "Monte Carlo exact test"


@dataclass(frozen=True)
class IndependenceTest:
    method: str
    statistic: float          # Pearson's chi-square of the table
    df: int
    p: float


def independence_test(table: Sequence[Sequence[int]]) -> IndependenceTest | None:
    """Test that the answer does not depend on the column (segment). None when the
    table has fewer than two non-empty rows or columns (nothing to test)."""
    import numpy as np

    arr = np.asarray(table, dtype=np.int64)
    if arr.size == 0:
        return None
    if arr.ndim != 2 or (arr < 0).any():
        raise ValueError("need a table of non-negative counts")
    arr = arr[arr.sum(axis=1) > 0][:, arr.sum(axis=0) > 0]
    if arr.shape[0] < 2 or arr.shape[1] < 2:
        return None
    rows, cols = arr.sum(axis=1), arr.sum(axis=0)
    n = int(arr.sum())
    expected = np.outer(rows, cols) / n

    def chi2(x):
        return ((x - expected) ** 2 / expected).sum(axis=(-2, -1))

    stat = float(chi2(arr))
    df = (arr.shape[0] - 1) * (arr.shape[1] - 1)
    if expected.min() >= MIN_EXPECTED:
        return IndependenceTest(CHI_SQUARE, stat, df, float(_special.chdtrc(df, stat)))
    if arr.shape == (2, 2):
        from scipy.stats import fisher_exact

        p = float(fisher_exact(arr, alternative="two-sided").pvalue)
        return IndependenceTest(FISHER, stat, df, min(1.0, p))
    from scipy.stats import random_table

    sims = random_table(rows, cols, seed=np.random.default_rng(MC_SEED)).rvs(MC_TABLES)
    # Ties within float noise count as "at least as extreme".
    at_least = int((chi2(sims) >= stat - 1e-9 * max(1.0, stat)).sum())
    return IndependenceTest(MONTE_CARLO, stat, df, (1 + at_least) / (MC_TABLES + 1))
