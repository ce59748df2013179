"""Objective drill-down: distributions, segment breakdown, leadership updates, comments."""

from __future__ import annotations

from dataclasses import dataclass, field

import sqlalchemy as sa

from portal import charts, privacy, segments
from portal.extensions import db
from portal.models import FeedbackRound, Objective, ObjectiveUpdate
from portal.models.feedback import IMPORTANCE_LABELS, PERFORMANCE_LABELS
from portal.reports import comments, queries
from portal.reports.aggregates import ALL, NO_ANSWER
from portal.reports.estimates import ANSWERS, SliceEstimate, estimate, segment_estimates
from portal.reports.tables import (
    Column,
    Table,
    count_cell,
    mean_cell,
    share_cell,
    suppressed_cell,
    text_cell,
)

WITHHELD_NOTE = ("Where a hidden count could otherwise be worked out from the mean, its "
                 "interval or a share, those figures are shown with fewer decimals or "
                 "withheld.")


def answer_label(measure: str, v: int) -> str:
    if v == NO_ANSWER:
        return "Not answered"
    labels = IMPORTANCE_LABELS if measure == "importance" else PERFORMANCE_LABELS
    return f"{v} {labels[v]}" if v else labels[v]


@dataclass
class Drilldown:
    round: FeedbackRound
    objective: Objective
    dimension: segments.Dimension
    est: SliceEstimate
    distribution: dict[str, dict[int, int | None]]      # measure -> answer -> shown count
    tables: dict[str, Table] = field(default_factory=dict)
    segment_rows: list[tuple[str, dict[int, int | None], dict | None]] = field(
        default_factory=list)
    updates: list[ObjectiveUpdate] = field(default_factory=list)
    comments: comments.CommentSummary | None = None
    comment_filter_label: str = ""

    @property
    def empty(self) -> bool:
        return self.est.rows == 0

    def chart_rows(self) -> list[charts.Distribution]:
        return [charts.Distribution(m.capitalize(), {s: self.distribution[m].get(s)
                                                     for s in (1, 2, 3, 4, 5)})
                for m in ("importance", "performance")]

    def segment_chart_rows(self) -> list[charts.Distribution]:
        return [charts.Distribution(label, hist, groups)
                for label, hist, groups in self.segment_rows]


def build(rnd: FeedbackRound, obj: Objective, dimension: str = "career_stage",
          comment_value: str | None = None) -> Drilldown:
    dim = segments.BY_KEY[dimension]
    total = queries.load_counts(rnd.id, ALL, objective_id=obj.id).get((obj.id, ""))
    est = estimate(total)
    # The cells the disclosure step lets pages show (portal.disclosure.ratings).
    dist = {measure: dict(est.cells[measure]) for measure in ("importance", "performance")}
    dd = Drilldown(rnd, obj, dim, est, dist)
    dd.tables["distribution"] = _distribution_table(dd)
    dd.tables["segments"] = _segment_table(dd, total, queries.load_counts(
        rnd.id, dimension, objective_id=obj.id))
    dd.updates = list(db.session.scalars(
        sa.select(ObjectiveUpdate).where(ObjectiveUpdate.objective_id == obj.id)
        .order_by(ObjectiveUpdate.published_at.desc()).limit(5)))
    flt = comments.CommentFilter(round_id=rnd.id, objective_id=obj.id)
    if comment_value is not None:
        flt.dimension, flt.value = dimension, comment_value
        dd.comment_filter_label = f"{dim.label}: {dim.label_for(comment_value or None)}"
    dd.comments = comments.summarise(flt)
    return dd


def _distribution_table(dd: Drilldown) -> Table:
    cols = [Column("answer", "Answer", numeric=False),
            Column("importance", "Importance: members"),
            Column("performance", "Performance: members")]
    table = Table("distribution", f"Answers for {dd.objective.code}, {dd.round.name}", cols,
                  row_header="answer",
                  note="Counts below the privacy threshold read “fewer than "
                       f"{privacy.min_n()}”, and so do the counts that would give them back "
                       "by arithmetic." + (" " + WITHHELD_NOTE if dd.est.withheld else ""))
    for v in ANSWERS:
        table.rows.append({
            "answer": text_cell(answer_label("importance", v) + (
                f" / {PERFORMANCE_LABELS[v]}" if v not in (0, NO_ANSWER) else ""), sort=v),
            "importance": count_cell(dd.distribution["importance"][v]),
            "performance": count_cell(dd.distribution["performance"][v]),
        })
    return table


SEGMENT_COLUMNS = [
    Column("segment", "Segment", numeric=False),
    Column("raters", "Raters"),
    Column("imp_high", "Important (4–5)",
           export_labels=("Important 4-5 %", "Important lower 95%", "Important upper 95%")),
    Column("perf_high", "Doing well (4–5)",
           export_labels=("Doing well 4-5 %", "Doing well lower 95%",
                          "Doing well upper 95%")),
    Column("imp_mean", "Mean importance",
           export_labels=("Mean importance", "Importance lower 95%", "Importance upper 95%")),
    Column("perf_mean", "Mean performance",
           export_labels=("Mean performance", "Performance lower 95%",
                          "Performance upper 95%")),
    Column("gap", "Gap", export_labels=("Gap", "Gap lower 95%", "Gap upper 95%")),
]


def _segment_table(dd: Drilldown, total: queries.Counts | None,
                   by_value: dict[tuple[int, str], queries.Counts]) -> Table:
    dim = dd.dimension
    present = {v for (_, v) in by_value}
    order = [c for c in [*dim.codes, ""] if c in present] + sorted(
        present - {*dim.codes, ""})
    ests = segment_estimates(total, {v: by_value[(dd.objective.id, v)] for v in order})
    table = Table("segments", f"{dd.objective.code} by {dim.label.lower()}, {dd.round.name}",
                  SEGMENT_COLUMNS, row_header="segment")
    for v in order:
        label = dim.label_for(v or None)
        e = ests[v]
        if all(d.rows_hidden for d in e.decisions.values()):
            table.rows.append({"segment": text_cell(label), "raters": suppressed_cell(),
                               **{k: suppressed_cell(3) for k in
                                  ("imp_high", "perf_high", "imp_mean", "perf_mean", "gap")}})
            dd.segment_rows.append((label, dict.fromkeys((1, 2, 3, 4, 5)), None))
            continue
        table.rows.append({
            "segment": text_cell(label),
            "raters": count_cell(e.rows if e.show_rows else None, withheld=not e.show_rows),
            "imp_high": share_cell(e.imp_high, e.show_importance,
                                   allowed=e.show_share("imp_high")),
            "perf_high": share_cell(e.perf_high, e.show_performance,
                                    allowed=e.show_share("perf_high")),
            "imp_mean": mean_cell(e.imp_mean, e.show_importance, digits=e.digits("imp_mean")),
            "perf_mean": mean_cell(e.perf_mean, e.show_performance,
                                   digits=e.digits("perf_mean")),
            "gap": mean_cell(e.gap, e.show_gap, signed=True, digits=e.digits("gap")),
        })
        dd.segment_rows.append((label, {s: e.cells["importance"][s] for s in (1, 2, 3, 4, 5)},
                                e.groups.get("importance")))
    return table
