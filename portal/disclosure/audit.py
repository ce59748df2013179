"""The attacker's problem, solved by the portal before it publishes anything.

A `Problem` holds what a reader of every published figure knows about one group of
people: non-negative integer cells (how many people gave each answer, in each
segment row ...) and linear facts about them, each rounded figure taken as the
interval it stands for. `ranges()` finds each hidden cell's smallest and largest
feasible value with `scipy.optimize.milp` (HiGHS); `protected()` is the rule a
hidden cell's range must pass.

Means with an interval are the one non-linear figure: the interval's width tells
the spread, and the spread is the sum of squares minus the square of the sum. For a
known count n the sum S1 = sum(v * x) takes a few integer values allowed by the
rounded mean; for each of them the rounded interval allows a range of sums of
squares S2 = sum(v*v * x). `Problem.t_interval` adds one binary per candidate S1
and ties S2 to that candidate's range, which is exact, not a relaxation. The
interval is the t-interval, or with `bounds` the bounded-scale interval of
`portal.stats.bounded` (whose ends move monotonically with S2, so each candidate's
range is found by bisection and checked as pages round).
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Iterable, Mapping
from dataclasses import dataclass, field

import numpy as np
from scipy.optimize import Bounds, LinearConstraint, milp
from scipy.sparse import coo_array

from portal import stats

Key = Hashable
# Widen every interval by this much: float noise must never make the true vector
# infeasible (the auditor would then find no solution at all).
_EPS = 1e-9
# Candidate sums allowed for one t-interval before the problem refuses to build.
MAX_CANDIDATES = 20_000
# No group is larger than this; a finite cap keeps every problem bounded.
CELL_CAP = 10_000_000


class AuditError(RuntimeError):
    """The published figures admit no vector at all: a bug in how they were modelled."""


def interval(value: float, decimals: int) -> tuple[float, float]:
    """The values a figure rounded to `decimals` stands for (closed, a hair wider)."""
    half = 0.5 * 10.0 ** -decimals
    return value - half - _EPS, value + half + _EPS


@dataclass
class Problem:
    """Integer cells >= 0 and linear facts about them."""

    index: dict[Key, int] = field(default_factory=dict)
    upper: list[float] = field(default_factory=list)
    integral: list[int] = field(default_factory=list)
    rows: list[tuple[dict[int, float], float, float]] = field(default_factory=list)

    # -- cells --------------------------------------------------------------

    def cell(self, key: Key, upper: float | None = None) -> Key:
        if key not in self.index:
            self.index[key] = len(self.upper)
            self.upper.append(CELL_CAP if upper is None else float(upper))
            self.integral.append(1)
        return key

    def cells(self, keys: Iterable[Key]) -> list[Key]:
        return [self.cell(k) for k in keys]

    def _aux(self, upper: float, integral: bool = True) -> int:
        i = len(self.upper)
        self.index[("__aux", i)] = i
        self.upper.append(upper)
        self.integral.append(1 if integral else 0)
        return i

    # -- facts --------------------------------------------------------------

    def _row(self, coeffs: Mapping[int, float], lo: float, hi: float) -> None:
        row = {i: float(c) for i, c in coeffs.items() if c}
        if not row:
            if lo > 0 + _EPS or hi < 0 - _EPS:
                raise AuditError("a fact about no cell that does not hold")
            return
        self.rows.append((row, lo, hi))

    def _coeffs(self, terms: Mapping[Key, float]) -> dict[int, float]:
        out: dict[int, float] = {}
        for k, c in terms.items():
            i = self.index[self.cell(k)]
            out[i] = out.get(i, 0.0) + c
        return out

    def between(self, terms: Mapping[Key, float], lo: float | None, hi: float | None) -> None:
        """lo <= sum(c * x) <= hi (None = unbounded)."""
        self._row(self._coeffs(terms), -np.inf if lo is None else lo,
                  np.inf if hi is None else hi)

    def equal(self, terms: Mapping[Key, float], value: float) -> None:
        self.between(terms, value, value)

    def fix(self, key: Key, value: int) -> None:
        """A shown count."""
        self.equal({key: 1}, value)

    def total(self, keys: Iterable[Key], lo: float, hi: float | None = None) -> None:
        """A shown (or rounded) number of people over several cells."""
        self.between(dict.fromkeys(keys, 1.0), lo, lo if hi is None else hi)

    def ratio(self, part: Iterable[Key], whole: Iterable[Key], lo: float, hi: float) -> None:
        """lo <= sum(part) / sum(whole) <= hi, with part a subset of whole."""
        part, whole = set(part), list(whole)
        for bound, sign in ((lo, 1.0), (hi, -1.0)):
            terms = {k: sign * ((1.0 if k in part else 0.0) - bound) for k in whole}
            self.between(terms, 0.0, None)

    def mean(self, values: Mapping[Key, float], lo: float, hi: float) -> None:
        """lo <= sum(v x) / sum(x) <= hi (a shown mean, rounded; any count)."""
        for bound, sign in ((lo, 1.0), (hi, -1.0)):
            self.between({k: sign * (v - bound) for k, v in values.items()}, 0.0, None)

    def share(self, part: Iterable[Key], whole: Iterable[Key], n: int, p: float,
              p_lo: float | None, p_hi: float | None, decimals: int,
              confidence: float = stats.CONFIDENCE) -> None:
        """A shown share (a fraction rounded to `decimals` places of a percentage) of n
        people, with or without its Wilson interval (also rounded): the k it allows."""
        ks = share_candidates(n, p, p_lo, p_hi, decimals, confidence)
        if not ks:
            raise AuditError("no count gives the published share")
        self.total(part, min(ks), max(ks))
        self.total(whole, n)

    def t_interval(self, values: Mapping[Key, int], n: int, mean: float,
                   lo: float | None, hi: float | None, decimals: int,
                   confidence: float = stats.CONFIDENCE,
                   bounds: tuple[float, float] | None = None) -> None:
        """A mean of n integer values shown with its interval, all to `decimals`: the
        t-interval, or with `bounds` the bounded-scale interval.

        Adds: the count is n, the sum is one of the candidates the rounded mean
        allows, and the sum of squares lies in that candidate's range."""
        keys = list(values)
        self.total(keys, n)
        m_lo, m_hi = interval(mean, decimals)
        # The sums whose mean rounds to the published one, exactly as pages round it
        # (a closed interval would admit a boundary sum that rounds the other way,
        # and the auditor must never think the attacker less sure than he is).
        sums = [s for s in range(math.floor(n * m_lo) - 1, math.ceil(n * m_hi) + 2)
                if round(s / n, decimals) == mean]
        if not sums:
            raise AuditError("no sum gives the published mean")
        s_lo, s_hi = min(sums), max(sums)
        if lo is None or hi is None or n < 2:
            self.between({k: float(v) for k, v in values.items()}, s_lo, s_hi)
            return
        cands = [(s, b) for s in range(s_lo, s_hi + 1)
                 if (b := (sum_sq_bounds(n, s, lo, hi, decimals, confidence) if bounds is None
                           else scale_sum_sq_bounds(n, s, lo, hi, decimals, bounds,
                                                    max(v * v for v in values.values()),
                                                    confidence))) is not None]
        if len(cands) > MAX_CANDIDATES:
            raise AuditError("too many candidate sums: publish fewer decimals")
        if not cands:
            raise AuditError("no sum gives the published mean and interval")
        zs = [self._aux(1.0) for _ in cands]
        s1 = {self.index[k]: float(v) for k, v in values.items()}
        s2 = {self.index[k]: float(v) * float(v) for k, v in values.items()}
        self._row(dict.fromkeys(zs, 1.0), 1.0, 1.0)
        # S1 == sum(s_k z_k)
        pairs = list(zip(zs, cands, strict=True))
        self._row({**s1, **{z: -float(s) for z, (s, _) in pairs}}, 0.0, 0.0)
        # sum(a_k z_k) <= S2 <= sum(b_k z_k)
        self._row({**s2, **{z: -float(a) for z, (_, (a, _b)) in pairs}}, 0.0, np.inf)
        self._row({**s2, **{z: -float(b) for z, (_, (_a, b)) in pairs}}, -np.inf, 0.0)

    # -- solving ------------------------------------------------------------

    def _matrices(self):
        nv = len(self.upper)
        r, c, v, lo, hi = [], [], [], [], []
        for j, (row, a, b) in enumerate(self.rows):
            for i, x in row.items():
                r.append(j)
                c.append(i)
                v.append(x)
            lo.append(a)
            hi.append(b)
        a = coo_array((v, (r, c)), shape=(len(self.rows), nv)).tocsr()
        return a, np.array(lo), np.array(hi)

    def extremes(self, keys: Iterable[Key], time_limit: float = 5.0
                 ) -> dict[Key, tuple[int, int]]:
        """Smallest and largest feasible value of each cell in `keys`."""
        keys = list(keys)
        if not keys:
            return {}
        a, lo, hi = self._matrices()
        nv = len(self.upper)
        cons = [LinearConstraint(a, lo, hi)] if self.rows else []
        bounds = Bounds(np.zeros(nv), np.array(self.upper))
        integrality = np.array(self.integral)
        out: dict[Key, tuple[int, int]] = {}
        for key in keys:
            i = self.index[key]
            ends = []
            for sign in (1.0, -1.0):
                c = np.zeros(nv)
                c[i] = sign
                res = milp(c, constraints=cons, bounds=bounds, integrality=integrality,
                           options={"time_limit": time_limit, "presolve": True})
                if res.status == 2:
                    raise AuditError("the published figures admit no vector")
                if res.status == 3:   # unbounded: nothing caps this cell
                    ends.append(sign * -math.inf if sign < 0 else 0.0)
                    continue
                if res.x is None:
                    # Time ran out without a proof: take the cell as exposed.
                    ends.append(None)
                    continue
                # The dual bound is what is proven; round outwards only by that.
                bound = getattr(res, "mip_dual_bound", None)
                val = sign * res.fun if bound is None or res.status == 0 else sign * bound
                ends.append(val)
            if None in ends:
                out[key] = (0, 0)
                continue
            hi_end = ends[1] if math.isfinite(ends[1]) else 10**12
            out[key] = (int(math.ceil(ends[0] - 1e-6)), int(math.floor(hi_end + 1e-6)))
        return out


def protected(lo: int, hi: int, k: int) -> bool:
    """A hidden cell's feasible range protects it when it spans at least k values,
    or when it holds both 0 (nobody) and a group of k or more."""
    return hi - lo + 1 >= k or (lo == 0 and hi >= k)


def sum_sq_bounds(n: int, s1: int, lo: float, hi: float, decimals: int,
                  confidence: float = stats.CONFIDENCE) -> tuple[int, int] | None:
    """Integer sums of squares S2 for which n values summing to s1 give a t-interval
    that rounds to (lo, hi) at `decimals`; None when none does."""
    m = s1 / n
    lo_a, lo_b = interval(lo, decimals)
    hi_a, hi_b = interval(hi, decimals)
    h_min = max(m - lo_b, hi_a - m, 0.0)
    h_max = min(m - lo_a, hi_b - m)
    if h_max < h_min:
        return None
    t = stats._t(confidence, n - 1)
    # h = t * sd / sqrt(n); sd^2 = (n S2 - S1^2) / (n (n - 1))
    def s2_of(h: float) -> float:
        var = (h * math.sqrt(n) / t) ** 2
        return (var * n * (n - 1) + s1 * s1) / n

    def rounds_to(s2: int) -> bool:
        """Whether S2 gives exactly the published interval, rounded as pages round."""
        var = max((n * s2 - s1 * s1) / (n * (n - 1)), 0.0)
        half = t * math.sqrt(var) / math.sqrt(n)
        # The page computes the spread in two passes; allow for the last bit of float
        # difference so the true vector is never lost at a rounding boundary.
        return (lo in (round(m - half - 1e-9, decimals), round(m - half + 1e-9, decimals))
                and hi in (round(m + half - 1e-9, decimals),
                           round(m + half + 1e-9, decimals)))
    a = math.ceil(s2_of(h_min) - 1e-6) - 1
    b = math.floor(s2_of(h_max) + 1e-6) + 1
    while a <= b and not rounds_to(a):
        a += 1
    while b >= a and not rounds_to(b):
        b -= 1
    return (a, b) if a <= b else None


def _bisect(lo: int, hi: int, ok) -> int:
    """The first integer in [lo, hi] where the monotone predicate `ok` holds (hi + 1
    when none does)."""
    while lo <= hi:
        mid = (lo + hi) // 2
        if ok(mid):
            hi = mid - 1
        else:
            lo = mid + 1
    return lo


def scale_sum_sq_bounds(n: int, s1: int, lo: float, hi: float, decimals: int,
                        bounds: tuple[float, float], max_sq: float,
                        confidence: float = stats.CONFIDENCE) -> tuple[int, int] | None:
    """Integer sums of squares S2 for which n values summing to s1 give a bounded-scale
    interval (`portal.stats.bounded`) that rounds to (lo, hi) at `decimals`.

    The lower end falls and the upper end rises as S2 grows, so the S2 that fit are
    one run of integers: its ends are found by bisection, then widened while the
    last bit of float difference between page and auditor could still round either
    way, so the true vector is never lost."""
    if n < 2:
        return None
    s2_min = math.ceil(s1 * s1 / n) - 1
    s2_max = math.floor(n * max_sq) + 1

    def ends(s2: int) -> tuple[float, float]:
        var = max((n * s2 - s1 * s1) / (n * (n - 1)), 0.0)
        return stats.scale_interval(n, s1 / n, var, bounds[0], bounds[1], confidence)

    def rounded(x: float) -> tuple[float, float]:
        return round(x - 1e-9, decimals), round(x + 1e-9, decimals)

    def rounds_to(s2: int) -> bool:
        a, b = ends(s2)
        return lo in rounded(a) and hi in rounded(b)

    # Below a: the interval is still too narrow on one side; above b: too wide.
    def wide_enough(s2: int) -> bool:
        a, b = ends(s2)
        return min(rounded(a)) <= lo and max(rounded(b)) >= hi

    def too_wide(s2: int) -> bool:
        a, b = ends(s2)
        return max(rounded(a)) < lo or min(rounded(b)) > hi

    a = _bisect(s2_min, s2_max, wide_enough)
    b = _bisect(s2_min, s2_max, too_wide) - 1
    while a <= b and not rounds_to(a):
        a += 1
    while b >= a and not rounds_to(b):
        b -= 1
    if a > b:
        return None
    while a - 1 >= s2_min and rounds_to(a - 1):
        a -= 1
    while b + 1 <= s2_max and rounds_to(b + 1):
        b += 1
    return a, b


def share_candidates(n: int, p: float, p_lo: float | None, p_hi: float | None,
                     decimals: int, confidence: float = stats.CONFIDENCE) -> list[int]:
    """Counts k of n whose share (and Wilson interval, when shown) round to the
    published percentages at `decimals` places (p is a fraction, 0..1)."""
    a, b = interval(100 * p, decimals)
    k_lo, k_hi = max(0, math.floor(n * a / 100) - 1), min(n, math.ceil(n * b / 100) + 1)
    f = 10 ** (decimals + 2)
    out = []
    # Exactly as pages round a share (portal.disclosure.ratings.published).
    for k in range(k_lo, k_hi + 1):
        if round(k / n * f) / f != p:
            continue
        if p_lo is not None and p_hi is not None:
            w = stats.wilson(k, n, confidence)
            if round(w.lo * f) / f != p_lo or round(w.hi * f) / f != p_hi:
                continue
        out.append(k)
    return out


def exposed(problem: Problem, hidden: Iterable[Key], k: int) -> dict[Key, tuple[int, int]]:
    """The hidden cells whose feasible range fails `protected`, with their ranges.

    Feasibility questions settle most cells together: one vector consistent with
    everything published that has every asked cell at 0, one that has every asked
    cell at k or more. A group that admits no such vector is split in halves; a cell
    left on its own is optimised (`extremes`)."""
    keys = list(dict.fromkeys(hidden))
    if not keys:
        return {}
    a, lo, hi = problem._matrices()
    nv = len(problem.upper)
    cons = [LinearConstraint(a, lo, hi)] if problem.rows else []
    integrality = np.array(problem.integral)
    base_upper = np.array(problem.upper)

    def feasible(group: list[Key], at_least_k: bool) -> bool:
        lower, upper = np.zeros(nv), base_upper.copy()
        for key in group:
            i = problem.index[key]
            if at_least_k:
                lower[i] = float(k)
            else:
                upper[i] = 0.0
        res = milp(np.zeros(nv), constraints=cons, bounds=Bounds(lower, upper),
                   integrality=integrality, options={"time_limit": 2.0})
        return res.status == 0 and res.x is not None

    def settle(group: list[Key], at_least_k: bool) -> set[Key]:
        """The cells of `group` no vector settles (alone)."""
        if feasible(group, at_least_k):
            return set()
        if len(group) == 1:
            return set(group)
        half = len(group) // 2
        return settle(group[:half], at_least_k) | settle(group[half:], at_least_k)

    unsettled = settle(keys, False)
    unsettled |= settle([key for key in keys if key not in unsettled], True)
    return {key: r for key, r in problem.extremes([k_ for k_ in keys if k_ in unsettled]).items()
            if not protected(*r, k)}
