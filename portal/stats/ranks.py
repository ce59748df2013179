"""Which objectives are clearly above which: rank ranges from pairwise tests.

A ranking by point estimates says "1st" where the data may only say "one of the top
three". Each pair of shares is compared with the pooled two-proportion z test, and
the whole family of K(K-1)/2 comparisons is corrected with Holm's step-down method,
so the chance of calling even one pair wrongly is at most alpha. Objective i is
"clearly above" j when its share is higher and the adjusted p is below alpha. Its
rank range is then

    best  = 1 + the number of objectives clearly above it,
    worst = K - the number of objectives it is clearly above,

the ranks (1 = highest share) it could hold in an order that respects every clear
comparison. The same members rate every objective and their answers are positively
correlated, so treating the shares as independent overstates the variance of each
difference: the ranges are conservative (too wide rather than too narrow).

Holm (1979), "A simple sequentially rejective multiple test procedure",
Scandinavian Journal of Statistics 6.
"""

from __future__ import annotations

from collections.abc import Sequence

from portal.stats._quantiles import CONFIDENCE
from portal.stats.ztest import two_proportion_test

ALPHA = round(1 - CONFIDENCE, 10)


def holm(pvalues: Sequence[float | None]) -> list[float | None]:
    """Holm's step-down adjusted p-values, in the input order; None entries (tests that
    could not be run) stay None and do not count towards the family."""
    indexed = sorted(((p, i) for i, p in enumerate(pvalues) if p is not None),
                     key=lambda t: t[0])
    m = len(indexed)
    out: list[float | None] = [None] * len(pvalues)
    running = 0.0
    for rank, (p, i) in enumerate(indexed):
        running = max(running, min(1.0, (m - rank) * p))
        out[i] = running
    return out


def rank_ranges(shares: Sequence[tuple[int, int] | None], alpha: float = ALPHA
                ) -> list[tuple[int, int] | None]:
    """For shares given as (k, n) (None: not ranked), the range of ranks each could
    hold, highest share = 1, among the ranked ones; None where not ranked."""
    ranked = [i for i, s in enumerate(shares) if s is not None and s[1] > 0]
    pairs: list[tuple[int, int]] = []
    pvalues: list[float | None] = []
    for a_pos, a in enumerate(ranked):
        for b in ranked[a_pos + 1:]:
            (ka, na), (kb, nb) = shares[a], shares[b]
            pairs.append((a, b))
            pvalues.append(two_proportion_test(ka, na, kb, nb)[1])
    above = dict.fromkeys(ranked, 0)   # objectives clearly above i
    below = dict.fromkeys(ranked, 0)   # objectives i is clearly above
    for (a, b), q in zip(pairs, holm(pvalues), strict=True):
        if q is None or q >= alpha:
            continue
        (ka, na), (kb, nb) = shares[a], shares[b]
        high, low = (a, b) if ka / na > kb / nb else (b, a)
        above[low] += 1
        below[high] += 1
    count = len(ranked)
    out: list[tuple[int, int] | None] = [None] * len(shares)
    for i in ranked:
        out[i] = (1 + above[i], count - below[i])
    return out
