"""The campaign form of the admin console."""

from __future__ import annotations

from wtforms import (
    IntegerField,
    RadioField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional

from portal import segments
from portal.campaigns import texts
from portal.campaigns.services import CampaignInput
from portal.forms import PortalForm, ZonedDateTimeField, choice_list
from portal.models import AudienceKind

DATETIME_FORMATS = ["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M"]
ACTIONS = ("preview", "test", "create")


class CampaignForm(PortalForm):
    name = StringField("Campaign name (for admins)", validators=[Optional(), Length(max=120)])
    survey_id = SelectField("Survey", coerce=int, choices=[],
                            validators=[InputRequired("Choose the survey to invite members to.")])
    round_id = SelectField("Or a feedback round", coerce=int, choices=[], default=0,
                           validators=[Optional()])
    audience_kind = RadioField("Who to invite", default=AudienceKind.ROSTER.value,
                               choices=choice_list([
                                   (AudienceKind.ROSTER.value, "Everyone on the member roster"),
                                   (AudienceKind.VERIFIED.value,
                                    "Members with an account and a confirmed address")]),
                               validators=[DataRequired("Choose who to invite.")])
    subject = StringField("Subject", default=texts.DEFAULT_SUBJECT,
                          validators=[DataRequired("Write a subject."), Length(max=200)])
    body = TextAreaField("Message", default=texts.DEFAULT_BODY,
                         validators=[DataRequired("Write the message."), Length(max=20000)])
    # Typed and shown in the editor's zone; stored as UTC.
    send_at = ZonedDateTimeField("Send at ({zone}; empty: now)", format=DATETIME_FORMATS,
                                 validators=[Optional()])
    reminder_count = IntegerField(
        "Number of reminders", default=2,
        validators=[InputRequired("Give a number of reminders (0 for none)."),
                    NumberRange(0, 10, "Send between 0 and 10 reminders.")])
    reminder_days = IntegerField(
        "Days between reminders (at least)", default=7,
        validators=[InputRequired("Give the number of days between reminders."),
                    NumberRange(1, 90, "Reminders must be between 1 and 90 days apart.")])
    reminder_subject = StringField("Reminder subject", default=texts.DEFAULT_REMINDER_SUBJECT,
                                   validators=[Optional(), Length(max=200)])
    reminder_body = TextAreaField("Reminder message", default=texts.DEFAULT_REMINDER_BODY,
                                  validators=[Optional(), Length(max=20000)])
    stop_at = ZonedDateTimeField("Stop date ({zone})", format=DATETIME_FORMATS,
                                 validators=[InputRequired("Choose a stop date: nothing goes "
                                                           "out after it.")])

    def audience_segments(self) -> dict[str, list[str]]:
        return {dim.key: getattr(self, f"aud_{dim.key}").data for dim in segments.DIMENSIONS
                if getattr(self, f"aud_{dim.key}").data}

    def to_input(self) -> CampaignInput:
        return CampaignInput(
            name=self.name.data or "", survey_id=self.survey_id.data or None,
            audience_kind=self.audience_kind.data or "",
            audience_segments=self.audience_segments(), subject=self.subject.data or "",
            body=self.body.data or "", reminder_subject=self.reminder_subject.data or "",
            reminder_body=self.reminder_body.data or "", send_at=self.send_at.data,
            reminder_count=self.reminder_count.data or 0,
            reminder_days=self.reminder_days.data or 1, stop_at=self.stop_at.data,
            round_id=self.round_id.data or None)


for _dim in segments.DIMENSIONS:
    setattr(CampaignForm, f"aud_{_dim.key}", SelectMultipleField(
        _dim.label, choices=dict(_dim.choices), validators=[Optional()]))
