"""Feedback rounds and ratings of objectives."""

from __future__ import annotations

import enum
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.errors import InvalidTransition
from portal.extensions import db
from portal.models.base import TimestampMixin
from portal.models.plan import Objective
from portal.timeutil import now_utc

# Rating values: 1..5 on the scale, 0 for "Don't know", NULL for not answered.
DONT_KNOW = 0
IMPORTANCE_LABELS = {1: "Not important", 2: "Slightly important", 3: "Moderately important",
                     4: "Very important", 5: "Essential", DONT_KNOW: "Don't know"}
PERFORMANCE_LABELS = {1: "Very poorly", 2: "Poorly", 3: "Adequately", 4: "Well",
                      5: "Very well", DONT_KNOW: "Don't know"}


class RoundStatus(enum.StrEnum):
    DRAFT = "draft"
    OPEN = "open"
    CLOSED = "closed"


class ResultsRelease(enum.StrEnum):
    """When members see a round's results (portal/results): never, once the round has
    closed, or now (an open round then shows its leadership snapshot)."""

    HIDDEN = "hidden"
    ON_CLOSE = "on_close"
    NOW = "now"


class FeedbackRound(TimestampMixin, db.Model):
    """A period in which members rate objectives. At most one is open at a time."""

    __tablename__ = "feedback_rounds"
    __table_args__ = (
        sa.CheckConstraint("status in ('draft', 'open', 'closed')", name="status_known"),
        sa.CheckConstraint("closes_at > opens_at", name="closes_after_opening"),
        sa.CheckConstraint("results_release in ('hidden', 'on_close', 'now')",
                           name="results_release_known"),
        # At most one open round, enforced by the database even when two requests race.
        sa.Index("uq_feedback_rounds_one_open", "status", unique=True,
                 sqlite_where=sa.text("status = 'open'"),
                 postgresql_where=sa.text("status = 'open'")),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(120), unique=True)
    description: Mapped[str] = mapped_column(sa.Text, default="")
    opens_at: Mapped[datetime]
    closes_at: Mapped[datetime]
    status: Mapped[str] = mapped_column(sa.String(16), default=RoundStatus.DRAFT.value,
                                        index=True)
    opened_at: Mapped[datetime | None]
    closed_at: Mapped[datetime | None]
    # What leadership decided members see of the round's results, and when "now" was chosen.
    results_release: Mapped[str] = mapped_column(
        sa.String(16), default=ResultsRelease.ON_CLOSE.value,
        server_default=ResultsRelease.ON_CLOSE.value)
    results_released_at: Mapped[datetime | None]

    @property
    def is_open(self) -> bool:
        return self.status == RoundStatus.OPEN

    @property
    def results_visible(self) -> bool:
        """Whether members see the results: a closed round unless leadership kept them
        back, an open one only when leadership published early. Never a draft."""
        if self.status == RoundStatus.CLOSED:
            return self.results_release != ResultsRelease.HIDDEN
        return self.status == RoundStatus.OPEN and self.results_release == ResultsRelease.NOW

    def open(self, now: datetime | None = None) -> None:
        """Open the round. The caller makes sure no other round is open."""
        if self.status != RoundStatus.DRAFT:
            raise InvalidTransition(f"Round '{self.name}' is {self.status}; only a draft "
                                    "round can be opened.")
        self.status = RoundStatus.OPEN.value
        self.opened_at = now or now_utc()

    def close(self, now: datetime | None = None) -> None:
        if self.status != RoundStatus.OPEN:
            raise InvalidTransition(f"Round '{self.name}' is {self.status}; only an open "
                                    "round can be closed.")
        self.status = RoundStatus.CLOSED.value
        self.closed_at = now or now_utc()


class Rating(TimestampMixin, db.Model):
    """One member's importance and performance rating of one objective in one round.

    The member's segment values are copied at rating time, so reports group by
    them without a join and the counts survive the deletion of the account
    (user_id becomes NULL).
    """

    __tablename__ = "ratings"
    __table_args__ = (
        sa.UniqueConstraint("user_id", "objective_id", "round_id"),
        sa.CheckConstraint("importance between 0 and 5", name="importance_range"),
        sa.CheckConstraint("performance between 0 and 5", name="performance_range"),
        sa.Index("ix_ratings_round_objective", "round_id", "objective_id"),
        # Report snapshots find the ratings changed since their last scan.
        sa.Index("ix_ratings_round_updated", "round_id", "updated_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))
    objective_id: Mapped[int] = mapped_column(
        sa.ForeignKey("objectives.id", ondelete="RESTRICT"))
    round_id: Mapped[int] = mapped_column(sa.ForeignKey("feedback_rounds.id",
                                                        ondelete="RESTRICT"))
    importance: Mapped[int | None] = mapped_column(sa.SmallInteger)
    performance: Mapped[int | None] = mapped_column(sa.SmallInteger)

    career_stage: Mapped[str | None] = mapped_column(sa.String(32))
    library_type: Mapped[str | None] = mapped_column(sa.String(32))
    work_role: Mapped[str | None] = mapped_column(sa.String(32))
    region: Mapped[str | None] = mapped_column(sa.String(32))
    membership_type: Mapped[str | None] = mapped_column(sa.String(32))

    objective: Mapped[Objective] = relationship()
    round: Mapped[FeedbackRound] = relationship()
