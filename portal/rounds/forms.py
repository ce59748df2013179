"""Forms for scheduling feedback rounds."""

from __future__ import annotations

from wtforms import StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional

from portal.forms import PortalForm, ZonedDateTimeField


class RoundForm(PortalForm):
    name = StringField("Name", validators=[DataRequired(message="Give the round a name."),
                                           Length(max=120)])
    description = TextAreaField("Description", validators=[Optional(), Length(max=2000)])
    # Typed and shown in the editor's zone; stored as UTC.
    opens_at = ZonedDateTimeField(
        "Opens at ({zone})", format="%Y-%m-%dT%H:%M",
        validators=[DataRequired(message="Enter the opening date and time.")])
    closes_at = ZonedDateTimeField(
        "Closes at ({zone})", format="%Y-%m-%dT%H:%M",
        validators=[DataRequired(message="Enter the closing date and time.")])
