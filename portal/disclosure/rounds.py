"""Audit every ratings slice a leader can reach for one feedback round.

For each objective and measure, the all-members row and the rows of each segment
dimension are set up as one attacker's problem (the rows add up to all members), with
every figure the pages and exports publish for them at the precision published, as
decided by portal.reports.estimates. Every hidden cell holding 1..N-1 people must keep
its protection interval. `flask privacy audit` runs this.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from portal import privacy, segments
from portal.disclosure import ratings
from portal.disclosure.audit import Problem, exposed
from portal.models import FeedbackRound
from portal.reports import queries
from portal.reports.aggregates import ALL
from portal.reports.estimates import estimate, segment_estimates


@dataclass(frozen=True)
class Failure:
    slice: str
    cell: str
    range: tuple[int, int]

    def __str__(self) -> str:
        return (f"{self.slice}: {self.cell} can be narrowed to "
                f"{self.range[0]}..{self.range[1]}")


def audit_table(label: str, total, rows: dict[str, object], k: int) -> list[Failure]:
    """One objective x dimension: the all-members Counts and each segment's Counts,
    with the decisions the pages use (portal.reports.estimates.segment_estimates)."""
    out: list[Failure] = []
    total_est = estimate(total)
    ests = segment_estimates(total, rows)
    for measure in ("importance", "performance"):
        th = ratings._as_hist(getattr(total, measure))
        td = total_est.decisions[measure]
        p = Problem()
        tkeys = ratings.add_facts(p, None, ratings.published(th, td))
        risky = {(None, a): tkeys[a] for a in ratings._at_risk(th, td, k)}
        rkeys = {}
        for v, c in rows.items():
            h = ratings._as_hist(getattr(c, measure))
            d = ests[v].decisions[measure]
            if not ests[v].show_rows and d.rows_known:
                d = replace(d, rows_known=False)
            rkeys[v] = ratings.add_facts(p, v, ratings.published(h, d))
            risky.update({(v, a): rkeys[v][a] for a in ratings._at_risk(h, d, k)})
            if d.rows_hidden and 0 < sum(h) < k:
                risky[(v, "ratings")] = p.cell((v, "rows"))
        for a in ratings.ANSWERS:
            p.equal({tkeys[a]: 1.0, **{rkeys[v][a]: -1.0 for v in rows}}, 0.0)
        bad = exposed(p, risky.values(), k)
        for (v, a), key in risky.items():
            if key in bad:
                who = "all members" if v is None else (v or "not answered")
                out.append(Failure(f"{label}, {measure}, {who}", f"answer {a}", bad[key]))
    return out


def audit_round(rnd: FeedbackRound, dimensions: list[str] | None = None) -> list[Failure]:
    k = privacy.min_n()
    failures: list[Failure] = []
    totals = queries.load_counts(rnd.id, ALL)
    for key in dimensions or list(segments.KEYS):
        by_value = queries.load_counts(rnd.id, key)
        for (oid, _), total in totals.items():
            rows = {v: c for (o, v), c in by_value.items() if o == oid}
            if not rows:
                continue
            failures += audit_table(f"round {rnd.id} objective {oid} by {key}", total, rows, k)
    return failures
