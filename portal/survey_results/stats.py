"""Pure statistics for survey results: count histograms in, estimates out.

Reports aggregate in SQL (GROUP BY value) and pass the histograms here, so no
function loops over individual responses. Checked against scipy on raw data in
tests/test_survey_stats.py. (Kept beside the survey results until the portal's
shared `portal/stats.py` absorbs it.)
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

from scipy import stats as _scipy_stats

CONFIDENCE = 0.95


@dataclass(frozen=True)
class Description:
    n: int
    mean: float | None
    sd: float | None
    median: float | None
    ci_low: float | None
    ci_high: float | None


def describe(histogram: Mapping[float, int], confidence: float = CONFIDENCE) -> Description:
    """n, mean, sample standard deviation, median and the t-based confidence interval of
    the mean, from {value: count}. Zero counts are ignored."""
    items = sorted((float(v), int(c)) for v, c in histogram.items() if c > 0)
    n = sum(c for _, c in items)
    if n == 0:
        return Description(0, None, None, None, None, None)
    mean = sum(v * c for v, c in items) / n
    median = _median(items, n)
    if n < 2:
        return Description(n, mean, None, median, None, None)
    var = sum(c * (v - mean) ** 2 for v, c in items) / (n - 1)
    sd = math.sqrt(var)
    half = _scipy_stats.t.ppf((1 + confidence) / 2, n - 1) * sd / math.sqrt(n)
    return Description(n, mean, sd, median, mean - half, mean + half)


def _median(items: list[tuple[float, int]], n: int) -> float:
    def at(k: int) -> float:  # the k-th value (0-based) in sorted order
        seen = 0
        for v, c in items:
            seen += c
            if k < seen:
                return v
        return items[-1][0]
    if n % 2:
        return at(n // 2)
    return (at(n // 2 - 1) + at(n // 2)) / 2


@dataclass(frozen=True)
class NetPromoter:
    n: int
    promoters: int
    passives: int
    detractors: int

    @property
    def score(self) -> float | None:
        """% promoters minus % detractors, -100..100."""
        if self.n == 0:
            return None
        return 100.0 * (self.promoters - self.detractors) / self.n


def net_promoter(histogram: Mapping[int, int]) -> NetPromoter:
    """Promoters answer 9-10, passives 7-8, detractors 0-6."""
    p = sum(c for v, c in histogram.items() if v >= 9)
    pa = sum(c for v, c in histogram.items() if 7 <= v <= 8)
    d = sum(c for v, c in histogram.items() if v <= 6)
    return NetPromoter(p + pa + d, p, pa, d)


@dataclass(frozen=True)
class RankSummary:
    times_ranked: int
    mean_rank: float | None
    ranked_first: int
    share_first: float | None  # of everyone who answered the question


def rank_summary(rank_histogram: Mapping[int, int], respondents: int) -> RankSummary:
    """For one option: {rank: count} -> how often ranked, mean rank among those who
    ranked it, and the share of the question's respondents who put it first."""
    times = sum(rank_histogram.values())
    first = rank_histogram.get(1, 0)
    mean = (sum(r * c for r, c in rank_histogram.items()) / times) if times else None
    share = first / respondents if respondents else None
    return RankSummary(times, mean, first, share)


def percent(count: int | None, total: int) -> float | None:
    if count is None or not total:
        return None
    return 100.0 * count / total
