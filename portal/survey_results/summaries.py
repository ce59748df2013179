"""Question summaries for a slice of responses, with small groups suppressed.

Every count passes through `portal.privacy` before it reaches a page or an
export: a figure about fewer than PRIVACY_MIN_N people is None ("fewer than
10"), the next smallest cell is hidden with it, and estimates are only given for
groups that are large enough. Texts need PRIVACY_MIN_COMMENTS in the slice.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from portal import privacy, segments, stats
from portal.models import Survey, SurveyQuestion
from portal.survey_results import queries
from portal.survey_results.queries import ALL, Slice
from portal.surveys.answers import NA


@dataclass
class Row:
    label: str
    count: int | None          # None = suppressed
    pct: float | None = None
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass
class Table:
    caption: str
    rows: list[Row]
    base: str = "respondents"


@dataclass
class QuestionSummary:
    question: SurveyQuestion
    n: int | None                       # respondents (None = suppressed)
    tables: list[Table] = field(default_factory=list)
    description: stats.Description | None = None
    descriptions: list[tuple[str, stats.Description | None]] = field(default_factory=list)
    nps: stats.NetPromoter | None = None
    nps_hidden: bool = False
    texts_available: bool = False
    text_count: int | None = None


def suppressed_table(caption: str, labels_counts: list[tuple[str, int]], base: int,
                     extra: dict[str, dict[str, Any]] | None = None) -> Table:
    counts = dict(labels_counts)
    shown = privacy.suppress_cells(counts)
    rows = [Row(label, shown[label], stats.percent(shown[label], base),
                (extra or {}).get(label, {})) for label, _ in labels_counts]
    return Table(caption, rows)


def summarise(survey: Survey, where: Slice = ALL) -> tuple[int, list[QuestionSummary]]:
    """(responses in the slice, summaries of every question). Four grouped queries."""
    total = queries.count_responses(survey, where)
    questions = survey.ordered_questions()
    if not privacy.is_reportable(total):
        return total, [QuestionSummary(q, None) for q in questions]
    hists = queries.histograms(survey, where)
    n_by_q = queries.respondents_per_question(survey, where, hists)
    texts = queries.text_counts(survey, where)
    months = queries.date_months(survey, where, [q.id for q in questions if q.type == "date"])
    out = []
    for q in questions:
        n = n_by_q.get(q.id, 0)
        summary = QuestionSummary(q, privacy.suppress_total(n))
        n_texts = texts.get(q.id, 0)
        summary.text_count = privacy.suppress_total(n_texts)
        summary.texts_available = n_texts >= privacy.min_comments()
        if summary.n:
            _fill(summary, q, n, hists.get(q.id, {}), months.get(q.id, {}))
        out.append(summary)
    return total, out


def _fill(s: QuestionSummary, q: SurveyQuestion, n: int, hist: dict, months: dict) -> None:
    t = q.type
    by_item: dict[int, int] = {}
    for (item, _value), c in hist.items():
        by_item[item] = by_item.get(item, 0) + c
    if t in ("single_choice", "multiple_choice"):
        s.tables.append(suppressed_table(
            "Answers" + (" (more than one allowed; % of respondents)"
                         if t == "multiple_choice" else ""),
            [(o.label, by_item.get(o.id, 0)) for o in q.options], n))
    elif t == "likert":
        values = {int(v): c for (_i, v), c in hist.items() if v is not None}
        s.tables.append(_scale_table(q, values, n, "Answers"))
        s.description = _describe({v: c for v, c in values.items() if v != NA})
    elif t == "likert_matrix":
        for o in q.options:
            values = {int(v): c for (i, v), c in hist.items() if i == o.id and v is not None}
            s.tables.append(_scale_table(q, values, sum(values.values()), o.label))
            s.descriptions.append((o.label, _describe(
                {v: c for v, c in values.items() if v != NA})))
    elif t == "rating_0_10":
        values = {int(v): c for (_i, v), c in hist.items() if v is not None}
        s.tables.append(suppressed_table("Answers", [(str(v), values.get(v, 0))
                                                      for v in range(11)], n))
        s.description = _describe(values)
        nps = stats.net_promoter(values)
        parts = privacy.suppress_cells({"promoters": nps.promoters, "passives": nps.passives,
                                        "detractors": nps.detractors})
        # With one part hidden the score would let it be recovered: hide the score too.
        s.nps_hidden = any(v is None for v in parts.values())
        s.nps = nps
        s.tables.append(suppressed_table("Net promoter groups", [
            ("Promoters (9–10)", nps.promoters), ("Passives (7–8)", nps.passives),
            ("Detractors (0–6)", nps.detractors)], n))
    elif t == "ranking":
        labels = []
        extra = {}
        for o in q.options:
            ranks = {int(v): c for (i, v), c in hist.items() if i == o.id and v is not None}
            rs = stats.rank_summary(ranks, n)
            labels.append((o.label, rs.ranked_first))
            reportable = privacy.is_reportable(rs.times_ranked)
            extra[o.label] = {
                "times_ranked": privacy.suppress_total(rs.times_ranked),
                "mean_rank": rs.mean_rank if reportable else None,
            }
        table = suppressed_table("Ranked first (share of respondents), how often ranked and "
                                 "mean rank (1 = top)", labels, n, extra)
        for row in table.rows:
            # With few ranks the mean rank gives the hidden "ranked first" count away
            # (top 2: first = times x (2 - mean)): hide it with the count.
            if row.count is None:
                row.extra["mean_rank"] = None
        s.tables.append(table)
    elif t == "number":
        values = {v: c for (_i, v), c in hist.items() if v is not None}
        s.description = _describe(values)
        if len(values) <= 20:
            s.tables.append(suppressed_table("Answers", [(_num(v), c) for v, c in
                                                         sorted(values.items())], n))
    elif t == "date" and months:
        s.tables.append(suppressed_table("Answers by month", sorted(months.items()), n))


def _num(v: float) -> str:
    return str(int(v)) if float(v).is_integer() else f"{v:g}"


def _scale_table(q: SurveyQuestion, values: dict[int, int], base: int, caption: str) -> Table:
    rows = [(f"{v} – {label}", values.get(v, 0)) for v, label in q.scale]
    if q.setting("allow_na"):
        rows.append(("Not applicable", values.get(NA, 0)))
    return suppressed_table(caption, rows, base)


def _describe(hist: dict[float, int]) -> stats.Description | None:
    """Estimates only for a group large enough to report."""
    d = stats.describe(hist)
    return d if privacy.is_reportable(d.n) else None


def crosstab_table(survey: Survey, question: SurveyQuestion, dimension: str, where: Slice
                   ) -> tuple[list[tuple[str | None, str, int | None]],
                              list[tuple[str, list[int | None]]]]:
    """Columns (segment code, label, respondents) and rows (option, cells), suppressed.

    A column describing too few people is hidden whole; inside the table the one
    suppression rule runs along columns and rows until nothing changes, so a
    hidden cell cannot be recovered from a row or a column total.
    """
    dim = segments.get(dimension)
    cells, totals = queries.crosstab(survey, question, dimension, where)
    codes: list[str | None] = [c for c in dim.codes if c in totals]
    if None in totals:
        codes.append(None)
    col_n = privacy.suppress_cells({c: totals.get(c, 0) for c in codes})
    grid = {(c, o.id): cells.get((c, o.id), 0) for c in codes for o in question.options}
    hidden = {(c, o.id) for c in codes if col_n[c] is None for o in question.options}
    changed = True
    while changed:
        changed = False
        lines = [[(c, o.id) for o in question.options] for c in codes] + \
                [[(c, o.id) for c in codes] for o in question.options]
        for line in lines:
            # Hidden cells count as 1 (always below the threshold) so the shared rule
            # sees them and hides a complementary cell when only one is hidden.
            counts = {k: (1 if k in hidden else grid[k]) for k in line}
            for k, v in privacy.suppress_cells(counts).items():
                if v is None and k not in hidden:
                    hidden.add(k)
                    changed = True
    columns = [(c, dim.label_for(c), col_n[c]) for c in codes]
    rows = [(o.label, [None if (c, o.id) in hidden else grid[(c, o.id)] for c in codes])
            for o in question.options]
    return columns, rows
