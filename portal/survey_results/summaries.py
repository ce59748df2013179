"""Question summaries for a slice of responses, as the disclosure step decided them.

Every figure comes from `portal.disclosure.surveys.decide_slice`: counts,
percentages, n, means and intervals, medians, net promoter groups, all decided
together per distribution, with linked tables and refused selections applied. This
module only lays them out for pages and exports. Texts need PRIVACY_MIN_COMMENTS in
the slice.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from portal import privacy, segments, stats
from portal.disclosure import linked
from portal.disclosure import surveys as disclosure
from portal.disclosure.distribution import Published
from portal.models import Survey, SurveyQuestion
from portal.stats import crosstab as crosstab_stats
from portal.survey_results import queries
from portal.survey_results.queries import ALL, Slice


@dataclass
class Row:
    label: str
    count: int | None          # None = suppressed
    pct: float | None = None   # as published (rounded)
    extra: dict[str, Any] = field(default_factory=dict)
    ci: tuple[float, float] | None = None   # Wilson 95% interval of pct, as published


@dataclass
class Table:
    caption: str
    rows: list[Row]
    base: str = "respondents"
    # Answers counted apart (Likert "Not applicable"): shown with their count only,
    # outside the percentages' base and the mean.
    apart: list[Row] = field(default_factory=list)
    pct_base: int | None = None        # what the percentages are of, when shown


@dataclass
class QuestionSummary:
    question: SurveyQuestion
    n: int | None                       # respondents (None = suppressed)
    tables: list[Table] = field(default_factory=list)
    description: Published | None = None
    descriptions: list[tuple[str, Published | None]] = field(default_factory=list)
    nps: Published | None = None
    nps_hidden: bool = False
    texts_available: bool = False
    text_count: int | None = None
    notes: list[str] = field(default_factory=list)


def summarise(survey: Survey, where: Slice = ALL) -> tuple[int | None, list[QuestionSummary]]:
    """(responses in the slice, None when the selection is refused; summaries of every
    question)."""
    figures = disclosure.decide_slice(survey, where)
    if figures.refused:
        return None, [QuestionSummary(q, None) for q in survey.ordered_questions()]
    total = figures.total
    if not privacy.is_reportable(total):
        return total, [QuestionSummary(q.question, None) for q in figures.questions]
    texts = queries.text_counts(survey, where)
    hists = None
    out = []
    for qf in figures.questions:
        q = qf.question
        summary = QuestionSummary(q, qf.n)
        n_texts = texts.get(q.id, 0)
        summary.text_count = privacy.suppress_total(n_texts)
        summary.texts_available = n_texts >= privacy.min_comments()
        if qf.n:
            if q.type == "ranking" and hists is None:
                hists = queries.histograms(survey, where)
            _fill(summary, qf, hists)
        out.append(summary)
    return total, out


def _fill(s: QuestionSummary, qf: disclosure.QuestionFigures, hists) -> None:
    q = qf.question
    notes: list[str] = []
    for d, pub in qf.figures:
        labels = dict(d.labels)
        if d.table:
            apart = set(d.shape.apart)
            rows = [Row(labels[key], pub.counts[key], pub.pct.get(key), ci=pub.pct_ci.get(key))
                    for key, _c in d.counts]
            s.tables.append(Table(
                d.caption, [r for r, (key, _c) in zip(rows, d.counts, strict=True)
                            if key not in apart],
                base="answers on the scale" if apart else "respondents",
                apart=[r for r, (key, _c) in zip(rows, d.counts, strict=True) if key in apart],
                pct_base=pub.base))
        has_mean = bool(d.shape.values)
        if q.type == "likert_matrix":
            s.descriptions.append((d.caption, pub if pub.mean is not None else None))
        elif has_mean:
            s.description = pub if pub.mean is not None else None
        if d.shape.nps:
            s.nps = pub
            s.nps_hidden = pub.nps_score is None
            if pub.nps_counts is not None:
                groups = (("promoters", "Promoters (9–10)"), ("passives", "Passives (7–8)"),
                          ("detractors", "Detractors (0–6)"))
                s.tables.append(Table("Net promoter groups", [
                    Row(label, pub.nps_counts[g], pub.nps_pct.get(g),
                        ci=_group_ci(pub, g)) for g, label in groups]))
        notes += [n for n in pub.notes if n not in notes]
    if q.type == "ranking" and s.tables:
        _ranking_extras(s.tables[0], q, hists.get(q.id, {}), qf.raw_n)
    s.notes = notes


def _group_ci(pub: Published, group: str) -> tuple[float, float] | None:
    """Wilson interval of a net promoter group's share, only when every group is shown
    (the counts then give it anyway)."""
    counts = pub.nps_counts or {}
    if any(v is None for v in counts.values()) or pub.nps_pct.get(group) is None:
        return None
    n = pub.n  # the base nps_pct uses
    if not n or not 0 <= counts[group] <= n:
        return None
    w = stats.wilson(counts[group], n)
    return round(100 * w.lo, 1), round(100 * w.hi, 1)


def _ranking_extras(table: Table, q: SurveyQuestion, hist: dict, n: int) -> None:
    for o, row in zip(q.options, table.rows, strict=True):
        ranks = {int(v): c for (i, v), c in hist.items() if i == o.id and v is not None}
        rs = stats.rank_summary(ranks, n)
        # With few ranks the mean rank gives the hidden "ranked first" count away
        # (top 2: first = times x (2 - mean)): hide it with the count.
        shown = row.count is not None and privacy.is_reportable(rs.times_ranked)
        # Borda points are times x (top_n + 1) - times x mean rank, over n: no more
        # than the mean rank and times ranked tell, so shown under the same rule.
        top_n = int(q.setting("top_n") or max(ranks, default=1))
        borda = stats.borda_points(ranks, n, top_n)
        # Share ranking it at all (in the top N): times ranked over respondents, both
        # published, with its Wilson interval, unless either side is a small group.
        top = (stats.wilson(rs.times_ranked, n)
               if n and privacy.is_reportable_split(rs.times_ranked, n) else None)
        row.extra = {"times_ranked": privacy.suppress_total(rs.times_ranked),
                     "mean_rank": round(rs.mean_rank, 2) if shown else None,
                     "borda": round(borda, 2) if shown and borda is not None else None,
                     "top_pct": None if top is None else round(100 * top.p, 1),
                     "top_ci": None if top is None else (round(100 * top.lo, 1),
                                                         round(100 * top.hi, 1)),
                     "top_n": top_n}


def crosstab_table(survey: Survey, question: SurveyQuestion, dimension: str, where: Slice
                   ) -> tuple[list[tuple[str | None, str, int | None]],
                              list[tuple[str, list[int | None]]]] | None:
    """Columns (segment code, label, respondents) and rows (option, cells), or None
    when the selection is refused.

    The table is linked to the page of the same selection: its row totals are that
    page's answer counts, its columns the selection's segment groups. Without a filter
    it is the count table of crossed selections itself (`disclosure.selections`);
    under a filter the cells are protected together with the page's figures
    (`linked.protect`), so no hidden cell is recovered from a row or column total.
    """
    figures = disclosure.decide_slice(survey, where)
    if figures.refused or not privacy.is_reportable(figures.total):
        return None
    dim = segments.get(dimension)
    cells, totals = queries.crosstab(survey, question, dimension, where)
    codes: list[str | None] = [c for c in dim.codes if c in totals]
    if None in totals:
        codes.append(None)
    key = {c: ("none" if c is None else c) for c in codes}
    values = {("col", key[c]): totals.get(c, 0) for c in codes}
    values.update({("x", key[c], o.id): cells.get((c, o.id), 0)
                   for c in codes for o in question.options})
    qf = next(f for f in figures.questions if f.question.id == question.id)
    page = dict(qf.figures[0][1].counts) if qf.n and qf.figures else {}
    hidden = set()
    for o in question.options:
        values[("row", o.id)] = sum(values[("x", key[c], o.id)] for c in codes)
        if page.get(o.id) is None:
            hidden.add(("row", o.id))
    sums = [(("row", o.id), tuple(("x", key[c], o.id) for c in codes))
            for o in question.options]
    if question.type == "single_choice":
        sums += [(("col", key[c]), tuple(("x", key[c], o.id) for o in question.options))
                 for c in codes]
    at_most = [(("x", key[c], o.id), ("col", key[c])) for c in codes for o in question.options]
    sel = disclosure.selections(survey)
    for c in codes:
        if not where.is_filtered:
            if ("nqv", dimension, key[c], question.id) in sel.hidden or \
                    sel.refuses(Slice(dimension, key[c])):
                hidden.add(("col", key[c]))
            hidden |= {("x", key[c], o.id) for o in question.options
                       if (dimension, key[c], question.id, o.id) in sel.refused_crossed}
    hidden = set(linked.protect(values, sums, hidden, privacy.min_n(), at_most))
    for c in codes:  # a hidden column is hidden whole
        if ("col", key[c]) in hidden:
            hidden |= {("x", key[c], o.id) for o in question.options}
    columns = [(c, dim.label_for(c), None if ("col", key[c]) in hidden
                else values[("col", key[c])]) for c in codes]
    rows = [(o.label, [None if ("x", key[c], o.id) in hidden else values[("x", key[c], o.id)]
                       for c in codes]) for o in question.options]
    return columns, rows


@dataclass
class CrosstabFigures:
    """Column percentages (None where the cell or its column total is hidden) and the
    test of independence, run only when every cell and column total is shown; with
    the test, each cell's column-proportion letters and adjusted residual (None and
    "" for an answer left out of the test)."""

    col_pct: list[list[float | None]]
    test: stats.IndependenceTest | None
    no_test_reason: str | None
    letters: list[list[str]] | None = None
    residuals: list[list[float | None]] | None = None

    @property
    def column_letters(self) -> str:
        return crosstab_stats.LETTERS


def crosstab_figures(survey: Survey, question: SurveyQuestion, where: Slice,
                     columns: list[tuple[str | None, str, int | None]],
                     rows: list[tuple[str, list[int | None]]]) -> CrosstabFigures:
    """Figures derived from a published cross-tab (`crosstab_table`) and the results
    page of the same selection only: each is a function of shown counts, so it tells
    nothing they do not. An answer the page shows nobody gave is left out of the test
    (its crossed cells are hidden only because an empty cell looks like a small one)."""
    totals = [n for _c, _l, n in columns]
    col_pct = [[None if c is None or not totals[j] else round(100 * c / totals[j], 1)
                for j, c in enumerate(cells)] for _label, cells in rows]
    if question.type != "single_choice":
        return CrosstabFigures(col_pct, None, "No test: a respondent may give more than one "
                               "answer, so the columns are not separate groups of answers.")
    figures = disclosure.decide_slice(survey, where)
    qf = next((f for f in figures.questions if f.question.id == question.id), None)
    page = dict(qf.figures[0][1].counts) if qf and qf.n and qf.figures else {}
    in_test = [page.get(o.id) != 0 for o in question.options]
    kept = [cells for keep, (_l, cells) in zip(in_test, rows, strict=True) if keep]
    if any(n is None for n in totals) or any(c is None for cells in kept for c in cells):
        return CrosstabFigures(col_pct, None, "No test: it would need the hidden cells.")
    test = stats.independence_test(kept)
    if not test:
        return CrosstabFigures(col_pct, None,
                               "No test: fewer than two answers or groups have any respondents.")
    letters = iter(crosstab_stats.column_letters(kept))
    residuals = iter(crosstab_stats.adjusted_residuals(kept))
    width = len(totals)
    return CrosstabFigures(
        col_pct, test, None,
        [next(letters) if keep else [""] * width for keep in in_test],
        [next(residuals) if keep else [None] * width for keep in in_test])
