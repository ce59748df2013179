"""Comments on objectives, their versions, endorsements and flags; leadership updates."""

from __future__ import annotations

import enum
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.errors import InvalidTransition
from portal.extensions import db
from portal.models.base import TimestampMixin
from portal.models.feedback import FeedbackRound
from portal.models.plan import Objective
from portal.models.user import User
from portal.timeutil import now_utc


class CommentStatus(enum.StrEnum):
    VISIBLE = "visible"
    PENDING_REVIEW = "pending_review"  # hidden automatically after enough flags
    HIDDEN = "hidden"                  # hidden by a moderator, with a reason
    DELETED = "deleted"                # removed by its author; replies stay readable


class Comment(TimestampMixin, db.Model):
    """A member's comment on an objective, or a reply (one level deep).

    Segment values are copied from the author at posting time so the comment
    explorer can filter by segment without a join, and so leadership views keep
    working once an account is deleted (user_id becomes NULL).
    """

    __tablename__ = "comments"
    __table_args__ = (
        sa.CheckConstraint(
            "status in ('visible', 'pending_review', 'hidden', 'deleted')", name="status_known"),
        sa.CheckConstraint("length(body) <= 5000", name="body_length"),
        sa.Index("ix_comments_objective_created", "objective_id", "created_at"),
        sa.Index("ix_comments_parent", "parent_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    objective_id: Mapped[int] = mapped_column(
        sa.ForeignKey("objectives.id", ondelete="RESTRICT"))
    round_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("feedback_rounds.id", ondelete="SET NULL"), index=True)
    user_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("users.id", ondelete="SET NULL"), index=True)
    parent_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("comments.id", ondelete="CASCADE"))
    body: Mapped[str] = mapped_column(sa.Text)
    show_name: Mapped[bool] = mapped_column(default=True)
    status: Mapped[str] = mapped_column(sa.String(16), default=CommentStatus.VISIBLE.value,
                                        index=True)
    hidden_reason: Mapped[str | None] = mapped_column(sa.String(500))
    edited_at: Mapped[datetime | None]
    deleted_at: Mapped[datetime | None]
    # Kept in step by the services, so threads sort without counting per row.
    endorsement_count: Mapped[int] = mapped_column(default=0)
    flag_count: Mapped[int] = mapped_column(default=0)

    career_stage: Mapped[str | None] = mapped_column(sa.String(32))
    library_type: Mapped[str | None] = mapped_column(sa.String(32))
    work_role: Mapped[str | None] = mapped_column(sa.String(32))
    region: Mapped[str | None] = mapped_column(sa.String(32))
    membership_type: Mapped[str | None] = mapped_column(sa.String(32))

    objective: Mapped[Objective] = relationship()
    round: Mapped[FeedbackRound | None] = relationship()
    author: Mapped[User | None] = relationship()
    parent: Mapped[Comment | None] = relationship(remote_side=[id], back_populates="replies")
    replies: Mapped[list[Comment]] = relationship(back_populates="parent",
                                                  order_by="Comment.created_at")

    @property
    def is_visible(self) -> bool:
        return self.status == CommentStatus.VISIBLE

    # State transitions (the services check who may make them).
    def remove_by_author(self, now: datetime | None = None) -> None:
        if self.status == CommentStatus.DELETED:
            raise InvalidTransition("This comment has already been deleted.")
        self.status = CommentStatus.DELETED.value
        self.deleted_at = now or now_utc()

    def hide(self, reason: str) -> None:
        if self.status in (CommentStatus.DELETED, CommentStatus.HIDDEN):
            raise InvalidTransition(f"This comment is already {self.status}.")
        self.status = CommentStatus.HIDDEN.value
        self.hidden_reason = reason

    def restore(self) -> None:
        if self.status not in (CommentStatus.HIDDEN, CommentStatus.PENDING_REVIEW):
            raise InvalidTransition(f"Only a hidden comment can be restored; this one is "
                                    f"{self.status}.")
        self.status = CommentStatus.VISIBLE.value
        self.hidden_reason = None


class CommentVersion(db.Model):
    """An earlier text of an edited comment (moderators can read them)."""

    __tablename__ = "comment_versions"

    id: Mapped[int] = mapped_column(primary_key=True)
    comment_id: Mapped[int] = mapped_column(sa.ForeignKey("comments.id", ondelete="CASCADE"),
                                            index=True)
    body: Mapped[str] = mapped_column(sa.Text)
    created_at: Mapped[datetime] = mapped_column(default=lambda: now_utc())


class Endorsement(db.Model):
    __tablename__ = "endorsements"
    __table_args__ = (sa.UniqueConstraint("user_id", "comment_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))
    comment_id: Mapped[int] = mapped_column(sa.ForeignKey("comments.id", ondelete="CASCADE"),
                                            index=True)
    created_at: Mapped[datetime] = mapped_column(default=lambda: now_utc())


class FlagReason(enum.StrEnum):
    SPAM = "spam"
    ABUSIVE = "abusive"
    OFF_TOPIC = "off_topic"
    OTHER = "other"


class CommentFlag(db.Model):
    __tablename__ = "comment_flags"
    __table_args__ = (
        sa.UniqueConstraint("user_id", "comment_id"),
        sa.CheckConstraint("reason in ('spam', 'abusive', 'off_topic', 'other')",
                           name="reason_known"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))
    comment_id: Mapped[int] = mapped_column(sa.ForeignKey("comments.id", ondelete="CASCADE"),
                                            index=True)
    reason: Mapped[str] = mapped_column(sa.String(16))
    note: Mapped[str | None] = mapped_column(sa.String(500))
    created_at: Mapped[datetime] = mapped_column(default=lambda: now_utc())
    resolved_at: Mapped[datetime | None]
    resolution: Mapped[str | None] = mapped_column(sa.String(32))


class UpdateStatus(enum.StrEnum):
    NOT_STARTED = "not_started"
    IN_PROGRESS = "in_progress"
    ACHIEVED = "achieved"
    PAUSED = "paused"


UPDATE_STATUS_LABELS = {
    UpdateStatus.NOT_STARTED: "Not started",
    UpdateStatus.IN_PROGRESS: "In progress",
    UpdateStatus.ACHIEVED: "Achieved",
    UpdateStatus.PAUSED: "Paused",
}


class ObjectiveUpdate(db.Model):
    """Leadership's dated answer on an objective: status, progress and narrative."""

    __tablename__ = "objective_updates"
    __table_args__ = (
        sa.CheckConstraint(
            "status in ('not_started', 'in_progress', 'achieved', 'paused')",
            name="status_known"),
        sa.CheckConstraint("progress between 0 and 100", name="progress_range"),
        sa.Index("ix_objective_updates_objective_published", "objective_id", "published_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    objective_id: Mapped[int] = mapped_column(
        sa.ForeignKey("objectives.id", ondelete="RESTRICT"))
    author_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))
    status: Mapped[str] = mapped_column(sa.String(16))
    progress: Mapped[int] = mapped_column(sa.SmallInteger, default=0)
    heard: Mapped[str] = mapped_column(sa.Text, default="")   # "What we heard" (Markdown)
    doing: Mapped[str] = mapped_column(sa.Text, default="")   # "What we are doing" (Markdown)
    published_at: Mapped[datetime] = mapped_column(default=lambda: now_utc())

    objective: Mapped[Objective] = relationship()
    author: Mapped[User | None] = relationship()
