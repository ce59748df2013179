"""The board report: one printable page naming the round and the date."""

from __future__ import annotations

from dataclasses import dataclass, field

from portal.models import FeedbackRound
from portal.reports import (
    chartdata,
    comments,
    dashboard,
    disagree,
    labels,
    participation,
    queries,
    trends,
)
from portal.reports.tables import Table
from portal.survey_results.highlights import SurveyHighlight, board_highlights
from portal.timeutil import now_utc

HEADLINE_KEYS = ("code", "raters", "imp_high", "perf_mean", "gap", "quadrant")


@dataclass
class BoardReport:
    round: FeedbackRound
    generated_at: object
    dash: dashboard.Dashboard
    headline: Table
    charts: list[chartdata.Chart]
    highlights: list[disagree.Disagreement] = field(default_factory=list)
    themes: comments.CommentSummary | None = None
    surveys: list[SurveyHighlight] = field(default_factory=list)
    trends: trends.Trends | None = None
    participation: participation.Participation | None = None

    @property
    def tables(self) -> dict[str, Table]:
        out = {"headline": self.headline}
        out.update({c.table.name: c.table for c in self.charts})
        return out


def build(rnd: FeedbackRound, max_highlights: int = 8,
          reference: str = labels.MIDPOINT) -> BoardReport:
    dash = dashboard.build(rnd, reference=reference)
    full = dash.tables["priorities"]
    headline = Table("headline", f"Headline: objectives by share rating importance 4–5, "
                     f"{rnd.name}", [c for c in full.columns if c.key in HEADLINE_KEYS],
                     row_header="code", note=full.note)
    headline.rows = [{k: row[k] for k in HEADLINE_KEYS} for row in full.rows]
    headline = headline.sorted_by("imp_high", descending=True)
    report = BoardReport(rnd, now_utc(), dash, headline, chartdata.all_charts(dash))
    # The same decision as the dashboard's participation table (split rule included).
    report.participation = participation.participation(rnd.id)[0]
    # Surveys stand apart from the round: reported even when it has no ratings yet.
    report.surveys = board_highlights(report.generated_at)
    if dash.empty:
        return report
    report.highlights = disagree.find(rnd)[:max_highlights]
    report.themes = comments.summarise(comments.CommentFilter(round_id=rnd.id), top_n=3)
    rounds = queries.all_rounds()
    before = queries.previous_round(rnd, rounds)
    if before is not None:
        report.trends = trends.build(rnd, before)
    return report

