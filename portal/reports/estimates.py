"""From count histograms to the figures a report shows, with the privacy rule applied.

`estimate(counts)` gives every figure of one slice; `reportable` flags say
whether its base is large enough to show (portal.privacy). Pages, exports and
`flask reports verify` all go through here.
"""

from __future__ import annotations

from dataclasses import dataclass

from portal import privacy, stats
from portal.reports.queries import Counts


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


def estimate(counts: Counts | None) -> SliceEstimate:
    c = counts or Counts()
    return SliceEstimate(
        rows=c.rows,
        imp_n=c.answered("importance"),
        perf_n=c.answered("performance"),
        imp_dont_know=c.importance.get(0, 0),
        perf_dont_know=c.performance.get(0, 0),
        imp_high=stats.share_high(c.importance),
        imp_low=stats.share_low(c.importance),
        imp_mean=stats.mean_from_histogram(c.importance),
        perf_high=stats.share_high(c.performance),
        perf_low=stats.share_low(c.performance),
        perf_mean=stats.mean_from_histogram(c.performance),
        gap=stats.paired_difference(c.gap_n, c.gap_sum, c.gap_sum_sq),
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
