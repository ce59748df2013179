"""Filter forms of the leadership pages. They are GET forms (no state changes), so
they carry no CSRF token; the server validates every value."""

from __future__ import annotations

from wtforms import IntegerField, SearchField, SelectField
from wtforms.validators import Length, NumberRange, Optional

from portal import segments
from portal.forms import QueryForm, choice_list
from portal.reports import heatmap, labels


def segment_choices(blank: str | None = None) -> list[tuple[str, str]]:
    out = [("", blank)] if blank else []
    return out + [(d.key, d.label) for d in segments.DIMENSIONS]


def segment_value_choices() -> list[tuple[str, str]]:
    return segments.filter_choices(not_answered="-")


choices = choice_list


class RoundForm(QueryForm):
    round = SelectField("Feedback round", coerce=str)


class PriorityForm(RoundForm):
    reference = SelectField("Labels compare with",
                            choices=choices(list(labels.REFERENCES.items())))


class HeatmapForm(QueryForm):
    round = SelectField("Feedback round", coerce=str)
    dimension = SelectField("Segment", choices=choices(segment_choices()))
    by = SelectField("Cross with", choices=choices(segment_choices("Nothing (one segment)")),
                     validators=[Optional()])
    measure = SelectField("Figure",
                          choices=choices([(k, v[2]) for k, v in heatmap.MEASURES.items()]))


class TrendsForm(QueryForm):
    round = SelectField("Later round", coerce=str)
    compare = SelectField("Earlier round", coerce=str)


class DrilldownForm(QueryForm):
    round = SelectField("Feedback round", coerce=str)
    dimension = SelectField("Break down by", choices=choices(segment_choices()))


class CommentFilterForm(QueryForm):
    round = SelectField("Round", coerce=str, default="")
    domain = SelectField("Domain", coerce=str, default="")
    objective = SelectField("Objective", coerce=str, default="")
    segment = SelectField("Segment", choices=choices(segment_value_choices()), default="")
    keyword = SearchField("Keyword", validators=[Optional(), Length(max=100)])
    page = IntegerField("Page", validators=[Optional(), NumberRange(min=1, max=100_000)])
