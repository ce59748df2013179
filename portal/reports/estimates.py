"""From count histograms to the figures a report shows, with the privacy rule applied.

`estimate(counts)` gives every figure of one slice; `reportable` flags say
whether its base is large enough to show (portal.privacy). Pages, exports and
`flask reports verify` all go through here.
"""

from __future__ import annotations

from dataclasses import dataclass

from portal import privacy, stats
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

    @property
    def show_rows(self) -> bool:
        return privacy.is_reportable(self.rows)

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


def _share_allowed(hist: dict[int, int], answers: frozenset[int], share: stats.Proportion
                   ) -> bool:
    """A share of k in n is two counts, k and n - k, of groups of answers. It is shown
    only when neither count is a small group, and when it cannot be set against the
    slice's distribution table to recover a cell that table hides: the hidden cells
    must lie all inside or all outside the share's answers (their sum is known anyway).
    Otherwise "97% of 31" would tell that one member answered otherwise, and a share
    of 4-5 next to a shown count of 5s would give back a hidden count of 4s."""
    if not privacy.is_reportable_split(share.k, share.n):
        return False
    shown = privacy.suppress_cells({v: int(hist.get(v, 0)) for v in ANSWERS})
    hidden = {v for v, n in shown.items() if n is None}
    return not (hidden & answers) or hidden <= answers


def estimate(counts: Counts | None) -> SliceEstimate:
    c = counts or Counts()
    shares = {"imp_high": stats.share_high(c.importance), "imp_low": stats.share_low(c.importance),
              "perf_high": stats.share_high(c.performance),
              "perf_low": stats.share_low(c.performance)}
    allowed = frozenset(
        name for name, share in shares.items()
        if _share_allowed(c.importance if name.startswith("imp") else c.performance,
                          _SHARE_ANSWERS[name.split("_")[1]], share))
    return SliceEstimate(
        rows=c.rows,
        imp_n=c.answered("importance"),
        perf_n=c.answered("performance"),
        imp_dont_know=c.importance.get(0, 0),
        perf_dont_know=c.performance.get(0, 0),
        imp_high=shares["imp_high"],
        imp_low=shares["imp_low"],
        imp_mean=stats.mean_from_histogram(c.importance),
        perf_high=shares["perf_high"],
        perf_low=shares["perf_low"],
        perf_mean=stats.mean_from_histogram(c.performance),
        gap=stats.paired_difference(c.gap_n, c.gap_sum, c.gap_sum_sq),
        shares_allowed=allowed,
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
