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
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache

from scipy import special as _special

SCALE = (1, 2, 3, 4, 5)
CONFIDENCE = 0.95


# scipy.special's ufuncs are the same functions scipy.stats uses underneath,
# without the per-call overhead of the distribution objects (pages call them
# thousands of times).


@lru_cache(maxsize=64)
def _z(confidence: float) -> float:
    return float(_special.ndtri(0.5 + confidence / 2))


@lru_cache(maxsize=4096)
def _t(confidence: float, df: float) -> float:
    return float(_special.stdtrit(df, 0.5 + confidence / 2))


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
    """A mean with its sample standard deviation and a t-interval.

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


def _with_t_interval(n: int, mean: float, var: float, confidence: float) -> tuple[float, ...]:
    """(sd, lo, hi) of the t-interval of a mean of n >= 2 values with sample variance var."""
    sd = math.sqrt(max(var, 0.0))
    half = _t(confidence, n - 1) * sd / math.sqrt(n)
    return sd, mean - half, mean + half


def mean_from_sums(n: int, total: float, total_sq: float,
                   confidence: float = CONFIDENCE) -> Mean:
    """Mean and t-interval from the count, the sum and the sum of squares."""
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
    return Mean(n, mean, *_with_t_interval(n, mean, var, confidence))


def describe(hist: Mapping[float | None, int], confidence: float = CONFIDENCE) -> Description:
    """n, mean, sample standard deviation, t-interval of the mean and median of any
    numeric values, from {value: count}. None values and zero counts are ignored.

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
    return Description(n, mean, *_with_t_interval(n, mean, var, confidence), median)


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
    """Mean (and median) of the values 1..5 weighted by their counts; 0 ("Don't know")
    and None are ignored."""
    return describe(scale_histogram(hist), confidence)


def paired_difference(n: int, sum_d: int | float, sum_d2: int | float,
                      confidence: float = CONFIDENCE) -> Mean:
    """Mean of within-person differences (e.g. performance minus importance) with a
    paired t-interval, from COUNT, SUM(d) and SUM(d*d) over people who gave both."""
    return mean_from_sums(n, sum_d, sum_d2, confidence)


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


def _norm_two_sided(z: float) -> float:
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
    return z, _norm_two_sided(z)


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


def welch_difference(a: Mean, b: Mean, confidence: float = CONFIDENCE) -> Difference:
    """a.mean - b.mean with Welch's t-interval and test (unequal variances).

    Needs at least two values in each group. When neither group varies the
    difference is exact: the interval collapses onto it and p is 1 when the
    means agree and 0 when they do not.
    """
    if a.mean is None or b.mean is None or a.n < 2 or b.n < 2:
        return Difference(None, None, None, None, None)
    d = a.mean - b.mean
    va, vb = (a.variance or 0.0) / a.n, (b.variance or 0.0) / b.n
    se2 = va + vb
    if se2 <= 0:
        return Difference(d, d, d, None, 1.0 if d == 0 else 0.0)
    se = math.sqrt(se2)
    df = se2 * se2 / ((va * va) / (a.n - 1) + (vb * vb) / (b.n - 1))
    t = d / se
    half = _t(confidence, df) * se
    return Difference(d, d - half, d + half, t, float(2 * _special.stdtr(df, -abs(t))))


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
