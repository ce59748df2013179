"""Intervals for survey figures that are not a single share or mean."""

from __future__ import annotations

import math
from dataclasses import dataclass

from portal.stats._quantiles import CONFIDENCE, _z

# Rocks (2016), "Interval estimation for the 'Net Promoter Score'", The American
# Statistician 70(4): the adjusted Wald interval, best of the methods compared,
# adds 3 answers to n, 3/4 of them promoters and 3/4 detractors.
NPS_ADD_N = 3.0
NPS_ADD_EACH = 0.75


@dataclass(frozen=True)
class NpsInterval:
    """A net promoter score (-100..100) with its interval; all None without answers."""

    score: float | None
    lo: float | None
    hi: float | None


def nps_interval(promoters: int, detractors: int, n: int,
                 confidence: float = CONFIDENCE) -> NpsInterval:
    """Net promoter score with the adjusted Wald interval (Rocks 2016).

    The standard error is sqrt((p+ + p- - (p+ - p-)^2) / n), taken at the adjusted
    shares p+ = (promoters + 3/4) / (n + 3), p- = (detractors + 3/4) / (n + 3), so
    that a small group that answers all alike still gets an interval with width.
    The interval is clipped to -100..100 and always contains the score.
    """
    if n < 0 or promoters < 0 or detractors < 0 or promoters + detractors > n:
        raise ValueError(f"need promoters + detractors <= n, got {promoters}, {detractors}, {n}")
    if n == 0:
        return NpsInterval(None, None, None)
    score = (promoters - detractors) / n
    m = n + NPS_ADD_N
    pp, pd = (promoters + NPS_ADD_EACH) / m, (detractors + NPS_ADD_EACH) / m
    centre = pp - pd
    se = math.sqrt(max(pp + pd - centre * centre, 0.0) / m)
    half = _z(confidence) * se
    lo = max(-1.0, min(score, centre - half))
    hi = min(1.0, max(score, centre + half))
    return NpsInterval(100 * score, 100 * lo, 100 * hi)
