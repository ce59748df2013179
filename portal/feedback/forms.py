"""Forms for rating objectives, writing comments and flagging them."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import BooleanField, HiddenField, RadioField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional, ValidationError

from portal.forms import PortalForm
from portal.models import FlagReason
from portal.models.feedback import DONT_KNOW, IMPORTANCE_LABELS, PERFORMANCE_LABELS

IMPORTANCE_QUESTION = "How important is this objective to you?"
PERFORMANCE_QUESTION = "How well is the association doing on it?"
FLAG_LABELS = {FlagReason.SPAM: "Spam or advertising", FlagReason.ABUSIVE: "Abusive or offensive",
               FlagReason.OFF_TOPIC: "Off-topic", FlagReason.OTHER: "Something else"}


def make_choices(pairs):
    """Radio choices as WTForms 3.3+ wants them (SelectChoice), tuples on older versions."""
    try:
        from wtforms.fields.choices import SelectChoice
    except ImportError:  # WTForms < 3.3
        return list(pairs)
    return [SelectChoice(value, label) for value, label in pairs]


def _scale(labels: dict[int, str]):
    return make_choices([(v, labels[v]) for v in (1, 2, 3, 4, 5)]
                        + [(DONT_KNOW, labels[DONT_KNOW])])


SCALE_VALUES = frozenset(IMPORTANCE_LABELS)


def _to_int(value):
    if value in (None, ""):
        return None
    return int(value)


class ScaleField(RadioField):
    """An optional radio scale with a plain-language error for values off the scale."""

    def __init__(self, label, labels, summary_prefix: str = "", **kwargs):
        super().__init__(label, choices=_scale(labels), coerce=_to_int,
                         validators=[Optional()], **kwargs)
        self.type = "RadioField"  # the form macros render it as a radio fieldset
        # On a page of many scales the error summary says which one ("A1, importance:").
        self.summary_prefix = summary_prefix

    def process_formdata(self, valuelist):
        try:
            super().process_formdata(valuelist)
        except ValueError:
            self.data = None
            raise ValueError("Choose one of the answers on the scale.")

    def pre_validate(self, form):
        if self.data is not None and self.data not in SCALE_VALUES:
            raise ValidationError("Choose one of the answers on the scale.")


class RatingForm(PortalForm):
    importance = ScaleField(IMPORTANCE_QUESTION, IMPORTANCE_LABELS)
    performance = ScaleField(PERFORMANCE_QUESTION, PERFORMANCE_LABELS)


def domain_rating_form(objectives, ratings=None, submitted: bool = False,
                       meta: dict | None = None) -> FlaskForm:
    """One form for a whole domain: an importance and a performance scale per objective.

    Shown with the member's saved ratings; read from the request when `submitted`.
    `meta` goes to the form (no CSRF field on a page that carries its own token).
    """

    class DomainRatingForm(PortalForm):
        pass

    for obj in objectives:
        setattr(DomainRatingForm, f"importance_{obj.id}",
                ScaleField(f"{obj.code}: {IMPORTANCE_QUESTION}", IMPORTANCE_LABELS,
                           summary_prefix=f"{obj.code}, importance:"))
        setattr(DomainRatingForm, f"performance_{obj.id}",
                ScaleField(f"{obj.code}: {PERFORMANCE_QUESTION}", PERFORMANCE_LABELS,
                           summary_prefix=f"{obj.code}, performance:"))
    data = {}
    for obj_id, r in (ratings or {}).items():
        data[f"importance_{obj_id}"] = r.importance
        data[f"performance_{obj_id}"] = r.performance
    if submitted:
        return DomainRatingForm(meta=meta or {})
    return DomainRatingForm(formdata=None, data=data, meta=meta or {})


class CommentForm(PortalForm):
    body = TextAreaField(
        "Your comment",
        validators=[DataRequired(message="Write your comment before sending it."),
                    Length(max=5000, message="A comment can be at most 5,000 characters long.")])
    hide_name = BooleanField("Don't show my name to other members")
    parent_id = HiddenField()


class EditCommentForm(PortalForm):
    body = TextAreaField(
        "Your comment",
        validators=[DataRequired(message="Write your comment before saving it."),
                    Length(max=5000, message="A comment can be at most 5,000 characters long.")])


class FlagForm(PortalForm):
    reason = RadioField("Why are you flagging this comment?",
                        choices=make_choices((r.value, label) for r, label in FLAG_LABELS.items()),
                        validators=[DataRequired(message="Choose why you are flagging this "
                                                         "comment.")])
    note = TextAreaField("What is wrong with it?", validators=[Optional(), Length(max=500)])

    def validate_note(self, field):
        if self.reason.data == FlagReason.OTHER.value and not (field.data or "").strip():
            raise ValidationError("Tell the moderators what is wrong with this comment.")
