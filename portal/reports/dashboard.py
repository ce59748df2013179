"""The priority dashboard: one row per objective, a domain roll-up and participation."""

from __future__ import annotations

from dataclasses import dataclass, field

from flask import url_for

from portal import numfmt, privacy, segments, stats
from portal.models import FeedbackRound, Objective
from portal.reports import labels, queries
from portal.reports.aggregates import ALL
from portal.reports.estimates import SliceEstimate, estimate
from portal.reports.participation import base_description as participation_base
from portal.reports.participation import participation
from portal.reports.tables import (
    Cell,
    Column,
    Table,
    count_cell,
    empty_cell,
    mean_cell,
    pct,
    share_cell,
    suppressed_cell,
    text_cell,
)
from portal.stats import grand_mean


@dataclass
class ObjectiveRow:
    objective: Objective
    est: SliceEstimate
    quadrant: str | None
    # Ranks by the share rating importance 4-5 it could hold (stats.rank_ranges), best
    # first; None where that share is not shown.
    rank: tuple[int, int] | None = None


@dataclass
class Dashboard:
    round: FeedbackRound
    rows: list[ObjectiveRow]
    reference: labels.Reference
    empty: bool
    tables: dict[str, Table] = field(default_factory=dict)

    @property
    def centre(self) -> tuple[float | None, float | None]:
        """Crosshairs of the importance-performance chart: the labels' reference."""
        return self.reference.importance, self.reference.performance


OBJECTIVE_COLUMNS = [
    Column("code", "Objective", numeric=False, export_labels=("Objective", "Text")),
    Column("domain", "Domain", numeric=False),
    Column("raters", "Raters"),
    Column("imp_high", "Important (4–5)",
           export_labels=("Important 4-5 %", "Important lower 95%", "Important upper 95%")),
    Column("imp_rank", "Rank by importance (range)",
           export_labels=("Best rank by importance", "Worst rank by importance")),
    Column("imp_mean", "Mean importance",
           export_labels=("Mean importance", "Importance lower 95%", "Importance upper 95%")),
    Column("imp_low", "Unimportant (1–2)", export_labels=("Unimportant 1-2 %",)),
    Column("perf_high", "Doing well (4–5)",
           export_labels=("Doing well 4-5 %", "Doing well lower 95%", "Doing well upper 95%")),
    Column("perf_mean", "Mean performance",
           export_labels=("Mean performance", "Performance lower 95%",
                          "Performance upper 95%")),
    Column("perf_low", "Doing poorly (1–2)", export_labels=("Doing poorly 1-2 %",)),
    Column("perf_dont_know", "“Don't know” on performance (of raters)",
           export_labels=("Don't know performance % of raters",)),
    Column("gap", "Gap (performance − importance, members who answered both)",
           export_labels=("Gap", "Gap lower 95%", "Gap upper 95%")),
    Column("quadrant", "Priority class", numeric=False,
           export_labels=("Priority class", "Compared with")),
]


def label_cell(label: str | None, e: SliceEstimate, ref: labels.Reference) -> Cell:
    """The priority class with the reference it was judged against beneath it."""
    if label is None:
        if not e.rows:
            return empty_cell(2)
        # Enough raters, but the disclosure step withheld a mean: say so, not "fewer".
        return suppressed_cell(2, privacy.withheld_label() if e.show_importance
                               and e.show_performance else None)
    return Cell(label, (label, ref.text), labels.ORDER[label], sub=ref.short)


def rankable(e: SliceEstimate) -> tuple[int, int] | None:
    """(k, n) of the share rating importance 4-5 as published, where the page shows it."""
    p = e.imp_high
    if (not e.show_importance or not e.show_share("imp_high") or p.p is None
            or not privacy.is_reportable_split(p.k, p.n)):
        return None
    return p.k, p.n


def rank_cell(rank: tuple[int, int] | None, ranked: int) -> Cell:
    """"1st–3rd" with "of 22" beneath; the share it rests on may be hidden."""
    if rank is None:
        return empty_cell(2)
    return Cell(numfmt.rank_range(*rank), rank, rank, sub=f"of {ranked}")


def objective_cells(obj: Objective, e: SliceEstimate, quadrant: str | None,
                    round_id: int, ref: labels.Reference,
                    rank: tuple[int, int] | None = None, ranked: int = 0) -> dict[str, Cell]:
    imp, perf = e.show_importance, e.show_performance
    return {
        "code": Cell(obj.code, (obj.code, obj.text), (obj.domain.position, obj.position),
                     sub=labels.short_name(obj.text),
                     href=url_for("reports.objective", code=obj.code, round=round_id)),
        "domain": text_cell(obj.domain.code, sort=obj.domain.position),
        "raters": count_cell(privacy.suppress_total(e.rows),
                             withheld=privacy.is_reportable(e.rows) and not e.show_rows),
        "imp_high": share_cell(e.imp_high, imp, allowed=e.show_share("imp_high")),
        "imp_rank": rank_cell(rank, ranked),
        "imp_mean": mean_cell(e.imp_mean, imp, digits=e.digits("imp_mean")),
        "imp_low": share_cell(e.imp_low, imp, with_interval=False,
                              allowed=e.show_share("imp_low")),
        "perf_high": share_cell(e.perf_high, perf, allowed=e.show_share("perf_high")),
        "perf_mean": mean_cell(e.perf_mean, perf, digits=e.digits("perf_mean")),
        "perf_low": share_cell(e.perf_low, perf, with_interval=False,
                               allowed=e.show_share("perf_low")),
        "perf_dont_know": dont_know_cell(e, "performance"),
        "gap": mean_cell(e.gap, e.show_gap, signed=True, digits=e.digits("gap")),
        "quadrant": label_cell(quadrant, e, ref),
    }


def dont_know_cell(e: SliceEstimate, measure: str) -> Cell:
    """The share of raters who answered "Don't know": shown only when the disclosure
    step published both its count and the number of raters, so it is their ratio and
    tells nothing more (and only when neither it nor the rest is a small group)."""
    dont_know = e.cells.get(measure, {}).get(0)
    if not e.rows:
        return empty_cell()
    if not e.show_rows or dont_know is None:
        return suppressed_cell(label=privacy.withheld_label()
                               if privacy.is_reportable(e.rows) else None)
    return share_cell(stats.wilson(dont_know, e.rows), True, with_interval=False)


def build(rnd: FeedbackRound, source: str = "summary",
          reference: str = labels.MIDPOINT) -> Dashboard:
    """Every objective's published figures and label; `reference`: what the labels
    compare with (labels.MIDPOINT by default, or labels.AVERAGE)."""
    counts = queries.load_counts(rnd.id, ALL, source)
    objectives = queries.report_objectives([rnd.id])
    ests = {o.id: estimate(counts.get((o.id, ""))) for o in objectives}
    ref = labels.reference(reference, list(ests.values()))
    ranks = stats.rank_ranges([rankable(ests[o.id]) for o in objectives])
    rows = [ObjectiveRow(o, ests[o.id], labels.classify(ests[o.id], ref), rank)
            for o, rank in zip(objectives, ranks, strict=True)]
    ranked = sum(1 for r in ranks if r is not None)
    dash = Dashboard(rnd, rows, ref, empty=not any(r.est.rows for r in rows))
    table = Table("priorities", f"Priorities by objective, {rnd.name}", OBJECTIVE_COLUMNS,
                  row_header="code",
                  note="Shares and means use answers on the 1–5 scale; “Don't know” is "
                       "left out. Intervals are 95%: Wilson for shares, a score interval "
                       "inside the scale for means and the paired gap (see Methods). Rank: "
                       "the places an objective could hold by its share rating importance "
                       "4–5, from pairwise tests with Holm's correction (“1st–3rd”: the "
                       "data do not settle its order among those). Priority class: from "
                       "the intervals, "
                       f"compared with {ref.text}; “{labels.NOT_CLEAR}” where an interval "
                       "includes the reference.")
    table.rows = [objective_cells(r.objective, r.est, r.quadrant, rnd.id, ref, r.rank, ranked)
                  for r in rows]
    dash.tables["priorities"] = table
    dash.tables["domains"] = domain_table(rnd, rows)
    dash.tables["participation"] = participation_table(rnd, source)
    return dash


DOMAIN_COLUMNS = [
    Column("domain", "Domain", numeric=False, export_labels=("Domain", "Title")),
    Column("objectives", "Objectives shown"),
    Column("imp_high", "Important (4–5), average", export_labels=("Important 4-5 % (average)",)),
    Column("range", "Range across objectives", numeric=False, sortable=False),
    Column("imp_mean", "Mean importance, average"),
    Column("perf_mean", "Mean performance, average"),
    Column("gap", "Gap, average"),
    Column("top", "Most important objective", numeric=False),
]


def domain_table(rnd: FeedbackRound, rows: list[ObjectiveRow]) -> Table:
    """Domain roll-up: plain averages of the objective figures. No interval: the same
    members rate every objective of a domain, so pooled intervals would be too narrow."""
    table = Table("domains", f"Priorities by domain, {rnd.name}", DOMAIN_COLUMNS,
                  row_header="domain",
                  note="Averages of the objective figures shown above (objectives with "
                       "too few answers are left out).")
    by_domain: dict[int, list[ObjectiveRow]] = {}
    domains = {}
    for r in rows:
        by_domain.setdefault(r.objective.domain_id, []).append(r)
        domains[r.objective.domain_id] = r.objective.domain
    for dom_id, members in by_domain.items():
        dom = domains[dom_id]
        shown = [r for r in members if r.est.show_importance]
        with_share = [r for r in shown if r.est.show_share() and r.est.imp_high.p is not None]
        shares = [r.est.imp_high.p for r in with_share]
        imp = grand_mean(r.est.imp_mean.mean for r in shown)
        perf = grand_mean(r.est.perf_mean.mean for r in members
                                if r.est.show_performance)
        gap = grand_mean(r.est.gap.mean for r in members if r.est.show_gap)
        top = max(with_share, key=lambda r: r.est.imp_high.p, default=None)
        avg_share = sum(shares) / len(shares) if shares else None
        table.rows.append({
            "domain": Cell(f"{dom.code}. {dom.title}", (dom.code, dom.title), dom.position),
            "objectives": Cell(str(len(shown)), (len(shown),), len(shown)),
            "imp_high": (Cell(pct(avg_share), (round(100 * avg_share, 1),), avg_share)
                         if avg_share is not None else empty_cell()),
            "range": (text_cell(f"{pct(min(shares))}–{pct(max(shares))}") if shares
                      else empty_cell()),
            "imp_mean": _plain(imp),
            "perf_mean": _plain(perf),
            "gap": _plain(gap, signed=True),
            "top": text_cell(top.objective.code) if top else empty_cell(),
        })
    return table


def _plain(x: float | None, signed: bool = False) -> Cell:
    if x is None:
        return empty_cell()
    return Cell(numfmt.signed(x) if signed else numfmt.number(x), (round(x, 3),), x)


PARTICIPATION_COLUMNS = [
    Column("segment", "Segment", numeric=False, export_labels=("Dimension", "Segment")),
    Column("eligible", "Eligible members"),
    Column("raters", "Members who rated"),
    Column("rate", "Participation"),
]


def participation_table(rnd: FeedbackRound, source: str = "summary") -> Table:
    overall, by_dim = participation(rnd.id, source)
    table = Table("participation", f"Participation, {rnd.name}", PARTICIPATION_COLUMNS,
                  row_header="segment",
                  note=f"Eligible members: {participation_base()}. "
                       "Segments as members describe themselves today.")

    def row(dim_label: str, p) -> dict[str, Cell]:
        rate = (Cell(pct(p.rate), (round(100 * p.rate, 1),), p.rate) if p.rate is not None
                else (suppressed_cell() if p.eligible is None or p.raters is None
                      else empty_cell()))
        return {"segment": Cell(p.label if not dim_label else f"{dim_label}: {p.label}",
                                (dim_label or "All", p.label), None),
                "eligible": count_cell(p.eligible), "raters": count_cell(p.raters),
                "rate": rate}

    table.rows.append(row("", overall))
    for key, parts in by_dim.items():
        label = segments.BY_KEY[key].label
        table.rows.extend(row(label, p) for p in parts)
    return table
