"""Moderator forms."""

from __future__ import annotations

from wtforms import TextAreaField
from wtforms.validators import DataRequired, Length

from portal.forms import PortalForm


class HideForm(PortalForm):
    reason = TextAreaField(
        "Reason the author will see",
        validators=[DataRequired(message="Give the reason the author will see."),
                    Length(max=500, message="Keep the reason under 500 characters.")])
