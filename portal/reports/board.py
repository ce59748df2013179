"""The board report: a two-page executive summary, then a numbered appendix.

One document, two renderings: the HTML page (/reports/board, which prints as the
same document) and the server-made PDF (/reports/board.pdf, portal.reports.pdf).
The executive summary is the summary page's headline cards, the priority chart
with names, the importance–performance chart and the top three segment
differences; the appendix holds the tables and the methods. Every figure is the
published one (portal.reports.summary and the dashboard it builds on).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from portal.models import FeedbackRound
from portal.reports import chartdata, comments, dashboard, disagree, labels, participation, trends
from portal.reports import summary as summary_mod
from portal.reports.tables import Table
from portal.survey_results.highlights import SurveyHighlight
from portal.timeutil import now_utc

HEADLINE_KEYS = ("code", "raters", "imp_high", "perf_mean", "gap", "quadrant")
SUMMARY_DIFFERENCES = 3


@dataclass
class BoardReport:
    round: FeedbackRound
    generated_at: object
    dash: dashboard.Dashboard
    headline: Table
    charts: list[chartdata.Chart]
    summary: summary_mod.Summary | None = None
    named_chart: chartdata.Chart | None = None
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

    @property
    def chart(self) -> dict[str, chartdata.Chart]:
        return {c.key: c for c in self.charts}

    @property
    def top_differences(self) -> list[disagree.Disagreement]:
        return self.highlights[:SUMMARY_DIFFERENCES]

    def sentence(self, d: disagree.Disagreement) -> str:
        return summary_mod.disagree_sentence(d)


def build(rnd: FeedbackRound, max_highlights: int = 8,
          reference: str = labels.MIDPOINT) -> BoardReport:
    s = summary_mod.build(rnd, reference=reference)
    dash = s.dash
    full = dash.tables["priorities"]
    headline = Table("headline", f"Objectives by share rating importance 4–5, {rnd.name}",
                     [c for c in full.columns if c.key in HEADLINE_KEYS],
                     row_header="code", note=full.note)
    headline.rows = [{k: row[k] for k in HEADLINE_KEYS} for row in full.rows]
    headline = headline.sorted_by("imp_high", descending=True)
    report = BoardReport(rnd, now_utc(), dash, headline, chartdata.all_charts(dash), summary=s)
    report.named_chart = chartdata.share_chart(dash, names=True)
    # The same decision as the dashboard's participation table (split rule included).
    report.participation = s.participation
    # Surveys stand apart from the round: reported even when it has no ratings yet.
    report.surveys = s.surveys
    if dash.empty:
        return report
    report.highlights = s.disagreements[:max_highlights]
    report.themes = comments.summarise(comments.CommentFilter(round_id=rnd.id), top_n=3)
    report.trends = s.trends
    return report
