"""Trends: two rounds side by side per objective, the change, and whether it is
beyond chance.

The rounds are compared as two samples: the two-proportion z test for shares
and Welch's t test for means (and for the gap, from each round's paired
differences). Many members answer both rounds, which makes these tests
conservative. "Beyond chance" means a Benjamini-Hochberg adjusted p below 0.05
across the objectives of the table.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from portal import charts, numfmt, privacy, stats
from portal.models import FeedbackRound, Objective
from portal.reports import queries
from portal.reports.aggregates import ALL
from portal.reports.estimates import SliceEstimate, estimate
from portal.reports.tables import Cell, Column, Table, empty_cell, suppressed_cell

ALPHA = 0.05


@dataclass
class Change:
    before: SliceEstimate
    after: SliceEstimate
    share: stats.Difference          # share important, after - before
    performance: stats.Difference    # mean performance
    gap: stats.Difference
    share_q: float | None = None
    performance_q: float | None = None
    gap_q: float | None = None


@dataclass
class Trends:
    round: FeedbackRound
    compare: FeedbackRound
    rows: list[tuple[Objective, Change]]
    tables: dict[str, Table] = field(default_factory=dict)

    @property
    def empty(self) -> bool:
        return not any(c.before.rows and c.after.rows for _, c in self.rows)

    def dumbbell_rows(self, measure: str) -> list[charts.Pair]:
        out = []
        for obj, c in self.rows:
            if measure == "share":
                b = (charts.Interval("", c.before.imp_high.p, c.before.imp_high.lo,
                                     c.before.imp_high.hi) if c.before.show_share()
                     else charts.Interval("", None))
                a = (charts.Interval("", c.after.imp_high.p, c.after.imp_high.lo,
                                     c.after.imp_high.hi) if c.after.show_share()
                     else charts.Interval("", None))
            else:
                b = (charts.Interval("", c.before.perf_mean.mean, c.before.perf_mean.lo,
                                     c.before.perf_mean.hi) if c.before.show_performance
                     else charts.Interval("", None))
                a = (charts.Interval("", c.after.perf_mean.mean, c.after.perf_mean.lo,
                                     c.after.perf_mean.hi) if c.after.show_performance
                     else charts.Interval("", None))
            out.append(charts.Pair(obj.code, b, a))
        return out


def build(rnd: FeedbackRound, compare: FeedbackRound, source: str = "summary") -> Trends:
    after_counts = queries.load_counts(rnd.id, ALL, source)
    before_counts = queries.load_counts(compare.id, ALL, source)
    objectives = queries.report_objectives([rnd.id, compare.id])
    rows = []
    for obj in objectives:
        b, a = estimate(before_counts.get((obj.id, ""))), estimate(after_counts.get((obj.id, "")))
        share = (stats.proportion_difference(a.imp_high.k, a.imp_high.n, b.imp_high.k,
                                             b.imp_high.n)
                 if a.show_share() and b.show_share() else _none())
        # A mean published without its interval carries no spread to test with.
        perf = (stats.welch_difference(a.perf_mean, b.perf_mean, bounds=stats.SCALE_BOUNDS)
                if a.show_performance and b.show_performance
                and None not in (a.perf_mean.sd, b.perf_mean.sd) else _none())
        gap = (stats.welch_difference(a.gap, b.gap, bounds=stats.GAP_BOUNDS,
                                     steps=stats.GAP_STEPS)
               if a.show_gap and b.show_gap and None not in (a.gap.sd, b.gap.sd)
               else _none())
        rows.append((obj, Change(b, a, share, perf, gap)))
    for attr in ("share", "performance", "gap"):
        qs = stats.benjamini_hochberg([getattr(c, attr).p for _, c in rows])
        for (_, c), q in zip(rows, qs, strict=True):
            setattr(c, f"{attr}_q", q)
    tr = Trends(rnd, compare, rows)
    tr.tables["trends"] = _table(tr)
    return tr


def _none() -> stats.Difference:
    return stats.Difference(None, None, None, None, None)


def _verdict(diff: stats.Difference, q: float | None) -> Cell:
    if diff.estimate is None:
        return empty_cell(2)
    beyond = q is not None and q < ALPHA
    text = ("Yes: " + ("up" if diff.estimate > 0 else "down")) if beyond else "No"
    return Cell(text, ("yes" if beyond else "no", "" if q is None else round(q, 4)),
                (beyond, q is not None and -q), flag="▲" if beyond and diff.estimate > 0
                else ("▼" if beyond else ""))


def _share(e: SliceEstimate) -> Cell:
    if not e.show_importance:
        return suppressed_cell(3) if e.rows else empty_cell(3)
    if not e.show_share():
        return suppressed_cell(3, privacy.split_suppressed_label())
    p = e.imp_high
    return Cell(numfmt.percent(p.p), (round(100 * p.p, 1), round(100 * p.lo, 1),
                                      round(100 * p.hi, 1)), p.p,
                sub=numfmt.percent_interval(p.lo, p.hi))


def _mean(m: stats.Mean, shown: bool, rows: int, signed: bool = False, digits: int = 2) -> Cell:
    if not shown:
        return suppressed_cell(3) if rows else empty_cell(3)
    fmt = numfmt.signed if signed else numfmt.number
    if m.mean is None:
        return (suppressed_cell(3, privacy.withheld_label()) if m.n else empty_cell(3))
    sub = numfmt.interval(m.lo, m.hi, digits, sign=signed)
    return Cell(fmt(m.mean, digits), (round(m.mean, 3), "" if m.lo is None else round(m.lo, 3),
                                     "" if m.hi is None else round(m.hi, 3)), m.mean, sub=sub)


def _diff(d: stats.Difference, percent: bool) -> Cell:
    if d.estimate is None:
        return empty_cell(3)
    if percent:
        return Cell(numfmt.points(d.estimate),
                    (round(100 * d.estimate, 1), round(100 * d.lo, 1), round(100 * d.hi, 1)),
                    d.estimate, sub=numfmt.interval(100 * d.lo, 100 * d.hi, 0, sign=True))
    return Cell(numfmt.signed(d.estimate), (round(d.estimate, 3), round(d.lo, 3),
                                            round(d.hi, 3)),
                d.estimate, sub=numfmt.interval(d.lo, d.hi, 2, sign=True))


def _table(tr: Trends) -> Table:
    b, a = tr.compare.name, tr.round.name
    ci = ("lower 95%", "upper 95%")
    cols = [
        Column("objective", "Objective", numeric=False),
        Column("share_b", f"Important, {b}",
               export_labels=(f"Important % {b}", *(f"{x} {b}" for x in ci))),
        Column("share_a", f"Important, {a}",
               export_labels=(f"Important % {a}", *(f"{x} {a}" for x in ci))),
        Column("share_d", "Change in important", export_labels=("Change in important (pts)",
                                                   "Change lower 95%", "Change upper 95%")),
        Column("share_v", "Important: beyond chance?",
               export_labels=("Important change beyond chance", "adjusted p")),
        Column("perf_b", f"Performance, {b}",
               export_labels=(f"Mean performance {b}", *(f"{x} {b}" for x in ci))),
        Column("perf_a", f"Performance, {a}",
               export_labels=(f"Mean performance {a}", *(f"{x} {a}" for x in ci))),
        Column("perf_d", "Change in performance", export_labels=("Change in performance",
                                                   "Change lower 95%", "Change upper 95%")),
        Column("perf_v", "Performance: beyond chance?", export_labels=(
            "Performance change beyond chance", "adjusted p")),
        Column("gap_d", "Change in gap", export_labels=("Change in gap", "Change lower 95%",
                                                        "Change upper 95%")),
        Column("gap_v", "Gap: beyond chance?", export_labels=("Gap change beyond chance",
                                                           "adjusted p")),
    ]
    table = Table("trends", f"Changes from {b} to {a}", cols, row_header="objective",
                  note="Share important: two-proportion z test; means and gap: Welch's t "
                       "test; p adjusted with Benjamini–Hochberg across objectives.")
    for obj, c in tr.rows:
        table.rows.append({
            "objective": Cell(obj.code, (obj.code,), (obj.domain.position, obj.position),
                              sub=obj.text),
            "share_b": _share(c.before), "share_a": _share(c.after),
            "share_d": _diff(c.share, True), "share_v": _verdict(c.share, c.share_q),
            "perf_b": _mean(c.before.perf_mean, c.before.show_performance, c.before.rows,
                            digits=c.before.digits("perf_mean")),
            "perf_a": _mean(c.after.perf_mean, c.after.show_performance, c.after.rows,
                            digits=c.after.digits("perf_mean")),
            "perf_d": _diff(c.performance, False),
            "perf_v": _verdict(c.performance, c.performance_q),
            "gap_d": _diff(c.gap, False), "gap_v": _verdict(c.gap, c.gap_q),
        })
    return table
