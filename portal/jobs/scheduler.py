"""Work the worker's scheduler does every minute (and once when a worker starts):
hand due and abandoned jobs to the queue again, start campaign waves whose
time has come, and send the daily and weekly activity digests that are due. Page
requests never do this."""

from __future__ import annotations

import logging

from portal.jobs import outbox

log = logging.getLogger("portal.jobs")


def tick() -> dict[str, int]:
    from portal.campaigns import waves
    from portal.extensions import db
    from portal.feedback import notify
    from portal.rounds.services import sync_rounds
    from portal.surveys.lifecycle import sync_due_surveys

    # Rounds and surveys open and close on time even when nobody opens a page (the
    # pages still check too, so a stopped worker never leaves one open past its time).
    sync_rounds()
    db.session.rollback()  # it writes on connections of its own; end the read
    sync_due_surveys()
    started = waves.start_due_waves()
    digests = notify.send_due_digests()
    swept = outbox.sweep()
    if started or swept or digests:
        log.info("scheduler: %s campaign wave(s) started, %s digest(s) queued, %s job(s) "
                 "handed over", started, digests, swept)
    return {"waves": started, "digests": digests, "jobs": swept}
