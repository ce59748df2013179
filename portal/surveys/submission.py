"""Submitting a survey, so that an anonymous answer cannot be traced to its member.

This is the one service that commits: the guarantee depends on WHICH transaction
writes which row, so the protocol cannot be left to the caller.

Anonymous surveys: ONE transaction locks the member's draft, re-checks every
answer, inserts the `survey_participations` row (its primary key is the
database's "one response per member": a second or simultaneous submission fails
here and gets 409), adds the answers to the mixing pool SEALED
(`portal/surveys/pool.py`) and deletes the draft. Commit. Nothing in that
transaction is readable as an answer: the pool entry is ciphertext under a key
that is not in the database.

Then, in transactions of their own, the pool is released into `survey_responses`
in shuffled batches of at least PRIVACY_MIN_N (`pool.release`), so a response
never sits in, or next to, the transaction that recorded its member. The member's
receipt says that the answers wait for a batch and cannot be changed.

A failure before the commit rolls everything back (the draft is intact: try
again); after it, the answers are durable in the pool whatever fails next, and
the next survey page or `flask surveys release` releases them.

Attributed surveys need none of this: one transaction writes the participation,
the response, the attribution and deletes the draft; the member may change the
answers until the survey closes.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from portal import sealing
from portal.errors import Conflict
from portal.extensions import db
from portal.models import (
    Survey,
    SurveyAnswer,
    SurveyAttribution,
    SurveyDraft,
    SurveyParticipation,
    SurveyResponse,
    User,
)
from portal.surveys import answers as ans
from portal.surveys import pool
from portal.surveys.generalise import stored_segments
from portal.surveys.services import final_answers, summary
from portal.timeutil import today_utc

log = logging.getLogger("portal.surveys")


@dataclass
class Receipt:
    """What was stored, for the page shown after submitting."""

    survey: Survey
    anonymous: bool
    submitted_on: Any
    sections: list
    # Read before any commit: the page must render even if the database goes away.
    title: str = ""
    breakdown_keys: tuple[str, ...] = ()


def submit(survey: Survey, user: User) -> Receipt:
    """Submit the member's draft. Commits (see the module docstring for why).

    Raises Conflict when the member already answered or has nothing to submit,
    SectionErrors when an answer is missing or no longer valid.
    """
    if survey.anonymous:
        return _submit_anonymous(survey, user)
    return _submit_attributed(survey, user)


def _locked_draft(survey: Survey, user: User) -> SurveyDraft:
    draft = db.session.scalar(
        sa.select(SurveyDraft).where(SurveyDraft.survey_id == survey.id,
                                     SurveyDraft.user_id == user.id)
        .with_for_update().execution_options(populate_existing=True))
    if draft is None:
        if db.session.get(SurveyParticipation, (survey.id, user.id)) is not None:
            raise Conflict("You have already submitted this survey.")
        raise Conflict("There is nothing to submit yet: please answer the survey first.")
    return draft


def _check_complete(survey: Survey, draft: SurveyDraft, answers: dict[str, Any]) -> None:
    visible = ans.visible_sections(survey.sections, answers)
    if any(s.id not in (draft.completed_sections or []) for s in visible):
        raise Conflict("Please go through every section before you submit.")


def _submit_anonymous(survey: Survey, user: User) -> Receipt:
    # Once the claim is committed the member has taken part, whatever happens next:
    # the thank-you page must then render without the database (it may go away
    # before the release). So nothing loaded here is expired by the commit.
    session = db.session()
    session.expire_on_commit = False
    try:
        return _submit_anonymous_steps(survey, user)
    finally:
        session.expire_on_commit = True


def _submit_anonymous_steps(survey: Survey, user: User) -> Receipt:
    sealing.require_key()
    segments = user.segment_values()
    title, keys = survey.title, survey.breakdown_keys
    try:
        draft = _locked_draft(survey, user)
        _check_complete(survey, draft, ans.prune(survey.sections, dict(draft.answers or {})))
        answers = final_answers(survey, dict(draft.answers or {}))
        shown = _plain(summary(survey, answers))
        db.session.add(SurveyParticipation(survey_id=survey.id, user_id=user.id))
        db.session.flush()
        pool.enter(survey, answers, segments)
        db.session.delete(draft)
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        raise Conflict("You have already submitted this survey.")
    except Exception:
        db.session.rollback()
        raise
    # A failed release rolls back, which expires every object in the session; the
    # signed-in member must still render on the thank-you page without the database.
    db.session.expunge(user)
    try:
        pool.release(survey.id)
    except Exception:
        # The answers are accepted and durable in the pool; the next page or
        # `flask surveys release` releases them. Never name the member here.
        log.exception("releasing a survey's pool failed; it will be retried")
    finally:
        db.session.add(user)
    return Receipt(survey, True, today_utc(), shown, title, keys)


def _plain(shown: list) -> list:
    """The summary as plain values (section titles, prompts, texts), readable after
    the session is gone."""
    return [(SimpleNamespace(title=section.title),
             [(SimpleNamespace(prompt=q.prompt), text) for q, text in rows])
            for section, rows in shown]


def _submit_attributed(survey: Survey, user: User) -> Receipt:
    try:
        draft = _locked_draft(survey, user)
        _check_complete(survey, draft, ans.prune(survey.sections, dict(draft.answers or {})))
        answers = final_answers(survey, dict(draft.answers or {}))
        existing = db.session.scalar(sa.select(SurveyAttribution).where(
            SurveyAttribution.survey_id == survey.id, SurveyAttribution.user_id == user.id))
        if existing is None:
            db.session.add(SurveyParticipation(survey_id=survey.id, user_id=user.id))
            db.session.flush()
            response = SurveyResponse(
                id=uuid.uuid4(), survey_id=survey.id, submitted_on=today_utc(),
                **stored_segments(user.segment_values(), survey.breakdown_keys))
            db.session.add(response)
            db.session.flush()
            db.session.add(SurveyAttribution(response_id=response.id, survey_id=survey.id,
                                             user_id=user.id))
            response_id = response.id
        else:
            response_id = existing.response_id
            db.session.execute(sa.delete(SurveyAnswer).where(
                SurveyAnswer.response_id == response_id))
            db.session.execute(sa.update(SurveyResponse).where(
                SurveyResponse.id == response_id).values(
                    submitted_on=today_utc(),
                    **stored_segments(user.segment_values(), survey.breakdown_keys)))
        rows = pool.answer_rows(survey, answers)
        if rows:
            db.session.execute(sa.insert(SurveyAnswer).values(
                [{**r, "response_id": response_id} for r in rows]))
        db.session.delete(draft)
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        raise Conflict("You have already submitted this survey.")
    except Exception:
        db.session.rollback()
        raise
    return Receipt(survey, False, today_utc(), summary(survey, answers), survey.title,
                   survey.breakdown_keys)
