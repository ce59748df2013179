"""Who answered a survey, and what was answered, kept apart.

For an anonymous survey nothing here leads from an answer back to a member:

- `survey_participations` records only THAT a member answered (one row per
  member and survey, enforced by its primary key). It has no time and no
  reference to a response.
- `survey_responses` has a random UUID key, the member's segment values copied
  at submission for the survey's breakdown dimensions only (generalised so that no
  combination is rarer than PRIVACY_MIN_N participants), the DATE of the batch
  release (no time), the number of that release batch (`batch`) and nothing else:
  no user id, session, IP address, user agent or per-response sequence number.
  `batch` is shared by the whole batch (at least PRIVACY_MIN_N shuffled rows), so
  it says only what the release date already said (which release a row came
  with); it lets survey results of an open survey keep snapshots
  (`survey_snapshots`, `portal/survey_results/snapshots.py`).
- `survey_answers` is keyed by (response UUID, question, item): no
  autoincrement id that would reveal the order of submissions.
- `survey_pool` holds anonymous submissions waiting to be released, sealed.
- `survey_attributions` links a response to its member ONLY for attributed
  surveys (the service never writes one for an anonymous survey).

How the rows are written (separate transactions, mixing) is explained in
`portal/surveys/submission.py`.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from portal import sealing
from portal.extensions import db
from portal.models.survey import Survey
from portal.timeutil import now_utc

# SQLite: WITHOUT ROWID tables are stored in primary-key order, so no hidden rowid
# reveals the order in which rows were written (PostgreSQL: see submission.py).
NO_ROWID = {"sqlite_with_rowid": False}


class SurveyParticipation(db.Model):
    __tablename__ = "survey_participations"
    __table_args__ = (NO_ROWID,)

    survey_id: Mapped[int] = mapped_column(
        sa.ForeignKey("surveys.id", ondelete="CASCADE"), primary_key=True)
    user_id: Mapped[int] = mapped_column(
        sa.ForeignKey("users.id", ondelete="CASCADE"), primary_key=True, index=True)


class SurveyDraft(db.Model):
    """A member's unfinished answers, kept on the server so they can come back later.

    The answers are stored sealed (`portal/sealing.py`): for an anonymous survey the
    column holds AES-GCM ciphertext under a key that is not in the database, so a
    deleted draft's residue in dead rows, the WAL or a backup is unreadable without
    it. `answers` seals and opens on the way in and out. The draft is deleted in the
    transaction that submits it.
    """

    __tablename__ = "survey_drafts"

    survey_id: Mapped[int] = mapped_column(
        sa.ForeignKey("surveys.id", ondelete="CASCADE"), primary_key=True)
    user_id: Mapped[int] = mapped_column(
        sa.ForeignKey("users.id", ondelete="CASCADE"), primary_key=True, index=True)
    sealed_answers: Mapped[bytes] = mapped_column(sa.LargeBinary)
    # Ids of the sections the member has completed (so pages are answered in order).
    completed_sections: Mapped[list[int]] = mapped_column(sa.JSON, default=list)
    updated_at: Mapped[datetime] = mapped_column(default=lambda: now_utc(),
                                                 onupdate=lambda: now_utc())

    @property
    def answers(self) -> dict[str, Any]:
        return sealing.unseal(self.sealed_answers,
                              sealing.draft_context(self.survey_id, self.user_id)) or {}

    @answers.setter
    def answers(self, value: dict[str, Any]) -> None:
        if self.survey_id is None or self.user_id is None:
            raise ValueError("set survey_id and user_id before a draft's answers")
        survey = db.session.get(Survey, self.survey_id)
        if survey is not None and survey.anonymous:
            self.sealed_answers = sealing.seal(
                value or {}, sealing.draft_context(self.survey_id, self.user_id))
        else:
            self.sealed_answers = sealing.plain(value or {})


class SurveyPoolEntry(db.Model):
    """An anonymous submission waiting in the mixing pool, sealed.

    Written in the transaction that records the member's participation (so a
    submission is one atomic step), it holds only ciphertext: the answers and the
    segment values the survey breaks down by, sealed under the key of this survey's
    current release `epoch`. No member, time or order: a random key, and WITHOUT
    ROWID on SQLite. `portal/surveys/pool.py` releases entries into
    `survey_responses` in shuffled batches of at least PRIVACY_MIN_N and deletes them.
    """

    __tablename__ = "survey_pool"
    __table_args__ = (sa.Index("ix_survey_pool_survey_id", "survey_id"), NO_ROWID)

    id: Mapped[uuid.UUID] = mapped_column(sa.Uuid, primary_key=True, default=uuid.uuid4)
    survey_id: Mapped[int] = mapped_column(sa.ForeignKey("surveys.id", ondelete="CASCADE"))
    epoch: Mapped[int] = mapped_column()
    sealed: Mapped[bytes] = mapped_column(sa.LargeBinary)


class SurveyResponse(db.Model):
    __tablename__ = "survey_responses"
    __table_args__ = (sa.Index("ix_survey_responses_survey_id", "survey_id", "id"), NO_ROWID)

    id: Mapped[uuid.UUID] = mapped_column(sa.Uuid, primary_key=True, default=uuid.uuid4)
    survey_id: Mapped[int] = mapped_column(sa.ForeignKey("surveys.id", ondelete="CASCADE"))
    submitted_on: Mapped[date] = mapped_column(sa.Date)
    # The release batch (1, 2, ... per survey), set by pool.release for every row of
    # a batch alike; NULL for attributed surveys, whose rows are written one by one.
    batch: Mapped[int | None] = mapped_column(sa.Integer)

    career_stage: Mapped[str | None] = mapped_column(sa.String(32))
    library_type: Mapped[str | None] = mapped_column(sa.String(32))
    work_role: Mapped[str | None] = mapped_column(sa.String(32))
    region: Mapped[str | None] = mapped_column(sa.String(32))
    membership_type: Mapped[str | None] = mapped_column(sa.String(32))


class SurveyAnswer(db.Model):
    """One stored value. `item` is the option id (choices, ranking, matrix
    statements) or 0; `num_value` holds scale values (0 = not applicable), ratings,
    numbers and ranks; `text_value` holds texts, dates (ISO) and "other" texts."""

    __tablename__ = "survey_answers"
    # Covering index: survey results group answers by question, item and value, and
    # count distinct respondents per question, from the index alone (migration 0006).
    __table_args__ = (sa.Index("ix_survey_answers_question_value", "question_id", "item",
                               "num_value", "response_id"), NO_ROWID)

    response_id: Mapped[uuid.UUID] = mapped_column(
        sa.Uuid, sa.ForeignKey("survey_responses.id", ondelete="CASCADE"), primary_key=True)
    question_id: Mapped[int] = mapped_column(
        sa.ForeignKey("survey_questions.id", ondelete="CASCADE"), primary_key=True)
    item: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    num_value: Mapped[float | None] = mapped_column(sa.Float)
    text_value: Mapped[str | None] = mapped_column(sa.Text)


class SurveyAttribution(db.Model):
    """The member behind a response of an ATTRIBUTED survey (never for anonymous ones)."""

    __tablename__ = "survey_attributions"
    __table_args__ = (sa.UniqueConstraint("survey_id", "user_id"), NO_ROWID)

    response_id: Mapped[uuid.UUID] = mapped_column(
        sa.Uuid, sa.ForeignKey("survey_responses.id", ondelete="CASCADE"), primary_key=True)
    survey_id: Mapped[int] = mapped_column(sa.ForeignKey("surveys.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"),
                                         index=True)


class SurveySnapshot(db.Model):
    """What the results of one slice of an OPEN survey currently show.

    A slice (all respondents, one segment value, a crossed pair, each optionally
    narrowed by an answer; `slice_key`, see `portal/survey_results/snapshots.py`)
    shows the responses of batches up to `last_batch`, and moves on only once at
    least PRIVACY_MIN_N responses of that slice have arrived since. `previous_batch`
    lets two readers advancing at once settle it with a compare-and-set. Nothing
    here names a response or a member: batch numbers and the time the snapshot was
    taken, per slice.
    """

    __tablename__ = "survey_snapshots"
    __table_args__ = (sa.CheckConstraint("last_batch >= 1", name="last_batch_positive"),)

    survey_id: Mapped[int] = mapped_column(
        sa.ForeignKey("surveys.id", ondelete="CASCADE"), primary_key=True)
    slice_key: Mapped[str] = mapped_column(sa.String(255), primary_key=True)
    last_batch: Mapped[int] = mapped_column(sa.Integer)
    previous_batch: Mapped[int | None] = mapped_column(sa.Integer)
    taken_at: Mapped[datetime] = mapped_column(default=lambda: now_utc())
