"""The pooled two-proportion z test, shared by the tests of `portal.stats` and the
rank ranges of `portal.stats.ranks`."""

from __future__ import annotations

import math


def norm_two_sided(z: float) -> float:
    return math.erfc(abs(z) / math.sqrt(2))


def two_proportion_test(k1: int, n1: int, k2: int, n2: int) -> tuple[float | None, float | None]:
    """Pooled two-proportion z test of p1 = p2: (z, two-sided p).

    Equivalent to the chi-square test of the 2x2 table without continuity
    correction. Undefined (None, None) when either group is empty; when both
    groups answer all alike (pooled share 0 or 1) there is no evidence of a
    difference: (0.0, 1.0).
    """
    if n1 <= 0 or n2 <= 0:
        return None, None
    pooled = (k1 + k2) / (n1 + n2)
    var = pooled * (1 - pooled) * (1 / n1 + 1 / n2)
    if var <= 0:
        return 0.0, 1.0
    z = (k1 / n1 - k2 / n2) / math.sqrt(var)
    return z, norm_two_sided(z)
