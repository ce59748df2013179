"""Pure statistics for the portal: counts in, estimates and intervals out.

Every function takes aggregated counts (histograms, sums, sums of squares), never
rows, so the database does the counting and these functions stay cheap and
testable against scipy on the raw data. Nothing here touches Flask or SQL. The
leadership reports and the survey results both use this one module.

Conventions:
- Feedback rating scales run 1..5; 0 ("Don't know") and missing answers are
  excluded from every estimate by the caller (`scale_histogram`). Survey answers
  may take any numeric values (`describe`).
- A figure that cannot be estimated (no data, or too little for an interval)
  is None, never NaN and never a division by zero.
- Differences are "first minus second" (`a - b`).
- Means of answers on a bounded scale (ratings, gaps, survey scales) get the
  scale-respecting interval of `portal.stats.bounded`; means of open numbers keep
  the t-interval. No test of two groups without spread reports p = 0.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from scipy import special as _special

from portal.stats._quantiles import CONFIDENCE, _t, _z
from portal.stats.bounded import scale_interval, sd_from_interval
from portal.stats.crosstab import IndependenceTest, independence_test
from portal.stats.ranks import holm, rank_ranges
from portal.stats.survey import NpsInterval, nps_interval
from portal.stats.ztest import two_proportion_test

SCALE = (1, 2, 3, 4, 5)
SCALE_BOUNDS = (1, 5)
# Performance minus importance of one member, both on 1..5.
GAP_BOUNDS = (-4, 4)
# The bounded method's spread floor for a gap: that of one rating's model (4 trials)
# spread over the gap's 8 points, i.e. 1/16 of the largest possible variance. The
# 8-trial floor would exceed the spread typical paired differences have (their two
# ratings are positively correlated) and widen ordinary gap intervals; this one still
# gives a gap of 0 from 24 members answering alike about -0.4 to 0.4.
GAP_STEPS = 16

__all__ = ["CONFIDENCE", "GAP_BOUNDS", "GAP_STEPS", "SCALE", "SCALE_BOUNDS", "IndependenceTest",
           "NpsInterval", "_t", "_z", "holm", "independence_test", "nps_interval",
           "rank_ranges", "scale_interval", "sd_from_interval", "two_proportion_test"]


# ---------------------------------------------------------------------------
# Proportions


@dataclass(frozen=True)
class Proportion:
    """k of n, with a Wilson score interval. p, lo and hi are None when n is 0."""

    k: int
    n: int
    p: float | None
    lo: float | None
    hi: float | None


def wilson(k: int, n: int, confidence: float = CONFIDENCE) -> Proportion:
    """Share k/n with the Wilson score interval (good coverage near 0 and 1)."""
    if n < 0 or k < 0 or k > n:
        raise ValueError(f"need 0 <= k <= n, got k={k}, n={n}")
    if n == 0:
        return Proportion(k, n, None, None, None)
    z = _z(confidence)
    p = k / n
    z2 = z * z
    denom = 1 + z2 / n
    centre = (p + z2 / (2 * n)) / denom
    half = z / denom * math.sqrt(p * (1 - p) / n + z2 / (4 * n * n))
    # Clamp the float noise at the ends; the interval always contains p.
    return Proportion(k, n, p, max(0.0, min(p, centre - half)), min(1.0, max(p, centre + half)))


def scale_histogram(hist: Mapping[int | None, int]) -> dict[int, int]:
    """Only the answers on the 1..5 scale, every scale point present (0 when absent)."""
    return {v: int(hist.get(v, 0) or 0) for v in SCALE}


def share(hist: Mapping[int | None, int], values: Iterable[int],
          confidence: float = CONFIDENCE) -> Proportion:
    """Share of scale answers (1..5) that fall in `values` (e.g. 4-5), with a Wilson interval."""
    scale = scale_histogram(hist)
    wanted = set(values)
    return wilson(sum(c for v, c in scale.items() if v in wanted), sum(scale.values()),
                  confidence)


def share_high(hist: Mapping[int | None, int]) -> Proportion:
    """Share rating 4 or 5."""
    return share(hist, (4, 5))


def share_low(hist: Mapping[int | None, int]) -> Proportion:
    """Share rating 1 or 2."""
    return share(hist, (1, 2))


# ---------------------------------------------------------------------------
# Means


@dataclass(frozen=True)
class Mean:
    """A mean with its sample standard deviation and an interval (a t-interval, or the
    bounded-scale interval of `portal.stats.bounded` when the scale is known).

    mean is None without data; sd, lo and hi are None with a single value.
    """

    n: int
    mean: float | None
    sd: float | None
    lo: float | None
    hi: float | None

    @property
    def variance(self) -> float | None:
        return None if self.sd is None else self.sd * self.sd


@dataclass(frozen=True)
class Description(Mean):
    """A Mean with the median as well (None without data)."""

    median: float | None = None


Bounds = tuple[float, float]


def _with_interval(n: int, mean: float, var: float, confidence: float,
                   bounds: Bounds | None = None, steps: float | None = None
                   ) -> tuple[float, ...]:
    """(sd, lo, hi) of a mean of n >= 2 values with sample variance var: the t-interval,
    or on a bounded scale the interval of `portal.stats.bounded`."""
    sd = math.sqrt(max(var, 0.0))
    if bounds is not None:
        lo, hi = scale_interval(n, mean, var, bounds[0], bounds[1], confidence, steps)
        return sd, lo, hi
    half = _t(confidence, n - 1) * sd / math.sqrt(n)
    return sd, mean - half, mean + half


def mean_from_sums(n: int, total: float, total_sq: float,
                   confidence: float = CONFIDENCE, bounds: Bounds | None = None,
                   steps: float | None = None) -> Mean:
    """Mean and interval from the count, the sum and the sum of squares (the
    t-interval, or the bounded-scale interval when `bounds` is given)."""
    if n < 0:
        raise ValueError("n must not be negative")
    if n == 0:
        return Mean(0, None, None, None, None)
    mean = total / n
    if n == 1:
        return Mean(1, mean, None, None, None)
    if isinstance(total, int) and isinstance(total_sq, int):
        # Exact for integer data: no cancellation error when everyone agrees.
        var = (n * total_sq - total * total) / (n * (n - 1))
    else:
        var = (total_sq - total * total / n) / (n - 1)
    return Mean(n, mean, *_with_interval(n, mean, var, confidence, bounds, steps))


def describe(hist: Mapping[float | None, int], confidence: float = CONFIDENCE,
             bounds: Bounds | None = None) -> Description:
    """n, mean, sample standard deviation, interval of the mean and median of any
    numeric values, from {value: count}. None values and zero counts are ignored.
    With `bounds` (the scale's ends) the interval respects the scale
    (`portal.stats.bounded`); without, it is the t-interval.

    The variance is taken in two passes over the distinct values, so decimals far
    from zero lose no precision to cancellation.
    """
    items = sorted((float(v), int(c)) for v, c in hist.items() if v is not None and c > 0)
    n = sum(c for _, c in items)
    if n == 0:
        return Description(0, None, None, None, None, None)
    mean = sum(v * c for v, c in items) / n
    median = _median(items, n)
    if n == 1:
        return Description(1, mean, None, None, None, median)
    var = sum(c * (v - mean) ** 2 for v, c in items) / (n - 1)
    return Description(n, mean, *_with_interval(n, mean, var, confidence, bounds), median)


def _median(items: list[tuple[float, int]], n: int) -> float:
    """Median of sorted (value, count) pairs holding n values."""
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


def mean_from_histogram(hist: Mapping[int | None, int],
                        confidence: float = CONFIDENCE) -> Description:
    """Mean (and median) of the values 1..5 weighted by their counts, with the
    bounded-scale interval; 0 ("Don't know") and None are ignored."""
    return describe(scale_histogram(hist), confidence, SCALE_BOUNDS)


def paired_difference(n: int, sum_d: int | float, sum_d2: int | float,
                      confidence: float = CONFIDENCE) -> Mean:
    """Mean of within-person differences (performance minus importance, -4..4) over
    the members who answered both questions, from COUNT, SUM(d) and SUM(d*d), with the
    bounded-scale interval on -4..4 (a paired interval: each member is one value)."""
    return mean_from_sums(n, sum_d, sum_d2, confidence, GAP_BOUNDS, GAP_STEPS)


# ---------------------------------------------------------------------------
# Tests and differences


@dataclass(frozen=True)
class Difference:
    """a - b with an interval and a two-sided p-value (None where undefined)."""

    estimate: float | None
    lo: float | None
    hi: float | None
    statistic: float | None
    p: float | None

    def beyond_chance(self, alpha: float = 0.05) -> bool:
        return self.p is not None and self.p < alpha


def share_test(k1: int, n1: int, k2: int, n2: int) -> tuple[str, float | None]:
    """Test of p1 = p2 for two groups: ("z", p) from the pooled two-proportion z test,
    or ("exact", p) from Fisher's exact test of the 2x2 table when any expected
    count is under 5 (where the normal approximation is not to be trusted)."""
    if n1 <= 0 or n2 <= 0:
        return "z", None
    total, yes = n1 + n2, k1 + k2
    expected = [n * side / total for n in (n1, n2) for side in (yes, total - yes)]
    if min(expected) < 5:
        from scipy.stats import fisher_exact

        res = fisher_exact([[k1, n1 - k1], [k2, n2 - k2]], alternative="two-sided")
        return "exact", float(min(1.0, res.pvalue))
    return "z", two_proportion_test(k1, n1, k2, n2)[1]


def proportion_difference(k1: int, n1: int, k2: int, n2: int,
                          confidence: float = CONFIDENCE) -> Difference:
    """p1 - p2 with Newcombe's hybrid score interval (built from the two Wilson
    intervals) and the pooled two-proportion z test."""
    a, b = wilson(k1, n1, confidence), wilson(k2, n2, confidence)
    if a.p is None or b.p is None:
        return Difference(None, None, None, None, None)
    d = a.p - b.p
    lo = d - math.sqrt((a.p - a.lo) ** 2 + (b.hi - b.p) ** 2)
    hi = d + math.sqrt((a.hi - a.p) ** 2 + (b.p - b.lo) ** 2)
    z, p = two_proportion_test(k1, n1, k2, n2)
    return Difference(d, max(-1.0, lo), min(1.0, hi), z, p)


def welch_difference(a: Mean, b: Mean, confidence: float = CONFIDENCE,
                     bounds: Bounds | None = None, steps: float | None = None
                     ) -> Difference:
    """a.mean - b.mean with Welch's t-interval and test (unequal variances).

    Needs at least two values in each group. Two samples without spread do not
    prove that the people they stand for agree among themselves, so no test ever
    reports p = 0 from zero variances:
    - with `bounds` (the scale's ends) each group's variance is taken as at least
      the spread the bounded-scale method assumes at the pooled mean (the
      quasi-binomial floor of `portal.stats.bounded`), as the null hypothesis has
      both groups share that mean; ten 5s against ten 5s give p = 1, ten 5s against
      ten 4s a small p that is not 0;
    - without bounds, two groups without spread are untestable (p None) unless
      their means agree (p = 1).
    The interval is clipped to the widest difference the scale allows.
    """
    if a.mean is None or b.mean is None or a.n < 2 or b.n < 2:
        return Difference(None, None, None, None, None)
    d = a.mean - b.mean
    var_a, var_b = (a.variance or 0.0), (b.variance or 0.0)
    if bounds is not None:
        low, high = bounds
        pooled = (a.n * a.mean + b.n * b.mean) / (a.n + b.n)
        p = min(1.0, max(0.0, (pooled - low) / (high - low)))
        # width^2 * p(1-p) / steps, steps = width unless given (GAP_STEPS)
        floor = (high - low) ** 2 * p * (1 - p) / (steps or (high - low))
        var_a, var_b = max(var_a, floor), max(var_b, floor)
    va, vb = var_a / a.n, var_b / b.n
    se2 = va + vb
    if se2 <= 0:
        if d == 0:
            return Difference(d, d, d, None, 1.0)
        return Difference(d, None, None, None, None)
    se = math.sqrt(se2)
    df = se2 * se2 / ((va * va) / (a.n - 1) + (vb * vb) / (b.n - 1))
    t = d / se
    half = _t(confidence, df) * se
    lo, hi = d - half, d + half
    if bounds is not None:
        span = bounds[1] - bounds[0]
        lo, hi = max(-span, lo), min(span, hi)
    return Difference(d, lo, hi, t, float(2 * _special.stdtr(df, -abs(t))))


def benjamini_hochberg(pvalues: Sequence[float | None]) -> list[float | None]:
    """Benjamini-Hochberg adjusted p-values (q-values), in the input order.

    None entries (tests that could not be run) are skipped and stay None; the
    family size is the number of real p-values.
    """
    indexed = sorted(((p, i) for i, p in enumerate(pvalues) if p is not None),
                     key=lambda t: t[0])
    m = len(indexed)
    out: list[float | None] = [None] * len(pvalues)
    running = 1.0
    for rank in range(m, 0, -1):
        p, i = indexed[rank - 1]
        running = min(running, p * m / rank)
        out[i] = min(1.0, running)
    return out


# ---------------------------------------------------------------------------
# Importance-performance analysis

CONCENTRATE = "Concentrate here"
KEEP_UP = "Keep up the good work"
LOW_PRIORITY = "Low priority"
OVERKILL = "Possible overkill"
QUADRANTS = (CONCENTRATE, KEEP_UP, LOW_PRIORITY, OVERKILL)


def grand_mean(values: Iterable[float | None]) -> float | None:
    """Unweighted mean of the objective means (each objective is one point)."""
    vals = [v for v in values if v is not None]
    return sum(vals) / len(vals) if vals else None


def quadrant(importance: float | None, performance: float | None,
             importance_centre: float | None, performance_centre: float | None) -> str | None:
    """Importance-performance quadrant relative to the crosshairs (ties count as high)."""
    if None in (importance, performance, importance_centre, performance_centre):
        return None
    high_i = importance >= importance_centre  # type: ignore[operator]
    high_p = performance >= performance_centre  # type: ignore[operator]
    if high_i and not high_p:
        return CONCENTRATE
    if high_i and high_p:
        return KEEP_UP
    if not high_i and not high_p:
        return LOW_PRIORITY
    return OVERKILL


# ---------------------------------------------------------------------------
# Survey questions: shares, net promoter score, rankings


def percent(count: int | None, total: int) -> float | None:
    """count as a percentage of total; None when the count is hidden, total is 0 or
    the count exceeds the total (a rate is never above 100%)."""
    if count is None or not total or total <= 0 or not 0 <= count <= total:
        return None
    return 100.0 * count / total


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
    """From {0..10 answer: count}: promoters answer 9-10, passives 7-8, detractors 0-6."""
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


def borda_points(rank_histogram: Mapping[int, int], respondents: int, top_n: int
                 ) -> float | None:
    """Average Borda points per respondent for one option: rank r of a top-`top_n`
    ranking earns top_n + 1 - r points, not ranking it earns 0. Unlike the mean rank
    among those who ranked it, it counts how often and how high an option was ranked,
    so it orders options as top-k shares do. None without respondents."""
    if respondents <= 0:
        return None
    points = sum(max(0, top_n + 1 - r) * c for r, c in rank_histogram.items())
    return points / respondents
