"""One distribution (a question under one filter), decided in one step.

Every figure a page, chart, export or highlight shows about one distribution comes
from the `Published` that `publish()` returns: the answer counts, their
percentages with Wilson intervals, n, the mean with its interval (bounded-scale for
scale questions, `portal.stats.bounded`; t for open numbers), the median and
standard deviation, and on a 0-10 question the promoter / passive / detractor
groups and the score with its interval.

Answers counted apart (Likert "Not applicable") are left out of the percentages'
base as they are out of the mean; their count is shown on its own. Wilson
intervals are shown only for shown counts over a shown base, and the score's
interval only with all three groups shown: they are then functions of published
counts and tell an attacker nothing more.

Cells of 1..k-1 people are hidden first (and any cell the caller must hide because
a linked table or a refused selection hides it). If a cell is hidden, the attacker's
problem is built from every figure shown, at the precision shown (`attack()`), and
each hidden cell must keep its protection interval. While one does not, less is
shown, least informative first: the mean and interval go from 2 decimals to 1, then
the interval, then the mean, then the percentages, then the net promoter groups;
then the next smallest cell is hidden and the ladder starts again.

With a hidden cell the median and the standard deviation are never shown (the
auditor does not model them), nor is the mean of answers that are not whole
numbers (the interval model is exact only for integers).
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping
from dataclasses import dataclass, field, replace

from portal import stats
from portal.disclosure import audit

Key = Hashable
PCT_DECIMALS = 1
MEAN_DECIMALS = 2
NPS_DECIMALS = 0
REASON = "hidden to protect a small group"
NPS_GROUPS = (("promoters", range(9, 11)), ("passives", range(7, 9)),
              ("detractors", range(0, 7)))

# (mean decimals or None = no mean, interval shown, percentages shown, NPS shown)
LADDER = ((MEAN_DECIMALS, True, True, True), (1, True, True, True), (1, False, True, True),
          (None, False, True, True), (None, False, False, True), (None, False, False, False))


@dataclass(frozen=True)
class Shape:
    """What an attacker knows of a distribution without any figure: its cells, the
    value of each cell that enters the mean, whether each person is in exactly one
    cell, and whether it is a 0-10 question with net promoter groups."""

    keys: tuple[Key, ...]
    values: tuple[tuple[Key, float], ...] = ()
    exclusive: bool = True
    nps: bool = False
    bounds: tuple[float, float] | None = None   # the scale's ends, when it has them
    apart: tuple[Key, ...] = ()                  # cells left out of the percentages

    @property
    def value_of(self) -> dict[Key, float]:
        return dict(self.values)

    @property
    def integer_values(self) -> bool:
        return all(float(v).is_integer() for _k, v in self.values)


@dataclass(frozen=True)
class Published:
    n: int
    counts: dict[Key, int | None]
    pct: dict[Key, float | None]          # rounded to PCT_DECIMALS; None = not shown
    mean: float | None = None             # rounded to `decimals`
    mean_n: int | None = None
    lo: float | None = None
    hi: float | None = None
    decimals: int = MEAN_DECIMALS
    median: float | None = None
    sd: float | None = None               # rounded to `decimals`
    nps_counts: dict[str, int | None] | None = None
    nps_pct: dict[str, float | None] = field(default_factory=dict)
    nps_score: float | None = None        # rounded to NPS_DECIMALS
    notes: tuple[str, ...] = ()
    base: int | None = None               # what the percentages are of; None = not shown
    pct_ci: dict[Key, tuple[float, float]] = field(default_factory=dict)  # Wilson, in %
    nps_lo: float | None = None           # adjusted Wald interval, NPS_DECIMALS
    nps_hi: float | None = None

    @property
    def hidden(self) -> frozenset:
        return frozenset(k for k, v in self.counts.items() if v is None)

    @property
    def hidden_groups(self) -> frozenset:
        return frozenset(g for g, v in (self.nps_counts or {}).items() if v is None)


def _round(x: float | None, d: int) -> float | None:
    return None if x is None else round(x, d)


def render(shape: Shape, counts: Mapping[Key, int], n: int, hidden: frozenset,
           level: tuple, k: int) -> Published:
    """The figures shown at one step of the ladder, for `hidden` cells."""
    mean_dec, show_interval, show_pct, show_nps = level
    if not hidden:
        mean_dec, show_interval, show_pct, show_nps = MEAN_DECIMALS, True, True, True
    shown = {k: (None if k in hidden else int(counts.get(k, 0))) for k in shape.keys}
    base = n - sum(int(counts.get(k, 0)) for k in shape.apart)
    base_shown = all(shown[k] is not None for k in shape.apart)
    pct = {k: (_round(stats.percent(v, base), PCT_DECIMALS)
               if show_pct and k not in shape.apart else None)
           for k, v in shown.items()}
    pct_ci = {}
    if base_shown and base > 0:
        for k, v in shown.items():
            if pct[k] is not None and v is not None:
                w = stats.wilson(v, base)
                pct_ci[k] = (round(100 * w.lo, PCT_DECIMALS), round(100 * w.hi, PCT_DECIMALS))
    notes = []
    if hidden:
        notes.append(f"Some counts are {REASON}.")
    out = Published(n, shown, pct, notes=(), base=base if base_shown else None,
                    pct_ci=pct_ci)
    if shape.values and (not hidden or (shape.integer_values and mean_dec is not None)):
        vals = shape.value_of
        d = stats.describe({vals[k]: counts.get(k, 0) for k in vals if counts.get(k, 0)},
                           bounds=shape.bounds)
        if d.n:
            out = replace(out, mean=_round(d.mean, mean_dec), mean_n=d.n, decimals=mean_dec,
                          lo=_round(d.lo, mean_dec) if show_interval else None,
                          hi=_round(d.hi, mean_dec) if show_interval else None)
            if not hidden:
                out = replace(out, median=d.median, sd=_round(d.sd, mean_dec))
    if hidden and shape.values:
        if out.mean is None:
            notes.append(f"The mean is {REASON}.")
        else:
            if mean_dec < MEAN_DECIMALS:
                notes.append(f"The mean is rounded to {mean_dec} decimal: the second "
                             f"decimal is {REASON}.")
            if not show_interval:
                notes.append(f"The confidence interval is {REASON}.")
        notes.append(f"The median and standard deviation are {REASON}.")
    if hidden and not show_pct:
        notes.append(f"Percentages are {REASON}.")
    if shape.nps:
        if show_nps:
            groups = {g: sum(counts.get(v, 0) for v in vs) for g, vs in NPS_GROUPS}
            # A group of 1..k-1 people is a cell too; hidden, the score goes with it.
            g_hidden = {g for g, v in groups.items() if 0 < v < k}
            g_shown = {g: (None if g in g_hidden else v) for g, v in groups.items()}
            out = replace(out, nps_counts=g_shown, nps_pct={
                g: (_round(stats.percent(v, n), PCT_DECIMALS) if show_pct else None)
                for g, v in g_shown.items()})
            if not g_hidden and n:
                nps = stats.net_promoter({v: counts.get(v, 0) for v in range(11)})
                iv = stats.nps_interval(nps.promoters, nps.detractors, nps.n)
                out = replace(out, nps_score=_round(nps.score, NPS_DECIMALS),
                              nps_lo=_round(iv.lo, NPS_DECIMALS),
                              nps_hi=_round(iv.hi, NPS_DECIMALS))
            else:
                notes.append(f"The net promoter score is {REASON}.")
        else:
            notes.append(f"The net promoter groups and score are {REASON}.")
    return replace(out, notes=tuple(notes))


def attack(shape: Shape, pub: Published) -> audit.Problem:
    """The attacker's problem: every figure of `pub`, at the precision shown."""
    p = audit.Problem()
    cells = {k: ("c", k) for k in shape.keys}
    for key in shape.keys:
        p.cell(cells[key], upper=None if shape.exclusive else pub.n)
    if shape.exclusive:
        p.total(cells.values(), pub.n)
    for key, v in pub.counts.items():
        if v is not None:
            p.fix(cells[key], v)
    base_cells = [cells[k] for k in shape.keys if k not in shape.apart]
    for key, pc in pub.pct.items():
        if pc is not None:
            a, b = audit.interval(pc, PCT_DECIMALS)
            if shape.apart:  # a share of the answers not counted apart
                p.ratio([cells[key]], base_cells, a / 100, b / 100)
            else:
                p.between({cells[key]: 1.0}, pub.n * a / 100, pub.n * b / 100)
    if pub.mean is not None:
        vals = {cells[k]: v for k, v in shape.values}
        if shape.integer_values:
            p.t_interval({c: int(v) for c, v in vals.items()}, pub.mean_n, pub.mean,
                         pub.lo, pub.hi, pub.decimals, bounds=shape.bounds)
        else:  # only ever published without hidden cells: the mean as a rounded ratio
            p.total(vals, pub.mean_n)
            p.mean(vals, *audit.interval(pub.mean, pub.decimals))
    if pub.nps_counts is not None:
        for g, vs in NPS_GROUPS:
            gk = ("g", g)
            p.cell(gk)
            p.equal({gk: 1.0, **{cells[v]: -1.0 for v in vs if v in cells}}, 0.0)
            if pub.nps_counts[g] is not None:
                p.fix(gk, pub.nps_counts[g])
            if pub.nps_pct.get(g) is not None:
                a, b = audit.interval(pub.nps_pct[g], PCT_DECIMALS)
                p.between({gk: 1.0}, pub.n * a / 100, pub.n * b / 100)
        if pub.nps_score is not None:
            a, b = audit.interval(pub.nps_score, NPS_DECIMALS)
            p.between({("g", "promoters"): 1.0, ("g", "detractors"): -1.0},
                      pub.n * a / 100, pub.n * b / 100)
    return p


def hidden_keys(pub: Published) -> list:
    return [("c", k) for k in pub.counts if pub.counts[k] is None] + \
        [("g", g) for g in pub.hidden_groups]


def exposed(shape: Shape, pub: Published, k: int) -> dict:
    """The hidden cells (and NPS groups) an attacker can narrow from `pub`."""
    keys = hidden_keys(pub)
    if not keys:
        return {}
    return audit.exposed(attack(shape, pub), keys, k)


def publish(shape: Shape, counts: Mapping[Key, int], n: int, k: int,
            force_hidden=frozenset()) -> Published:
    """Decide every figure of one distribution (see the module docstring)."""
    counts = {key: int(counts.get(key, 0)) for key in shape.keys}
    hidden = set(force_hidden) & set(shape.keys)
    hidden |= {key for key, v in counts.items() if 0 < v < k}
    while True:
        frozen = frozenset(hidden)
        for level in LADDER:
            pub = render(shape, counts, n, frozen, level, k)
            if not pub.hidden and not pub.hidden_groups:
                return pub
            if not exposed(shape, pub, k):
                return pub
        rest = sorted((v, i, key) for i, (key, v) in enumerate(counts.items())
                      if key not in hidden and v > 0)
        if not rest:
            return pub  # everything hidden already; n alone is about >= k people
        hidden.add(rest[0][2])
