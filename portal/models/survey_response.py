"""Who answered a survey, and what was answered, kept apart.

For an anonymous survey nothing here leads from an answer back to a member:

- `survey_participations` records only THAT a member answered (one row per
  member and survey, enforced by its primary key). It has no time and no
  reference to a response.
- `survey_responses` has a random UUID key, the member's segment values copied
  at submission, the submission DATE (no time) and nothing else: no user id,
  session, IP address, user agent or sequential number.
- `survey_answers` is keyed by (response UUID, question, item): no
  autoincrement id that would reveal the order of submissions.
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

from portal.extensions import db
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

    `sealed_response_id` is set when the member has submitted and the answers are
    being stored; it lets an interrupted store finish exactly once. The draft is
    deleted as soon as the response is stored.
    """

    __tablename__ = "survey_drafts"

    survey_id: Mapped[int] = mapped_column(
        sa.ForeignKey("surveys.id", ondelete="CASCADE"), primary_key=True)
    user_id: Mapped[int] = mapped_column(
        sa.ForeignKey("users.id", ondelete="CASCADE"), primary_key=True, index=True)
    answers: Mapped[dict[str, Any]] = mapped_column(sa.JSON, default=dict)
    # Ids of the sections the member has completed (so pages are answered in order).
    completed_sections: Mapped[list[int]] = mapped_column(sa.JSON, default=list)
    sealed_response_id: Mapped[uuid.UUID | None] = mapped_column(sa.Uuid)
    updated_at: Mapped[datetime] = mapped_column(default=lambda: now_utc(),
                                                 onupdate=lambda: now_utc())


class SurveyResponse(db.Model):
    __tablename__ = "survey_responses"
    __table_args__ = (sa.Index("ix_survey_responses_survey_id", "survey_id", "id"), NO_ROWID)

    id: Mapped[uuid.UUID] = mapped_column(sa.Uuid, primary_key=True, default=uuid.uuid4)
    survey_id: Mapped[int] = mapped_column(sa.ForeignKey("surveys.id", ondelete="CASCADE"))
    submitted_on: Mapped[date] = mapped_column(sa.Date)

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
