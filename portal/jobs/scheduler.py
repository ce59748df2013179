"""Work the worker's scheduler does every minute (and once when a worker starts):
hand due and abandoned jobs to the queue again, and start campaign waves whose
time has come. Page requests never do this."""

from __future__ import annotations

import logging

from portal.jobs import outbox

log = logging.getLogger("portal.jobs")


def tick() -> dict[str, int]:
    from portal.campaigns import waves
    from portal.extensions import db
    from portal.rounds.services import sync_rounds
    from portal.surveys.lifecycle import sync_due_surveys

    # Rounds and surveys open and close on time even when nobody opens a page (the
    # pages still check too, so a stopped worker never leaves one open past its time).
    sync_rounds()
    db.session.rollback()  # it writes on connections of its own; end the read
    sync_due_surveys()
    started = waves.start_due_waves()
    swept = outbox.sweep()
    if started or swept:
        log.info("scheduler: %s campaign wave(s) started, %s job(s) handed over", started, swept)
    return {"waves": started, "jobs": swept}
