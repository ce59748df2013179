"""Leadership's decision about what members see of a round's results."""

from __future__ import annotations

from datetime import datetime

from portal import audit
from portal.errors import Conflict, NotFound, PortalError
from portal.extensions import db
from portal.models import FeedbackRound, ResultsRelease, RoundStatus, User
from portal.timeutil import now_utc

CHOICES = tuple(r.value for r in ResultsRelease)


def get_round(round_id: int) -> FeedbackRound:
    rnd = db.session.get(FeedbackRound, round_id)
    if rnd is None:
        raise NotFound("There is no such feedback round.")
    return rnd


def set_results_release(actor: User, rnd: FeedbackRound, release: str,
                        now: datetime | None = None) -> bool:
    """Decide when members see the round's results: "hidden", "on_close" or "now".

    A draft round has no figures to publish yet, so "now" is refused for it. Returns
    False (and writes nothing) when the decision does not change; otherwise the audit
    row records the old and the new decision.
    """
    if release not in CHOICES:
        raise PortalError("Choose one of the options listed.", field="release")
    if release == ResultsRelease.NOW and rnd.status == RoundStatus.DRAFT:
        raise Conflict(f"Round '{rnd.name}' has not opened yet, so there is nothing to "
                       "publish now. Choose “When the round closes” or open the round "
                       "first.", field="release")
    before = rnd.results_release
    if before == release:
        return False
    rnd.results_release = release
    rnd.results_released_at = (now or now_utc()) if release == ResultsRelease.NOW else None
    db.session.flush()
    audit.record(actor, "round.results_release", rnd,
                 {"name": rnd.name, "release": release, "before": before,
                  "status": rnd.status})
    return True
