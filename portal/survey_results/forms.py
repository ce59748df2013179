"""Filter forms of the results pages (GET, no CSRF: they change nothing)."""

from __future__ import annotations

from wtforms import IntegerField, SearchField, SelectField
from wtforms.validators import Length, NumberRange, Optional

from portal import segments
from portal.forms import QueryForm
from portal.models import Survey
from portal.survey_results.queries import Slice


def segment_choices(survey: Survey) -> list[tuple[str, str]]:
    """Only the survey's breakdown dimensions: responses store no other segment."""
    return segments.filter_choices(not_answered="none", keys=survey.breakdown_keys,
                                   generalised=survey.anonymous)


def answer_choices(survey: Survey) -> list[tuple[str, str]]:
    out = [("", "Any answers")]
    for q in survey.ordered_questions():
        if q.is_choice:
            out += [(f"{q.id}:{o.id}", f"{q.code.upper()} is “{o.label}”") for o in q.options]
    return out


class FilterForm(QueryForm):
    segment = SelectField("Members in segment", choices=[], validators=[Optional()])
    answer = SelectField("Who answered", choices=[], validators=[Optional()])

    def setup(self, survey: Survey) -> FilterForm:
        self.segment.choices = segment_choices(survey)
        self.answer.choices = answer_choices(survey)
        return self

    def slice(self) -> Slice:
        seg, value, qid, oid = None, None, None, None
        if self.segment.data:
            seg, value = self.segment.data.split(":", 1)
        if self.answer.data:
            a, b = self.answer.data.split(":", 1)
            qid, oid = int(a), int(b)
        return Slice(seg, value, qid, oid)


class TextSearchForm(FilterForm):
    search = SearchField("Search the answers", validators=[Optional(), Length(max=100)])
    page = IntegerField("Page", default=1, validators=[Optional(), NumberRange(1, 100000)])


class CrosstabForm(FilterForm):
    question = SelectField("Choice question", choices=[])
    dimension = SelectField("By segment", choices={d.key: d.label for d in segments.DIMENSIONS})

    def setup(self, survey: Survey) -> CrosstabForm:
        super().setup(survey)
        self.dimension.choices = {d.key: d.label for d in segments.DIMENSIONS
                                  if d.key in survey.breakdown_keys}
        self.question.choices = [(q.code, f"{q.code.upper()}: {q.prompt[:80]}")
                                 for q in survey.ordered_questions() if q.is_choice]
        return self
