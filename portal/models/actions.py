"""Action plans: what leadership does about a finding, with an owner, a due date and notes.

Actions are internal to leadership until a leader publishes one; a published action is
what members read under "What leadership is doing" on the objective's page.
"""

from __future__ import annotations

import enum
from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.extensions import db
from portal.models.base import TimestampMixin
from portal.models.plan import Objective
from portal.models.user import User
from portal.timeutil import now_utc


class ActionStatus(enum.StrEnum):
    PLANNED = "planned"
    IN_PROGRESS = "in_progress"
    BLOCKED = "blocked"
    DONE = "done"
    DROPPED = "dropped"


ACTION_STATUS_LABELS = {
    ActionStatus.PLANNED: "Planned",
    ActionStatus.IN_PROGRESS: "In progress",
    ActionStatus.BLOCKED: "Blocked",
    ActionStatus.DONE: "Done",
    ActionStatus.DROPPED: "Dropped",
}
# An action in one of these is finished: it is never overdue and leaves the open counts.
CLOSED_STATUSES = frozenset({ActionStatus.DONE, ActionStatus.DROPPED})


class FindingKind(enum.StrEnum):
    PRIORITY = "priority"
    SHORTFALL = "shortfall"
    SEGMENT = "segment"
    TREND = "trend"
    COMMENTS = "comments"
    SURVEY = "survey"
    OTHER = "other"


FINDING_LABELS = {
    FindingKind.PRIORITY: "A top priority",
    FindingKind.SHORTFALL: "A shortfall (important, not done well)",
    FindingKind.SEGMENT: "Segments that disagree",
    FindingKind.TREND: "A change since the last round",
    FindingKind.COMMENTS: "What members wrote in comments",
    FindingKind.SURVEY: "A survey result",
    FindingKind.OTHER: "Something else",
}

_STATUS_SQL = ", ".join(f"'{s.value}'" for s in ActionStatus)
_FINDING_SQL = ", ".join(f"'{k.value}'" for k in FindingKind)


class Action(TimestampMixin, db.Model):
    __tablename__ = "actions"
    __table_args__ = (
        sa.CheckConstraint(f"status in ({_STATUS_SQL})", name="status_known"),
        sa.CheckConstraint(f"finding_kind in ({_FINDING_SQL})", name="finding_known"),
        sa.CheckConstraint("progress between 0 and 100", name="progress_range"),
        sa.Index("ix_actions_objective", "objective_id"),
        sa.Index("ix_actions_status_due", "status", "due_on"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    objective_id: Mapped[int] = mapped_column(
        sa.ForeignKey("objectives.id", ondelete="RESTRICT"))
    title: Mapped[str] = mapped_column(sa.String(200))
    detail: Mapped[str] = mapped_column(sa.Text, default="")
    owner_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))
    due_on: Mapped[date] = mapped_column(sa.Date)
    status: Mapped[str] = mapped_column(sa.String(16), default=ActionStatus.PLANNED.value)
    progress: Mapped[int] = mapped_column(sa.SmallInteger, default=0)
    finding_kind: Mapped[str] = mapped_column(sa.String(16), default=FindingKind.OTHER.value)
    finding_note: Mapped[str] = mapped_column(sa.String(500), default="")
    finding_url: Mapped[str] = mapped_column(sa.String(500), default="")
    published: Mapped[bool] = mapped_column(default=False)
    created_by_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("users.id", ondelete="SET NULL"))

    objective: Mapped[Objective] = relationship()
    owner: Mapped[User | None] = relationship(foreign_keys=[owner_id])
    notes: Mapped[list[ActionNote]] = relationship(
        back_populates="action", order_by="ActionNote.created_at.desc(), ActionNote.id.desc()",
        cascade="all, delete-orphan")

    @property
    def closed(self) -> bool:
        return self.status in CLOSED_STATUSES

    def overdue_on(self, today: date) -> bool:
        return not self.closed and self.due_on < today


class ActionNote(db.Model):
    """A dated progress note on an action; it may move the action's status and progress."""

    __tablename__ = "action_notes"
    __table_args__ = (
        sa.CheckConstraint(f"status is null or status in ({_STATUS_SQL})",
                           name="status_known"),
        sa.CheckConstraint("progress is null or progress between 0 and 100",
                           name="progress_range"),
        sa.Index("ix_action_notes_action_created", "action_id", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    action_id: Mapped[int] = mapped_column(sa.ForeignKey("actions.id", ondelete="CASCADE"))
    author_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))
    body: Mapped[str] = mapped_column(sa.Text, default="")
    status: Mapped[str | None] = mapped_column(sa.String(16))
    progress: Mapped[int | None] = mapped_column(sa.SmallInteger)
    created_at: Mapped[datetime] = mapped_column(default=lambda: now_utc())

    action: Mapped[Action] = relationship(back_populates="notes")
    author: Mapped[User | None] = relationship()
