"""The leader's choice of what members see of one round's results."""

from __future__ import annotations

from wtforms import RadioField
from wtforms.validators import InputRequired

from portal.forms import PortalForm, choice_list
from portal.models import ResultsRelease

RELEASE_CHOICES = (
    (ResultsRelease.ON_CLOSE.value, "When the round closes"),
    (ResultsRelease.NOW.value, "Now, while the round is open (figures as of the latest "
                               "leadership snapshot)"),
    (ResultsRelease.HIDDEN.value, "Not at all: keep them from members"),
)


class ResultsReleaseForm(PortalForm):
    release = RadioField(
        "When members see this round's results", choices=choice_list(RELEASE_CHOICES),
        validators=[InputRequired(message="Choose when members see the results.")])
