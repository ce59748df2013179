"""Intervals for means on a bounded scale (ratings 1..5, gaps -4..4, 0..10 answers).

A t-interval treats the scale as unbounded: near the top it runs past 5 (4.57, from
4.14 to 5.01), and when every answer is the same it has no width ("5.00 to 5.00" at
n = 10), as if ten people settled the question for everyone.

Method: a quasi-binomial score (Wilson-type) interval of the scaled mean.

- Scale the mean to p = (mean - low) / (high - low), in [0, 1].
- A value on a bounded scale has at most the variance p (1 - p) (Bhatia-Davis), so
  the data's dispersion is phi = s^2 / (p (1 - p)), s^2 the sample variance of the
  scaled values. The interval solves Wilson's score equation with that dispersion,
  (p - P)^2 = c^2 * phi * P (1 - P) / n, i.e. Wilson's interval with the effective
  sample size n / phi (Korn and Graubard, 1998, use the same device for survey
  proportions). Its ends therefore always lie inside the scale.
- phi is taken as at least 1 / steps (steps = high - low unless given; gaps use
  16, see `portal.stats.GAP_STEPS`), the dispersion of a rating read as the number
  of successes in `steps` Bernoulli trials. That floor only binds when
  answers are more alike than such trials would be, above all when every answer is
  the same (s^2 = 0): ten 5s give 4.55 to 5.00, twenty-five 3s give 2.60 to 3.40.
- c is the t quantile with n - 1 degrees of freedom, not the normal one, so small
  groups get the small-sample width of a t-interval. For large n and typical spread
  the interval is the t-interval to within rounding.

One value has no spread to estimate: no interval (None), as before.
Everything is closed form from (n, mean, variance), so pages stay fast and the
disclosure audit can recompute it exactly from candidate sums.
"""

from __future__ import annotations

import math

from portal.stats._quantiles import CONFIDENCE, _t


def _unit(mean: float, low: float, high: float) -> float:
    return min(1.0, max(0.0, (mean - low) / (high - low)))


def dispersion(n: int, mean: float, var: float, low: float, high: float,
               steps: float | None = None) -> float:
    """phi of the method above: the sample variance relative to the largest a value
    with this mean could have, floored at 1 / steps."""
    width = high - low
    floor = 1.0 / (steps or width)
    p = _unit(mean, low, high)
    if p <= 0.0 or p >= 1.0:
        return floor
    return max(floor, max(var, 0.0) / (width * width * p * (1.0 - p)))


def scale_interval(n: int, mean: float, var: float, low: float, high: float,
                   confidence: float = CONFIDENCE, steps: float | None = None
                   ) -> tuple[float, float] | None:
    """(lo, hi) of the mean of n values on [low, high] with sample variance var, by the
    quasi-binomial score interval above; None for fewer than two values."""
    if high <= low:
        raise ValueError("the scale needs high > low")
    if n < 2:
        return None
    width = high - low
    p = _unit(mean, low, high)
    c = _t(confidence, n - 1)
    n_eff = n / dispersion(n, mean, var, low, high, steps)
    c2 = c * c
    denom = 1 + c2 / n_eff
    centre = (p + c2 / (2 * n_eff)) / denom
    half = c / denom * math.sqrt(p * (1 - p) / n_eff + c2 / (4 * n_eff * n_eff))
    lo_p = max(0.0, min(p, centre - half))
    hi_p = min(1.0, max(p, centre + half))
    return low + width * lo_p, low + width * hi_p


def sd_from_interval(n: int, mean: float, lo: float, hi: float, low: float, high: float,
                     confidence: float = CONFIDENCE) -> float | None:
    """The standard deviation a published (rounded) scale interval stands for: the
    dispersion solved from the score equation at each end, averaged. Where the floor
    of the method bound, this is the floor's spread, never less, so tests built on it
    are no bolder than the interval."""
    if n < 2:
        return None
    width = high - low
    p = _unit(mean, low, high)
    c = _t(confidence, n - 1)
    phis = []
    for end in (lo, hi):
        e = _unit(end, low, high)
        if 0.0 < e < 1.0 and e != p:
            phis.append(n * (p - e) ** 2 / (c * c * e * (1 - e)))
    if not phis:
        return 0.0 if p in (0.0, 1.0) else None
    phi = sum(phis) / len(phis)
    return width * math.sqrt(phi * p * (1 - p))
