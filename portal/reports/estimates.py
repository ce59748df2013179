"""From count histograms to the figures a report shows, with the privacy rule applied.

`estimate(counts)` gives every figure of one slice, already through the disclosure
step (portal.disclosure.ratings): where a cell is hidden, the means, intervals and
shares it holds are the published ones (rounded, or withheld) and the gap is the
difference of the two published means, so nothing computed from them downstream
(charts, exports, trends, tests between segments) can carry more than the page.
`reportable` flags say whether a base is large enough to show (portal.privacy).
Pages, exports and `flask reports verify` all go through here.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from portal import privacy, stats
from portal.disclosure import ratings as disclosure
from portal.disclosure import segment_rows
from portal.reports.aggregates import NO_ANSWER
from portal.reports.queries import Counts

# Every answer a distribution table shows, in its order: the scale, "don't know" (0)
# and "not answered".
ANSWERS = (1, 2, 3, 4, 5, 0, NO_ANSWER)
_SHARE_ANSWERS = {"high": frozenset({4, 5}), "low": frozenset({1, 2})}


@dataclass(frozen=True)
class SliceEstimate:
    rows: int                    # ratings in the slice
    imp_n: int                   # importance answered on the scale
    perf_n: int
    imp_dont_know: int
    perf_dont_know: int
    imp_high: stats.Proportion
    imp_low: stats.Proportion
    imp_mean: stats.Mean
    perf_high: stats.Proportion
    perf_low: stats.Proportion
    perf_mean: stats.Mean
    gap: stats.Mean
    # Shares that pass the privacy rule for shares (see _share_allowed), by name.
    shares_allowed: frozenset[str] = frozenset()
    # The disclosure step's decision per measure, and the cells it lets pages show.
    decisions: dict[str, disclosure.Decision] = field(default_factory=dict)
    cells: dict[str, dict[int, int | None]] = field(default_factory=dict)
    # A grouped segment row: the published count of each group of answers, by measure.
    groups: dict[str, dict[tuple[int, ...], int]] = field(default_factory=dict)

    def digits(self, name: str) -> int:
        """Decimals a mean (or the gap) is published to on pages."""
        if name == "gap":
            return min(self.digits("imp_mean"), self.digits("perf_mean"))
        d = self.decisions.get("importance" if name.startswith("imp") else "performance")
        return 2 if d is None or not d.audited or d.digits is None else min(2, d.digits)

    @property
    def withheld(self) -> bool:
        """Something beyond small cells was withheld to protect a small group."""
        return any(d.reduced for d in self.decisions.values())

    @property
    def show_rows(self) -> bool:
        known = all(d.rows_known and not d.rows_hidden for d in self.decisions.values())
        return privacy.is_reportable(self.rows) and known

    @property
    def show_importance(self) -> bool:
        return privacy.is_reportable(self.imp_n)

    @property
    def show_performance(self) -> bool:
        return privacy.is_reportable(self.perf_n)

    @property
    def show_gap(self) -> bool:
        return privacy.is_reportable(self.gap.n)

    def show_share(self, name: str = "imp_high") -> bool:
        """Whether a share may be shown: its base is large enough and it gives away no
        small group (see _share_allowed)."""
        base = self.show_importance if name.startswith("imp") else self.show_performance
        return base and name in self.shares_allowed

    @property
    def show_imp_high(self) -> bool:
        return self.show_share("imp_high")

    @property
    def show_perf_high(self) -> bool:
        return self.show_share("perf_high")

    def figures(self) -> dict[str, float | int | None]:
        """Every figure as plain numbers (for verification and tests)."""
        out: dict[str, float | int | None] = {"rows": self.rows, "imp_n": self.imp_n,
                                              "perf_n": self.perf_n}
        for name in ("imp_high", "imp_low", "perf_high", "perf_low"):
            p = getattr(self, name)
            out.update({f"{name}.p": p.p, f"{name}.lo": p.lo, f"{name}.hi": p.hi})
        for name in ("imp_mean", "perf_mean", "gap"):
            m = getattr(self, name)
            out.update({f"{name}.n": m.n, f"{name}.mean": m.mean, f"{name}.lo": m.lo,
                        f"{name}.hi": m.hi})
        return out


def _share_allowed(hist: dict[int, int], answers: frozenset[int], share: stats.Proportion,
                   decision: disclosure.Decision | None = None) -> bool:
    """A share of k in n is two counts, k and n - k, of groups of answers. It is shown
    only when neither count is a small group, and when it cannot be set against the
    slice's distribution table to recover a cell that table hides: the hidden cells
    must lie all inside or all outside the share's answers (their sum is known anyway).
    Otherwise "97% of 31" would tell that one member answered otherwise, and a share
    of 4-5 next to a shown count of 5s would give back a hidden count of 4s."""
    if not privacy.is_reportable_split(share.k, share.n):
        return False
    if decision is not None and decision.audited:
        return True      # the auditor has checked the share against the hidden cells
    shown = privacy.suppress_cells({v: int(hist.get(v, 0)) for v in ANSWERS})
    hidden = {v for v, n in shown.items() if n is None}
    return not (hidden & answers) or hidden <= answers


def _published_mean(m: stats.Mean, d: disclosure.Decision) -> stats.Mean:
    """The mean as published: unchanged where nothing is hidden, else rounded to the
    decided decimals, its interval rounded or dropped, the spread only what the
    rounded interval says (or None), the mean itself None when withheld."""
    if not d.audited or m.mean is None:
        return m
    if d.digits is None:
        return stats.Mean(m.n, None, None, None, None)
    mean = round(m.mean, d.digits)
    if not d.interval or m.lo is None:
        return stats.Mean(m.n, mean, None, None, None)
    lo, hi = round(m.lo, d.digits), round(m.hi, d.digits)
    sd = stats.sd_from_interval(m.n, mean, lo, hi, *stats.SCALE_BOUNDS)
    return stats.Mean(m.n, mean, sd, lo, hi)


def _published_share(p: stats.Proportion, d: disclosure.Decision) -> stats.Proportion:
    if not d.audited or p.p is None:
        return p
    f = 10 ** (d.share_digits + 2)
    shown = round(p.p * f) / f
    return stats.Proportion(round(shown * p.n), p.n, shown, round(p.lo * f) / f,
                            round(p.hi * f) / f)


def _gap_from_means(imp: stats.Mean, perf: stats.Mean, n: int) -> stats.Mean:
    """Performance minus importance from the two published means; its interval from
    theirs (as if the samples were independent, which for members who answer both
    is the wider, safer choice)."""
    if imp.mean is None or perf.mean is None:
        return stats.Mean(n, None, None, None, None)
    mean = perf.mean - imp.mean
    if imp.lo is None or perf.lo is None:
        return stats.Mean(n, mean, None, None, None)
    # Each side's distance from its mean to each end, combined (the bounded-scale
    # intervals are not symmetric), and the result kept on the -4..4 scale.
    down = math.hypot(imp.hi - imp.mean, perf.mean - perf.lo)
    up = math.hypot(imp.mean - imp.lo, perf.hi - perf.mean)
    lo, hi = max(stats.GAP_BOUNDS[0], mean - down), min(stats.GAP_BOUNDS[1], mean + up)
    sd = stats.sd_from_interval(n, mean, lo, hi, *stats.GAP_BOUNDS) if n > 1 else None
    return stats.Mean(n, mean, sd, lo, hi)


SEGMENT_MEASURES = ("importance", "performance")


def segment_estimates(total: Counts | None, by_value: dict[str, Counts]
                      ) -> dict[str, SliceEstimate]:
    """Estimates of every segment row of one dimension, decided together with the
    all-members row they add up to (portal.disclosure.segment_rows)."""
    t = total or Counts()
    t_est = estimate(t)
    decided = segment_rows.decide(
        {m: getattr(t, m) for m in SEGMENT_MEASURES},
        {v: {m: getattr(c, m) for m in SEGMENT_MEASURES} for v, c in by_value.items()},
        {m: t_est.decisions[m] for m in SEGMENT_MEASURES})
    return {v: estimate(c, decided[v]) for v, c in by_value.items()}


def published_scale(hist: dict[int, int], kind: str
                    ) -> tuple[stats.Proportion | stats.Mean, bool]:
    """The share rating 4–5 (kind "share") or the mean of a bare scale histogram (a
    crossed heatmap cell), decided on its own; and whether the auditor had to act."""
    full = {v: int(hist.get(v, 0)) for v in stats.SCALE}
    h = disclosure._as_hist(full)
    # Crossed cells are many: the fixed rule, not the solver (portal.disclosure.ratings).
    d = disclosure.coarse(h, disclosure._first_hidden(h, frozenset(stats.SCALE),
                                                      privacy.min_n()), privacy.min_n())
    if kind == "share":
        share = stats.share_high(full)
        if "high" not in d.shares:
            return stats.Proportion(share.k, share.n, None, None, None), d.audited
        return _published_share(share, d), d.audited
    return _published_mean(stats.mean_from_histogram(full), d), d.audited


def estimate(counts: Counts | None,
             decisions: dict[str, disclosure.Decision] | None = None) -> SliceEstimate:
    """Every figure of one slice as published. `decisions`: the disclosure step's
    decisions when the slice is one row of a linked table (segment_estimates);
    by default the slice is decided on its own."""
    c = counts or Counts()
    hists = {"importance": c.importance, "performance": c.performance}
    known = all(disclosure.rows_publishable(h) for h in hists.values())
    ds = decisions or {m: disclosure.decide(h, rows_known=known) for m, h in hists.items()}
    shares = {"imp_high": stats.share_high(c.importance), "imp_low": stats.share_low(c.importance),
              "perf_high": stats.share_high(c.performance),
              "perf_low": stats.share_low(c.performance)}
    allowed = set()
    for name, share in shares.items():
        measure = "importance" if name.startswith("imp") else "performance"
        d = ds[measure]
        which = name.split("_")[1]
        if (which in d.shares and
                _share_allowed(hists[measure], _SHARE_ANSWERS[which], share, d)):
            allowed.add(name)
        shares[name] = _published_share(share, d)
    imp_mean = _published_mean(stats.mean_from_histogram(c.importance), ds["importance"])
    perf_mean = _published_mean(stats.mean_from_histogram(c.performance), ds["performance"])
    gap = stats.paired_difference(c.gap_n, c.gap_sum, c.gap_sum_sq)
    if ds["importance"].audited or ds["performance"].audited:
        gap = _gap_from_means(imp_mean, perf_mean, c.gap_n)
    cells = {m: {v: (None if v in ds[m].hidden else int(hists[m].get(v, 0))) for v in ANSWERS}
             for m in hists}
    groups = {m: {g: sum(int(hists[m].get(a, 0)) for a in g) for g in ds[m].groups}
              for m in hists if ds[m].groups is not None}
    return SliceEstimate(
        rows=c.rows,
        imp_n=c.answered("importance"),
        perf_n=c.answered("performance"),
        imp_dont_know=c.importance.get(0, 0),
        perf_dont_know=c.performance.get(0, 0),
        imp_high=shares["imp_high"],
        imp_low=shares["imp_low"],
        imp_mean=imp_mean,
        perf_high=shares["perf_high"],
        perf_low=shares["perf_low"],
        perf_mean=perf_mean,
        gap=gap,
        shares_allowed=frozenset(allowed),
        decisions=ds,
        cells=cells,
        groups=groups,
    )


def centres(estimates: list[SliceEstimate]) -> tuple[float | None, float | None]:
    """Crosshairs of the importance-performance grid: grand means of the shown objectives."""
    shown = [e for e in estimates if e.show_importance and e.show_performance]
    return (stats.grand_mean(e.imp_mean.mean for e in shown),
            stats.grand_mean(e.perf_mean.mean for e in shown))


def quadrant_of(e: SliceEstimate, centre: tuple[float | None, float | None]) -> str | None:
    if not (e.show_importance and e.show_performance):
        return None
    return stats.quadrant(e.imp_mean.mean, e.perf_mean.mean, *centre)
