"""Opening and closing times that act by themselves, without a background worker;
and the release of the anonymous mixing pools that are due (`pool.release_due`).

Pages that depend on a survey's state call `sync_due_surveys()` first: one
indexed query finds surveys whose opening or closing time has passed, and only
then are they moved (with the model's transition, an audit row, and a commit).
`Survey.accepts_answers()` also checks the closing time, so a survey never takes
answers after it, even between two syncs.
"""

from __future__ import annotations

import logging
from datetime import datetime

import sqlalchemy as sa

from portal import audit
from portal.errors import InvalidTransition
from portal.extensions import db
from portal.models import Survey, SurveyStatus
from portal.surveys import pool
from portal.timeutil import now_utc

log = logging.getLogger("portal.surveys")


def due_survey_ids(now: datetime) -> list[int]:
    return list(db.session.scalars(sa.select(Survey.id).where(sa.or_(
        sa.and_(Survey.status == SurveyStatus.DRAFT, Survey.opens_at <= now),
        sa.and_(Survey.status == SurveyStatus.OPEN, Survey.closes_at <= now)))))


def sync_due_surveys(now: datetime | None = None) -> int:
    """Open and close surveys whose time has come; return how many moved. Commits."""
    now = now or now_utc()
    ids = due_survey_ids(now)
    moved = 0
    for survey_id in ids:
        # Re-read under a row lock: two workers may see the same survey due.
        survey = db.session.scalar(sa.select(Survey).where(Survey.id == survey_id)
                                   .with_for_update()
                                   .execution_options(populate_existing=True))
        try:
            if survey.is_draft and survey.opens_at and survey.opens_at <= now:
                if survey.closes_at is not None and survey.closes_at <= now:
                    survey.open(survey.opens_at)
                    survey.close(now)
                else:
                    survey.open(now)
                audit.record(None, "survey.opened", survey, {"automatic": True})
            elif survey.is_open and survey.closes_at and survey.closes_at <= now:
                survey.close(now)
                audit.record(None, "survey.closed", survey, {"automatic": True})
            else:
                db.session.rollback()
                continue
            db.session.commit()
            moved += 1
        except InvalidTransition as exc:
            db.session.rollback()
            log.warning("survey %s could not open at its time: %s", survey_id, exc.message)
    # Then the pools that are due: a batch is complete, or its survey has closed.
    pool.release_due()
    return moved
