"""The leader's choice of what members see of one round's results."""

from __future__ import annotations

from wtforms import RadioField
from wtforms.validators import InputRequired

from portal.forms import PortalForm, choice_list
from portal.models import FeedbackRound, ResultsRelease, RoundStatus
from portal.templating import format_datetime

_UNSET = object()

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


CLOSED_CHOICES = (
    (ResultsRelease.ON_CLOSE.value, "Members see them"),
    (ResultsRelease.HIDDEN.value, "Keep them from members"),
)


def release_form(rnd: FeedbackRound, formdata=_UNSET) -> ResultsReleaseForm:
    """The form for one round. A closed round has only two honest choices (shown or
    not), and one published early shows as "Members see them"."""
    prefix = f"round-{rnd.id}"
    current = rnd.results_release
    if rnd.status == RoundStatus.CLOSED and current == ResultsRelease.NOW:
        current = ResultsRelease.ON_CLOSE.value
    if formdata is _UNSET:
        form = ResultsReleaseForm(prefix=prefix)
    else:
        form = ResultsReleaseForm(formdata=formdata, prefix=prefix, release=current)
    if rnd.status == RoundStatus.CLOSED:
        form.release.choices = choice_list(CLOSED_CHOICES)
    return form


def release_text(rnd: FeedbackRound) -> str:
    """What members see of the round now, in a sentence for leaders."""
    closed = rnd.status == RoundStatus.CLOSED
    if rnd.results_release == ResultsRelease.HIDDEN:
        return "Not published to members."
    if rnd.results_release == ResultsRelease.NOW:
        when = (f" on {format_datetime(rnd.results_released_at)}"
                if rnd.results_released_at else "")
        return f"Published early{when}" + ("; the round has since closed." if closed else ".")
    return "Published: the round has closed." if closed else "Published when the round closes."
