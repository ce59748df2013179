"""Builder forms."""

from __future__ import annotations

from typing import Any

from flask_wtf.file import FileField
from wtforms import (
    BooleanField,
    DateField,
    DecimalField,
    HiddenField,
    IntegerField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.validators import AnyOf, DataRequired, Length, NumberRange, Optional, ValidationError

from portal import segments
from portal.forms import PortalForm, ZonedDateTimeField
from portal.models.survey import MAX_BREAKDOWN, QUESTION_TYPE_LABELS
from portal.surveys import definition

DATETIME_FORMATS = ["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M"]


class NewSurveyForm(PortalForm):
    title = StringField("Title", validators=[DataRequired(), Length(max=200)])
    anonymous = BooleanField("Anonymous: answers are never linked to the member", default=True)


class SurveyForm(PortalForm):
    title = StringField("Title", validators=[DataRequired(), Length(max=200)])
    introduction = TextAreaField("Introduction (Markdown)", validators=[Length(max=20000)])
    anonymous = BooleanField("Anonymous: answers are never linked to the member")
    objective = SelectField("Linked objective of the plan", choices=[], validate_choice=True)
    # Typed and shown in the editor's zone; stored as UTC.
    opens_at = ZonedDateTimeField("Opens at ({zone}, optional)", format=DATETIME_FORMATS,
                                  validators=[Optional()])
    closes_at = ZonedDateTimeField("Closes at ({zone}, optional)", format=DATETIME_FORMATS,
                                   validators=[Optional()])
    breakdown = SelectMultipleField(
        "Compare results by", choices={d.key: d.label for d in segments.DIMENSIONS},
        validators=[Optional()])

    def validate_breakdown(self, field):
        if len(field.data or []) > MAX_BREAKDOWN:
            raise ValidationError(f"Choose at most {MAX_BREAKDOWN} segments to compare "
                                  "results by: more would make groups too small to show.")

    def audience(self) -> dict[str, list[str]]:
        return {dim.key: getattr(self, f"aud_{dim.key}").data for dim in segments.DIMENSIONS
                if getattr(self, f"aud_{dim.key}").data}

    def validate_closes_at(self, field):
        if field.data and self.opens_at.data and field.data <= self.opens_at.data:
            raise ValidationError("The closing time must be after the opening time.")


for _dim in segments.DIMENSIONS:
    setattr(SurveyForm, f"aud_{_dim.key}", SelectMultipleField(
        _dim.label, choices=dict(_dim.choices), validators=[Optional()]))


class SectionForm(PortalForm):
    title = StringField("Section title", validators=[DataRequired(), Length(max=200)])
    description = TextAreaField("Description (Markdown, optional)",
                                validators=[Length(max=5000)])
    show_if = SelectMultipleField("Show this section only when", choices=[],
                                  validators=[Optional()])

    def validate_show_if(self, field):
        _one_question(field)


def _one_question(field) -> None:
    questions = {v.split("=", 1)[0] for v in field.data or []}
    if len(questions) > 1:
        raise ValidationError("A condition looks at one earlier question; choose answers of "
                              "one question only.")


def condition_from(values: list[str] | None) -> dict[str, Any] | None:
    """["q3=1", "q3=2"] -> {"question": "q3", "any_of": ["1", "2"]}."""
    if not values:
        return None
    question = values[0].split("=", 1)[0]
    return {"question": question, "any_of": [v.split("=", 1)[1] for v in values]}


def condition_values(show_if: dict[str, Any] | None) -> list[str]:
    if not show_if:
        return []
    return [f"{show_if['question']}={code}" for code in show_if["any_of"]]


class QuestionForm(PortalForm):
    """Every setting of every type; `settings()` keeps those of the chosen type."""

    type = SelectField("Type of question", choices=dict(QUESTION_TYPE_LABELS),
                       validators=[DataRequired()])
    prompt = TextAreaField("Question", validators=[DataRequired(), Length(max=1000)])
    help_text = TextAreaField("Help text (optional)", validators=[Length(max=1000)])
    required = BooleanField("An answer is required")
    options = TextAreaField("Options (one per line; for a matrix: its statements)",
                            validators=[Length(max=20000)])
    allow_other = BooleanField("Offer “Other, please specify”")
    min_selections = IntegerField("Choose at least", validators=[Optional(), NumberRange(0, 50)])
    max_selections = IntegerField("Choose at most", validators=[Optional(), NumberRange(1, 50)])
    points = SelectField("Points on the scale", choices={"5": "5", "7": "7"}, default="5")
    labels = TextAreaField("Scale labels (one per line, lowest first; empty = agreement "
                           "scale)", validators=[Length(max=2000)])
    allow_na = BooleanField("Offer “Not applicable”")
    low_label = StringField("Label of 0", default="Not at all likely",
                            validators=[Length(max=100)])
    high_label = StringField("Label of 10", default="Extremely likely",
                             validators=[Length(max=100)])
    top_n = IntegerField("Rank the top", default=3, validators=[Optional(), NumberRange(1, 50)])
    num_min = DecimalField("Smallest number allowed", validators=[Optional()])
    num_max = DecimalField("Largest number allowed", validators=[Optional()])
    integer = BooleanField("Whole numbers only", default=True)
    max_length = IntegerField("Maximum length (characters)",
                              validators=[Optional(), NumberRange(1, 10000)])
    date_min = DateField("Earliest date", validators=[Optional()])
    date_max = DateField("Latest date", validators=[Optional()])
    show_if = SelectMultipleField("Show this question only when", choices=[],
                                  validators=[Optional()])

    def validate_show_if(self, field):
        _one_question(field)

    def settings(self, qtype: str) -> dict[str, Any]:
        if qtype in ("likert", "likert_matrix"):
            points = int(self.points.data or 5)
            lines = [x.strip() for x in (self.labels.data or "").splitlines() if x.strip()]
            return {"points": points, "labels": lines or definition.LIKERT_LABELS[points],
                    "allow_na": bool(self.allow_na.data)}
        if qtype == "multiple_choice":
            return {"min_selections": self.min_selections.data or 0,
                    "max_selections": self.max_selections.data}
        if qtype == "rating_0_10":
            return {"low_label": self.low_label.data or "", "high_label":
                    self.high_label.data or ""}
        if qtype == "ranking":
            return {"top_n": self.top_n.data or 1}
        if qtype == "number":
            def num(v):
                return None if v is None else (int(v) if v == int(v) else float(v))
            return {"min": num(self.num_min.data), "max": num(self.num_max.data),
                    "integer": bool(self.integer.data)}
        if qtype in definition.TEXT_LIMITS:
            return {"max_length": self.max_length.data or definition.TEXT_LIMITS[qtype][0]}
        if qtype == "date":
            return {"min": self.date_min.data.isoformat() if self.date_min.data else None,
                    "max": self.date_max.data.isoformat() if self.date_max.data else None}
        return {}

    def fill_settings(self, qtype: str, settings: dict[str, Any]) -> None:
        """Put a stored question's settings into the form (GET of the edit page)."""
        if qtype in ("likert", "likert_matrix"):
            self.points.data = str(settings.get("points", 5))
            self.labels.data = "\n".join(settings.get("labels", []))
            self.allow_na.data = settings.get("allow_na", False)
        elif qtype == "multiple_choice":
            self.min_selections.data = settings.get("min_selections") or None
            self.max_selections.data = settings.get("max_selections")
        elif qtype == "rating_0_10":
            self.low_label.data = settings.get("low_label", "")
            self.high_label.data = settings.get("high_label", "")
        elif qtype == "ranking":
            self.top_n.data = settings.get("top_n")
        elif qtype == "number":
            self.num_min.data = settings.get("min")
            self.num_max.data = settings.get("max")
            self.integer.data = settings.get("integer", True)
        elif qtype in definition.TEXT_LIMITS:
            self.max_length.data = settings.get("max_length")
        elif qtype == "date":
            from datetime import date

            self.date_min.data = date.fromisoformat(settings["min"]) if settings.get("min") \
                else None
            self.date_max.data = date.fromisoformat(settings["max"]) if settings.get("max") \
                else None


class OptionForm(PortalForm):
    label = StringField("Option", validators=[DataRequired(), Length(max=500)])
    is_other = BooleanField("This is “Other, please specify”")


class MoveForm(PortalForm):
    direction = HiddenField("Direction", validators=[AnyOf(["up", "down"])])


class ConfirmForm(PortalForm):
    """A button that changes state: only the CSRF token."""


class ImportForm(PortalForm):
    file = FileField("Survey definition file (JSON)")
    text = TextAreaField("…or paste the JSON", validators=[Length(max=1_000_000)])

    def content(self) -> str | bytes | None:
        if self.file.data and getattr(self.file.data, "filename", ""):
            return self.file.data.read()
        return self.text.data or None
