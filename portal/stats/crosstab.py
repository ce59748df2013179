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

import math
from collections.abc import Sequence
from dataclasses import dataclass

from scipy import special as _special

from portal.stats.ztest import two_proportion_test

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


# Cell by cell: which groups differ, and where the table departs from independence.

LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
CELL_ALPHA = 0.05


def adjusted_residuals(table: Sequence[Sequence[int]]) -> list[list[float | None]]:
    """Haberman's adjusted residual of every cell, (o - e) / sqrt(e (1 - r/N) (1 - c/N))
    with e = r c / N (r, c the cell's row and column totals): about standard normal
    under independence, so beyond ±1.96 a cell holds clearly more (or fewer) answers
    than independence would give. None where the row or column is empty.
    Haberman (1973), Biometrics 29."""
    rows = [sum(r) for r in table]
    cols = [sum(c) for c in zip(*table, strict=True)] if table else []
    n = sum(rows)
    out: list[list[float | None]] = []
    for i, row in enumerate(table):
        line: list[float | None] = []
        for j, o in enumerate(row):
            e = rows[i] * cols[j] / n if n else 0.0
            var = e * (1 - rows[i] / n) * (1 - cols[j] / n) if n else 0.0
            line.append((o - e) / math.sqrt(var) if var > 0 else None)
        out.append(line)
    return out


def column_letters(table: Sequence[Sequence[int]], alpha: float = CELL_ALPHA
                   ) -> list[list[str]]:
    """Column-proportion letters, as analysts' tools print them: columns are named A,
    B, C ...; in each row every pair of columns' shares (cell / column total) is
    compared with the pooled two-proportion z test, Bonferroni-corrected over the
    row's pairs, and a cell gets the letter of each column whose share it clearly
    exceeds. Empty columns take part in no comparison."""
    cols = [sum(c) for c in zip(*table, strict=True)] if table else []
    live = [j for j, c in enumerate(cols) if c > 0]
    pairs = [(a, b) for pos, a in enumerate(live) for b in live[pos + 1:]]
    out = [["" for _ in row] for row in table]
    for i, row in enumerate(table):
        for a, b in pairs:
            p = two_proportion_test(row[a], cols[a], row[b], cols[b])[1]
            if p is None or p * len(pairs) >= alpha:
                continue
            high, low = (a, b) if row[a] / cols[a] > row[b] / cols[b] else (b, a)
            out[i][high] += LETTERS[low % len(LETTERS)]
    for line in out:
        for j, letters in enumerate(line):
            line[j] = "".join(sorted(letters))
    return out
