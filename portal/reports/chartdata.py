"""The dashboard's charts: data, titles and descriptions, and the tables beside them."""

from __future__ import annotations

from dataclasses import dataclass

from markupsafe import Markup

from portal import charts
from portal.reports.dashboard import Dashboard, ObjectiveRow, label_cell
from portal.reports.labels import short_name
from portal.reports.tables import Cell, Column, Table, mean_cell, share_cell


@dataclass
class Chart:
    key: str
    title: str
    description: str
    svg: Markup
    table: Table


def _objective(r: ObjectiveRow) -> Cell:
    return Cell(r.objective.code, (r.objective.code, r.objective.text),
                (r.objective.domain.position, r.objective.position), sub=r.objective.text)


def share_chart(dash: Dashboard, names: bool = False) -> Chart:
    """The ranking by share rating importance 4–5; `names`: objective names beside the
    codes on the chart (the board summary), not codes alone."""
    rows = sorted((r for r in dash.rows if r.est.show_share() and r.est.imp_high.p is not None),
                  key=lambda r: -r.est.imp_high.p)
    title = f"Share of members rating each objective important (4–5), {dash.round.name}"
    desc = ("Objectives ranked by the share rating importance 4 or 5, with 95% Wilson "
            "intervals. Overlapping intervals mean the ranking between those objectives "
            "is uncertain.")
    # Names cut to 36 characters fit the label column at 12 px bold in any sans font.
    items = [charts.Interval(f"{r.objective.code} {short_name(r.objective.text, 36)}" if names
                             else r.objective.code, r.est.imp_high.p, r.est.imp_high.lo,
                             r.est.imp_high.hi) for r in rows]
    table = Table("share-ranked", title, [
        Column("rank", "Rank"), Column("objective", "Objective", numeric=False,
                                       export_labels=("Objective", "Text")),
        Column("share", "Important (4–5)", export_labels=("Important 4-5 %", "lower 95%",
                                                          "upper 95%"))], row_header="objective")
    table.rows = [{"rank": Cell(str(i), (i,), i), "objective": _objective(r),
                   "share": share_cell(r.est.imp_high, True)} for i, r in enumerate(rows, 1)]
    svg = charts.dot_whisker(items, title, desc, axis_label="Share rating 4–5 (95% interval)",
                             **({"label_width": 340, "width": 980} if names else {}))
    return Chart("share-named" if names else "share", title, desc, svg, table)


def ipa_chart(dash: Dashboard) -> Chart:
    rows = [r for r in dash.rows if r.est.show_importance and r.est.show_performance
            and r.est.imp_mean.mean is not None and r.est.perf_mean.mean is not None]
    ci, cp = dash.centre
    title = f"Importance against performance, {dash.round.name}"
    desc = ("Each point is an objective at its mean importance (across) and mean performance "
            f"(up). Dashed crosshairs sit at {dash.reference.text}; the dotted diagonal "
            "marks performance equal to importance. Objectives to the lower right matter "
            "more than members think they are served. Each objective's priority class in "
            "the table comes from its intervals, not from where its point falls.")
    points = [charts.Point(r.objective.code, r.est.imp_mean.mean, r.est.perf_mean.mean)
              for r in rows]
    table = Table("importance-performance", title, [
        Column("objective", "Objective", numeric=False, export_labels=("Objective", "Text")),
        Column("imp", "Mean importance", export_labels=("Mean importance", "lower 95%",
                                                        "upper 95%")),
        Column("perf", "Mean performance", export_labels=("Mean performance", "lower 95%",
                                                          "upper 95%")),
        Column("quadrant", "Priority class", numeric=False,
               export_labels=("Priority class", "Compared with"))], row_header="objective")
    table.rows = [{"objective": _objective(r),
                   "imp": mean_cell(r.est.imp_mean, True, digits=r.est.digits("imp_mean")),
                   "perf": mean_cell(r.est.perf_mean, True, digits=r.est.digits("perf_mean")),
                   "quadrant": label_cell(r.quadrant, r.est, dash.reference)} for r in rows]
    svg = charts.scatter(points, ci, cp, title, desc)
    return Chart("ipa", title, desc, svg, table)


def gap_chart(dash: Dashboard) -> Chart:
    rows = sorted((r for r in dash.rows if r.est.show_gap and r.est.gap.mean is not None),
                  key=lambda r: r.est.gap.mean)
    title = f"Gap between performance and importance, {dash.round.name}"
    desc = ("Mean of each member's performance rating minus their importance rating, over "
            "the members who answered both questions, with 95% paired intervals that stay "
            "on the −4 to 4 scale; the largest shortfalls come first. Bars to the left "
            "(hatched) mean members rate performance below importance.")
    items = [charts.Interval(r.objective.code, r.est.gap.mean, r.est.gap.lo, r.est.gap.hi)
             for r in rows]
    table = Table("gaps", title, [
        Column("objective", "Objective", numeric=False, export_labels=("Objective", "Text")),
        Column("gap", "Gap", export_labels=("Gap", "lower 95%", "upper 95%")),
        Column("n", "Members with both answers")], row_header="objective")
    table.rows = [{"objective": _objective(r),
                   "gap": mean_cell(r.est.gap, True, signed=True, digits=r.est.digits("gap")),
                   "n": Cell(f"{r.est.gap.n:,}", (r.est.gap.n,), r.est.gap.n)} for r in rows]
    return Chart("gap", title, desc, charts.gap_bars(items, title, desc), table)


def all_charts(dash: Dashboard) -> list[Chart]:
    return [share_chart(dash), ipa_chart(dash), gap_chart(dash)]
