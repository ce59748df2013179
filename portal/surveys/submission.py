"""Submitting a survey, so that an anonymous answer cannot be traced to its member.

This is the one service that commits: the guarantee depends on WHICH transaction
writes which row, so the protocol cannot be left to the caller.

Anonymous surveys take three transactions:

1. **Claim.** Lock the member's draft, re-check every answer, insert the
   `survey_participations` row (its primary key is the database's "one response
   per member": a second or simultaneous submission fails here and gets 409),
   and SEAL the draft with the final answers and a freshly drawn response UUID.
   Commit.
2. **Store.** In a new transaction, insert the response (random UUID, copied
   segment values, submission date) and its answers, unless a response with the
   sealed UUID already exists (a retry). In the same transaction re-write a few
   randomly chosen earlier responses of the survey, in a shuffled order together
   with the new one (`_mix`). Commit.
3. **Discard.** Delete the sealed draft. Commit.

Why this order. The participation is written first because it is the lock that
makes "submit once" true; nothing may be stored before it is held. The answers
stay in the sealed draft until the response is durable, so no accepted answer
is lost whatever fails:

- claim fails: rolled back, nothing stored, the draft is intact; try again.
- store fails: the member is recorded as having answered (they cannot submit
  twice) and the sealed draft still holds the answers; `finish_sealed_drafts`
  stores them (on the member's next visit to /surveys, or by
  `flask surveys finish-submissions`). Storing is idempotent thanks to the
  sealed UUID.
- discard fails: the response is stored; the recovery sees the UUID exists and
  only deletes the draft.

Why separate transactions. On PostgreSQL every row carries `xmin`, the id of
the transaction that wrote it; a participation and a response written together
would share it and could be joined. The participation and the response are
written by different transactions, so their xmin never match.

Why the mixing. Written one after the other, the two tables would still list
their rows in the same order (xmin order, physical position). Step 2 therefore
re-writes up to MIX_PARTNERS random earlier responses (and their answers) in the
same transaction and in a random order: the new response shares its xmin and its
neighbourhood on disk with those others, and nothing says which of them is new.
On SQLite the response tables are WITHOUT ROWID, stored in UUID order.

The sealed draft links the member to the response UUID only between steps 1
and 3 (normally milliseconds); no log line or audit row names both.

Attributed surveys need none of this: one transaction writes the participation,
the response, the attribution and deletes the draft; the member may change the
answers until the survey closes.
"""

from __future__ import annotations

import logging
import random
import uuid
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

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
from portal.surveys.services import final_answers, summary
from portal.timeutil import today_utc

log = logging.getLogger("portal.surveys")

MIX_PARTNERS = 8
# Replaced in tests by a seeded generator; secrets-grade randomness otherwise.
_rng: random.Random = random.SystemRandom()


@dataclass
class Receipt:
    """What was stored, for the page shown after submitting."""

    survey: Survey
    anonymous: bool
    submitted_on: Any
    sections: list
    # The claim succeeded but storing did not finish yet (it will: see the docstring).
    pending: bool = False


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
    if draft.sealed_response_id is not None:
        raise Conflict("You have already submitted this survey.")
    return draft


def _check_complete(survey: Survey, draft: SurveyDraft, answers: dict[str, Any]) -> None:
    visible = ans.visible_sections(survey.sections, answers)
    if any(s.id not in (draft.completed_sections or []) for s in visible):
        raise Conflict("Please go through every section before you submit.")


def _submit_anonymous(survey: Survey, user: User) -> Receipt:
    # Once the claim is committed the member has taken part, whatever happens next:
    # the thank-you page must then render without the database (it may go away between
    # the steps; a 503 saying "nothing was saved" would be untrue). So nothing loaded
    # here is expired by the commits, and the page's texts are read before the claim.
    session = db.session()
    session.expire_on_commit = False
    try:
        return _submit_anonymous_steps(survey, user)
    finally:
        session.expire_on_commit = True


def _submit_anonymous_steps(survey: Survey, user: User) -> Receipt:
    segments = user.segment_values()
    # 1. Claim.
    try:
        draft = _locked_draft(survey, user)
        _check_complete(survey, draft, ans.prune(survey.sections, dict(draft.answers or {})))
        answers = final_answers(survey, dict(draft.answers or {}))
        shown = summary(survey, answers)
        db.session.add(SurveyParticipation(survey_id=survey.id, user_id=user.id))
        db.session.flush()
        response_id = uuid.uuid4()
        draft.answers = answers
        draft.sealed_response_id = response_id
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        raise Conflict("You have already submitted this survey.")
    except Exception:
        db.session.rollback()
        raise
    # 2. Store, 3. Discard (recoverable by finish_sealed_drafts if either fails).
    pending = False
    try:
        _store_sealed(survey, response_id, answers, segments)
        _discard_sealed(survey.id, user.id, response_id)
    except Exception:
        # The answers are accepted and safe in the sealed draft; never name the
        # member or the response key here.
        log.exception("storing a claimed survey response failed; it will be finished later")
        pending = True
    return Receipt(survey, True, today_utc(), shown, pending)


def _store_sealed(survey: Survey, response_id: uuid.UUID, answers: dict[str, Any],
                  segments: dict[str, str | None]) -> None:
    try:
        exists = db.session.scalar(sa.select(SurveyResponse.id).where(
            SurveyResponse.id == response_id))
        if exists is None:
            rows = _answer_rows(survey, answers)
            _mix(survey.id, {"id": response_id, "survey_id": survey.id,
                             "submitted_on": today_utc(), **segments}, rows)
        db.session.commit()
    except Exception:
        db.session.rollback()
        raise


def _discard_sealed(survey_id: int, user_id: int, response_id: uuid.UUID) -> None:
    try:
        db.session.execute(sa.delete(SurveyDraft).where(
            SurveyDraft.survey_id == survey_id, SurveyDraft.user_id == user_id,
            SurveyDraft.sealed_response_id == response_id))
        db.session.commit()
    except Exception:
        db.session.rollback()
        raise


def _answer_rows(survey: Survey, answers: dict[str, Any]) -> list[dict[str, Any]]:
    return [{**row, "question_id": q.id} for q in survey.ordered_questions()
            if q.code in answers for row in ans.to_rows(q, answers[q.code])]


def _mix(survey_id: int, response: dict[str, Any], answer_rows: list[dict[str, Any]]) -> None:
    """Insert the new response among re-written random earlier ones, in random order."""
    pivot = uuid.UUID(int=_rng.getrandbits(128))
    base = sa.select(SurveyResponse.id).where(SurveyResponse.survey_id == survey_id)
    partners = list(db.session.scalars(
        base.where(SurveyResponse.id > pivot).order_by(SurveyResponse.id).limit(MIX_PARTNERS)))
    if len(partners) < MIX_PARTNERS:
        partners += list(db.session.scalars(
            base.where(SurveyResponse.id <= pivot).order_by(SurveyResponse.id)
            .limit(MIX_PARTNERS - len(partners))))
    if partners:
        # Lock in key order, so that two submissions mixing overlapping partners
        # wait for each other instead of deadlocking.
        partners = list(db.session.scalars(
            sa.select(SurveyResponse.id).where(SurveyResponse.id.in_(partners))
            .order_by(SurveyResponse.id).with_for_update()))
    work: list[uuid.UUID | None] = [*partners, None]
    _rng.shuffle(work)
    for item in work:
        if item is None:
            db.session.execute(sa.insert(SurveyResponse), [response])
            if answer_rows:
                db.session.execute(sa.insert(SurveyAnswer).values(
                    [{**r, "response_id": response["id"]} for r in answer_rows]))
        else:
            # A no-op UPDATE still writes a new row version (new xmin, new place).
            db.session.execute(sa.update(SurveyResponse).where(SurveyResponse.id == item)
                               .values(submitted_on=SurveyResponse.submitted_on))
            db.session.execute(sa.update(SurveyAnswer).where(SurveyAnswer.response_id == item)
                               .values(item=SurveyAnswer.item))


def finish_sealed_drafts(user: User | None = None) -> int:
    """Store and discard every sealed draft (of `user`, or all). Commits each one.

    Recovers a submission interrupted after its claim; see the module docstring.
    """
    query = sa.select(SurveyDraft).where(SurveyDraft.sealed_response_id.is_not(None))
    if user is not None:
        query = query.where(SurveyDraft.user_id == user.id)
    pending = [(d.survey_id, d.user_id, d.sealed_response_id, dict(d.answers or {}))
               for d in db.session.scalars(query)]
    done = 0
    for survey_id, user_id, response_id, answers in pending:
        survey = db.session.get(Survey, survey_id)
        member = db.session.get(User, user_id)
        if survey is None or member is None:
            continue
        _store_sealed(survey, response_id, answers, member.segment_values())
        _discard_sealed(survey_id, user_id, response_id)
        done += 1
    return done


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
            response = SurveyResponse(id=uuid.uuid4(), survey_id=survey.id,
                                      submitted_on=today_utc(), **user.segment_values())
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
                SurveyResponse.id == response_id).values(submitted_on=today_utc(),
                                                         **user.segment_values()))
        rows = _answer_rows(survey, answers)
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
    return Receipt(survey, False, today_utc(), summary(survey, answers))
