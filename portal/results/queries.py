"""What members see of a round's results: all-members figures only, never a segment.

Every figure is the one leadership sees, taken from the same published estimates
(portal.reports.estimates through the disclosure step) and put into words by the same
cell rules as the leadership tables (portal.reports.tables), so the page can show
nothing a leader's page withholds. While a round is open and published early, the
figures are the leadership snapshot (portal.reports.snapshots), which moves only in
steps of PRIVACY_MIN_N members. Domain figures are plain averages of the objective
figures shown beside them. A fixed number of queries, whatever the size of the plan.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime

import sqlalchemy as sa

from portal import numfmt, privacy
from portal.extensions import db
from portal.models import (
    ACTION_STATUS_LABELS,
    CLOSED_STATUSES,
    Action,
    ActionStatus,
    Domain,
    FeedbackRound,
    FindingKind,
    Objective,
    ResultsRelease,
    RoundStatus,
)
from portal.reports import labels, snapshots
from portal.reports import queries as report_queries
from portal.reports.aggregates import ALL
from portal.reports.estimates import SliceEstimate, estimate
from portal.reports.summary import WIDE_GAP, WIDE_SHARE
from portal.reports.tables import Cell, count_cell, mean_cell, share_cell
from portal.stats import grand_mean

# "You said": what prompted an action, in the words of the members it answers.
YOU_SAID = {
    FindingKind.PRIORITY: "It matters a great deal to you.",
    FindingKind.SHORTFALL: "It matters to you, and we are not doing well enough on it.",
    FindingKind.SEGMENT: "Different groups of members see it differently.",
    FindingKind.TREND: "Your view of it changed since the last round.",
    FindingKind.COMMENTS: "You told us in your comments.",
    FindingKind.SURVEY: "You told us in a survey.",
    FindingKind.OTHER: "You told us in your feedback.",
}


def _visible():
    """SQL for FeedbackRound.results_visible."""
    r = FeedbackRound
    return sa.or_(
        sa.and_(r.status == RoundStatus.CLOSED.value,
                r.results_release != ResultsRelease.HIDDEN.value),
        sa.and_(r.status == RoundStatus.OPEN.value,
                r.results_release == ResultsRelease.NOW.value))


def published_rounds() -> list[FeedbackRound]:
    """Rounds whose results members may see, the latest first."""
    return list(db.session.scalars(
        sa.select(FeedbackRound).where(_visible())
        .order_by(FeedbackRound.opens_at.desc(), FeedbackRound.id.desc())))


def published_round(round_id: int) -> FeedbackRound | None:
    """The round when members may see its results, else None (the page answers 404)."""
    return db.session.scalar(sa.select(FeedbackRound).where(FeedbackRound.id == round_id,
                                                            _visible()))


@dataclass(frozen=True)
class Figure:
    """One figure as members read it: its text, or that it is not shown and why."""

    text: str
    sub: str = ""                 # the interval, in words
    withheld: bool = False
    reason: str = ""              # why it is not shown (only when withheld)
    uncertain: bool = False       # the interval is too wide to lean on


def _figure(c: Cell, sub: str = "", wide: bool = False) -> Figure:
    """A leadership table cell as members read it. A suppressed cell keeps its label
    (the same words leaders read) and gains the reason; it never carries a number."""
    if c.suppressed:
        reason = f"{c.text}{privacy.suppression_reason(c.text)}"
        return Figure("Not shown", withheld=True, reason=reason[:1].upper() + reason[1:])
    if c.text == "–":
        return Figure("No answers yet")
    return Figure(c.text, sub=sub, uncertain=wide)


def _share(e: SliceEstimate, name: str) -> Figure:
    p = getattr(e, name)
    base = e.show_importance if name.startswith("imp") else e.show_performance
    c = share_cell(p, base, allowed=e.show_share(name))
    wide = p.lo is not None and p.hi is not None and p.hi - p.lo > WIDE_SHARE
    sub = ""
    if c.sub:
        sub = f"likely between {numfmt.percent(p.lo)} and {numfmt.percent(p.hi)}"
    return _figure(c, sub, wide)


def _gap(e: SliceEstimate) -> Figure:
    g = e.gap
    c = mean_cell(g, e.show_gap, signed=True, digits=e.digits("gap"))
    wide = g.lo is not None and g.hi is not None and g.hi - g.lo > WIDE_GAP
    sub = ""
    if c.sub:
        digits = e.digits("gap")
        sub = (f"likely between {numfmt.signed(g.lo, digits)} and "
               f"{numfmt.signed(g.hi, digits)}")
    return _figure(c, sub, wide)


def _raters(e: SliceEstimate) -> Figure:
    c = count_cell(privacy.suppress_total(e.rows),
                   withheld=privacy.is_reportable(e.rows) and not e.show_rows)
    return _figure(c)


def gap_sentence(e: SliceEstimate) -> str:
    """What the gap says, only as far as its interval allows (the leadership rule:
    a shortfall only when the whole interval lies below zero)."""
    g = e.gap
    if not e.show_gap or g.mean is None:
        return ""
    if labels.gap_clearly_negative(e):
        return "Members rate how well we are doing below how much it matters to them."
    if g.lo is not None and g.lo > 0:
        return "Members rate how well we are doing above how much it matters to them."
    if g.lo is None:
        return "The figures cannot tell whether there is a gap."
    return "No clear gap between how much it matters and how well we are doing."


@dataclass(frozen=True)
class ActionLine:
    you_said: str
    doing: str
    status: str
    progress: int
    due_on: date
    closed: bool


@dataclass
class ObjectiveResult:
    objective: Objective
    short_name: str
    raters: Figure
    imp_high: Figure
    perf_high: Figure
    gap: Figure
    gap_sentence: str
    uncertain: bool
    actions: list[ActionLine] = field(default_factory=list)

    @property
    def figures(self) -> tuple[Figure, ...]:
        return (self.raters, self.imp_high, self.perf_high, self.gap)

    @property
    def one_reason(self) -> str | None:
        """The reason, when every figure is withheld for the same one (said once)."""
        reasons = {f.reason for f in self.figures}
        if all(f.withheld for f in self.figures) and len(reasons) == 1:
            return reasons.pop()
        return None


@dataclass
class DomainResult:
    domain: Domain
    objectives: list[ObjectiveResult]
    shown: int                    # objectives whose figures are in the averages
    imp_high: str | None
    perf_high: str | None
    gap: str | None


@dataclass
class Results:
    round: FeedbackRound
    domains: list[DomainResult]
    live: bool                    # an open round: figures from the snapshot
    as_of: datetime | None        # the oldest snapshot read (open rounds)
    min_n: int

    @property
    def empty(self) -> bool:
        return all(o.raters.text == "0" for d in self.domains for o in d.objectives)


def _actions(objective_ids: list[int]) -> dict[int, list[ActionLine]]:
    """The published actions of these objectives (never the dropped ones), open ones
    first, then by due date: one query."""
    if not objective_ids:
        return {}
    closed = [s.value for s in CLOSED_STATUSES]
    closed_last = sa.case((Action.status.in_(closed), 1), else_=0)
    rows = db.session.scalars(
        sa.select(Action).where(Action.objective_id.in_(objective_ids),
                                Action.published.is_(True),
                                Action.status != ActionStatus.DROPPED.value)
        .order_by(Action.objective_id, closed_last, Action.due_on, Action.id))
    out: dict[int, list[ActionLine]] = {}
    for a in rows:
        out.setdefault(a.objective_id, []).append(ActionLine(
            you_said=YOU_SAID.get(a.finding_kind, YOU_SAID[FindingKind.OTHER]),
            doing=a.title, status=ACTION_STATUS_LABELS.get(a.status, a.status),
            progress=a.progress, due_on=a.due_on, closed=a.closed))
    return out


def _average(values: list[float | None]) -> float | None:
    return grand_mean(v for v in values if v is not None)


def build(rnd: FeedbackRound) -> Results:
    """The member results page of one published round."""
    live = rnd.status == RoundStatus.OPEN
    counts = report_queries.load_counts(rnd.id, ALL)       # the snapshot while open
    objectives = report_queries.report_objectives([rnd.id])
    ests = {o.id: estimate(counts.get((o.id, ""))) for o in objectives}
    actions = _actions([o.id for o in objectives])
    domains: dict[int, DomainResult] = {}
    shown: dict[int, list[SliceEstimate]] = {}
    for o in objectives:
        e = ests[o.id]
        if not e.rows:
            none = Figure("No ratings")
            row = ObjectiveResult(objective=o, short_name=labels.short_name(o.text),
                                  raters=Figure("0"), imp_high=none, perf_high=none, gap=none,
                                  gap_sentence="", uncertain=False,
                                  actions=actions.get(o.id, []))
        else:
            row = _objective_row(o, e, actions.get(o.id, []))
        dom = domains.get(o.domain_id)
        if dom is None:
            dom = domains[o.domain_id] = DomainResult(o.domain, [], 0, None, None, None)
        dom.objectives.append(row)
        shown.setdefault(o.domain_id, []).append(e)
    for domain_id, dom in domains.items():
        _roll_up(dom, shown[domain_id])
    as_of = snapshots.as_of() if live else None
    return Results(rnd, list(domains.values()), live,
                   as_of["oldest"] if as_of else None, privacy.min_n())


def _objective_row(o: Objective, e: SliceEstimate, actions: list[ActionLine]
                   ) -> ObjectiveResult:
    row = ObjectiveResult(
        objective=o, short_name=labels.short_name(o.text), raters=_raters(e),
        imp_high=_share(e, "imp_high"), perf_high=_share(e, "perf_high"), gap=_gap(e),
        gap_sentence=gap_sentence(e), uncertain=False, actions=actions)
    row.uncertain = any(f.uncertain for f in (row.imp_high, row.perf_high, row.gap))
    return row


def _roll_up(dom: DomainResult, ests: list[SliceEstimate]) -> None:
    """Plain averages of the figures shown for the domain's objectives (as the
    leadership domain table): nothing a member could not work out from the page."""
    imp = [e.imp_high.p for e in ests if e.show_share("imp_high") and e.imp_high.p is not None]
    perf = [e.perf_high.p for e in ests
            if e.show_share("perf_high") and e.perf_high.p is not None]
    gaps = [e.gap.mean for e in ests if e.show_gap and e.gap.mean is not None]
    dom.shown = max(len(imp), len(perf), len(gaps))
    avg_imp, avg_perf, avg_gap = _average(imp), _average(perf), _average(gaps)
    dom.imp_high = numfmt.percent(avg_imp) if avg_imp is not None else None
    dom.perf_high = numfmt.percent(avg_perf) if avg_perf is not None else None
    dom.gap = numfmt.signed(avg_gap) if avg_gap is not None else None
