"""Normal and t quantiles, cached.

scipy.special's ufuncs are the same functions scipy.stats uses underneath,
without the per-call overhead of the distribution objects (pages call them
thousands of times).
"""

from __future__ import annotations

from functools import lru_cache

from scipy import special as _special

CONFIDENCE = 0.95


@lru_cache(maxsize=64)
def _z(confidence: float) -> float:
    return float(_special.ndtri(0.5 + confidence / 2))


@lru_cache(maxsize=4096)
def _t(confidence: float, df: float) -> float:
    return float(_special.stdtrit(df, 0.5 + confidence / 2))
