"""What the written-answers page may show for one question, filter and phrase.

The page is an oracle unless it answers alike for nobody and for a few: "no texts
match" next to "fewer than 20 match" tells an attacker which filter and phrase fit
one person. So, under a refused selection nothing is shown and no count; texts (and a
search's matches) are shown only when there are at least PRIVACY_MIN_COMMENTS of
them and, against every published wider selection (all respondents, each single
parent of a crossed filter), the texts left over are none or again at least that
many; otherwise the same suppressed view with its reason. Match counts are never
shown (the count of all texts of an unfiltered question is shown on the results
page already), and the pager says only whether there is a next page.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from portal import privacy
from portal.disclosure import surveys as disclosure
from portal.models import Survey, SurveyQuestion
from portal.survey_results import queries
from portal.survey_results.queries import ALL, Slice

ISOLATES = ("These written answers are hidden to protect a small group: this filter or "
            "search, or its difference from a wider selection, picks out fewer than "
            "{n} answers (or none).")


@dataclass
class TextsResult:
    available: bool
    reason: str = ""
    texts: list[str] = field(default_factory=list)
    total: int | None = None          # shown only for all texts without a filter
    page: int = 1
    pages: int = 1
    has_next: bool = False


def _ancestors(where: Slice) -> list[Slice]:
    if not where.is_filtered:
        return []
    out = [ALL]
    if where.segment and where.question_id:
        out += [Slice(where.segment, where.segment_value),
                Slice(question_id=where.question_id, option_id=where.option_id)]
    return out


def _matches(survey: Survey, question: SurveyQuestion, where: Slice, search: str) -> int:
    return queries.texts(survey, question, where, search, 1, 0)[1]


def decide(survey: Survey, question: SurveyQuestion, where: Slice, search: str, page: int,
           per_page: int) -> TextsResult:
    """The texts page for (question, where, search), decided in one step."""
    m = privacy.min_comments()
    refused = TextsResult(False, ISOLATES.format(n=m))
    if disclosure.selections(survey).refuses(where):
        return TextsResult(False, disclosure.REFUSED)
    count = _matches(survey, question, where, search)
    if count < m:
        return refused
    for wider in _ancestors(where):
        rest = _matches(survey, question, wider, search) - count
        if 0 < rest < m:
            return refused
    if search:
        # The answers that do not contain the phrase are a group too.
        rest = _matches(survey, question, where, "") - count
        if 0 < rest < m:
            return refused
    rows, _total = queries.texts(survey, question, where, search, page, per_page)
    pages = max(1, -(-count // per_page))
    return TextsResult(True, "", rows, count if not (search or where.is_filtered) else None,
                       page, pages, page < pages)
