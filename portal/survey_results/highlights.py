"""Survey highlights for the board report.

For every open survey and every survey closed in the last `RECENT_DAYS` days: its
responses against the eligible members. For the professional-development needs
survey (template `pd-needs`) also the topics members most want, the formats they
rank first and the barriers they name most, as shares of the people who answered.

The figures come from the results' own aggregates (`queries`, `summaries`), so
they are the ones the results pages show, suppressed by `portal.privacy` the
same way: a response count under the threshold hides the survey's figures, and
a hidden answer count is never listed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

import sqlalchemy as sa

from portal import privacy, stats
from portal.disclosure import surveys as disclosure
from portal.extensions import db
from portal.models import Survey, SurveyStatus
from portal.survey_results import queries, summaries
from portal.timeutil import now_utc

RECENT_DAYS = 180
MAX_SURVEYS = 5
PD_NEEDS = "pd-needs"
# (question code, heading, how many to list, option codes left out). Question codes
# are never reused within a survey, so they stay valid while wording is corrected.
PD_NEEDS_LISTS = (
    ("q1", "Topics members most want to learn about", 5, {"other"}),
    ("q2", "Ways of learning ranked first", 3, set()),
    ("q5", "Main barriers to professional development", 3, {"other", "nothing"}),
)


@dataclass(frozen=True)
class Share:
    label: str
    count: int
    pct: float
    ci: tuple[float, float] | None = None   # Wilson 95% interval, in %, as published


@dataclass
class ShareList:
    heading: str
    base: str                  # what the percentages are a share of
    respondents: int | None    # None = suppressed
    items: list[Share] = field(default_factory=list)


@dataclass
class SurveyHighlight:
    survey: Survey
    responses: int | None      # None = fewer than the threshold
    eligible: queries.Eligible
    rate: float | None
    lists: list[ShareList] = field(default_factory=list)

    @property
    def reportable(self) -> bool:
        return self.responses is not None


def recent_surveys(now: datetime | None = None) -> list[Survey]:
    """Open surveys, then surveys closed in the last RECENT_DAYS, newest first."""
    since = (now or now_utc()) - timedelta(days=RECENT_DAYS)
    rows = db.session.scalars(
        sa.select(Survey).where(sa.or_(
            Survey.status == SurveyStatus.OPEN,
            sa.and_(Survey.status == SurveyStatus.CLOSED, Survey.closed_at >= since)))
        .order_by((Survey.status == SurveyStatus.OPEN).desc(),
                  Survey.closed_at.desc(), Survey.id.desc())
        .limit(MAX_SURVEYS)).all()
    return list(rows)


def board_highlights(now: datetime | None = None) -> list[SurveyHighlight]:
    """One highlight per recent survey (see the module docstring)."""
    surveys = recent_surveys(now)
    counts = queries.response_counts([s.id for s in surveys])
    eligible_by_survey = queries.eligible_counts(surveys)
    out = []
    for survey in surveys:
        shown = privacy.suppress_total(counts.get(survey.id, 0))
        eligible = eligible_by_survey[survey.id]
        # The rate is "k of n": withheld when k or n - k is a small group.
        rate_ok, _why = disclosure.participation(counts.get(survey.id, 0), eligible.count)
        item = SurveyHighlight(survey, shown, eligible,
                               stats.percent(shown, eligible.count) if rate_ok else None)
        if survey.template_key == PD_NEEDS and item.reportable and shown:
            item.lists = _pd_needs_lists(survey)
        out.append(item)
    return out


def _pd_needs_lists(survey: Survey) -> list[ShareList]:
    _total, items = summaries.summarise(survey)
    by_code = {s.question.code: s for s in items}
    out = []
    for code, heading, top, skip in PD_NEEDS_LISTS:
        summary = by_code.get(code)
        if summary is None or not summary.tables:
            continue
        question = summary.question
        labels_left_out = {o.label for o in question.options if o.code in skip or o.is_other}
        table = summary.tables[0]
        # Suppressed rows (count None) are never listed; the rest by count.
        rows = sorted((r for r in table.rows if r.count and r.label not in labels_left_out),
                      key=lambda r: -r.count)
        base = ("of those who ranked formats" if question.type == "ranking"
                else "of those who answered")
        out.append(ShareList(heading, base, summary.n,
                             [Share(r.label, r.count, r.pct, r.ci) for r in rows[:top]]))
    return out
