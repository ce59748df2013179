"""The leadership update form."""

from __future__ import annotations

from wtforms import IntegerField, RadioField, TextAreaField
from wtforms.validators import InputRequired, Length, NumberRange

from portal.feedback.forms import make_choices
from portal.forms import PortalForm
from portal.models import UPDATE_STATUS_LABELS


class UpdateForm(PortalForm):
    status = RadioField("Status", choices=make_choices((s.value, label) for s, label
                                                       in UPDATE_STATUS_LABELS.items()),
                        validators=[InputRequired(message="Choose a status.")])
    progress = IntegerField(
        "Progress (percent)",
        validators=[InputRequired(message="Enter the progress as a whole number from 0 to 100."),
                    NumberRange(min=0, max=100, message="Progress is a whole number from 0 to "
                                                        "100.")])
    heard = TextAreaField("What we heard", validators=[Length(max=10000)])
    doing = TextAreaField("What we are doing", validators=[Length(max=10000)])
