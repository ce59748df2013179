"""A member's activity: what they last saw, how they want to hear of it by e-mail, and
what was already mailed (so a retried job or a second run never mails twice)."""

from __future__ import annotations

import enum
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from portal.extensions import db
from portal.timeutil import now_utc


class ActivityKind(enum.StrEnum):
    REPLIES = "replies"    # a reply to one of my comments
    UPDATES = "updates"    # a leadership update or a published action on my objectives
    SURVEYS = "surveys"    # a survey opened for me
    ROUNDS = "rounds"      # a feedback round opening or closing soon


class Delivery(enum.StrEnum):
    INSTANT = "instant"
    DAILY = "daily"
    WEEKLY = "weekly"
    NONE = "none"


KIND_LABELS = {
    ActivityKind.REPLIES: "Replies to my comments",
    ActivityKind.UPDATES: "Leadership updates and actions on objectives I rated or commented on",
    ActivityKind.SURVEYS: "New surveys for me",
    ActivityKind.ROUNDS: "Feedback rounds opening or closing soon",
}
DELIVERY_LABELS = {
    Delivery.INSTANT: "E-mail at once",
    Delivery.DAILY: "Daily digest",
    Delivery.WEEKLY: "Weekly digest",
    Delivery.NONE: "No e-mail",
}
# Without a saved choice: a reply is personal and comes at once, the rest weekly.
DEFAULTS = {
    ActivityKind.REPLIES: Delivery.INSTANT,
    ActivityKind.UPDATES: Delivery.WEEKLY,
    ActivityKind.SURVEYS: Delivery.WEEKLY,
    ActivityKind.ROUNDS: Delivery.WEEKLY,
}
_DELIVERY_SQL = ", ".join(f"'{d.value}'" for d in Delivery)


class ActivityPreference(db.Model):
    """One row per member who opened My activity or chose how to be told; a member
    without one has DEFAULTS and has seen nothing yet."""

    __tablename__ = "activity_preferences"
    __table_args__ = tuple(
        sa.CheckConstraint(f"{kind.value} in ({_DELIVERY_SQL})", name=f"{kind.value}_known")
        for kind in ActivityKind)

    user_id: Mapped[int] = mapped_column(
        sa.ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    replies: Mapped[str] = mapped_column(sa.String(8), default=DEFAULTS[ActivityKind.REPLIES].value)
    updates: Mapped[str] = mapped_column(sa.String(8), default=DEFAULTS[ActivityKind.UPDATES].value)
    surveys: Mapped[str] = mapped_column(sa.String(8), default=DEFAULTS[ActivityKind.SURVEYS].value)
    rounds: Mapped[str] = mapped_column(sa.String(8), default=DEFAULTS[ActivityKind.ROUNDS].value)
    # Items newer than this are "New" on My activity; NULL: everything is new.
    last_seen_at: Mapped[datetime | None]
    updated_at: Mapped[datetime] = mapped_column(default=lambda: now_utc())

    def delivery(self, kind: ActivityKind) -> str:
        return getattr(self, kind.value)


class ActivityDigest(db.Model):
    """One digest per member, period ("daily"/"weekly") and period key ("2026-12-01",
    "2026-W49"): the unique key makes a second run or a retried job a no-op."""

    __tablename__ = "activity_digests"
    __table_args__ = (
        sa.UniqueConstraint("user_id", "period", "period_key"),
        sa.CheckConstraint("period in ('daily', 'weekly')", name="period_known"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"))
    period: Mapped[str] = mapped_column(sa.String(8))
    period_key: Mapped[str] = mapped_column(sa.String(10))
    items: Mapped[int] = mapped_column(default=0)
    sent_at: Mapped[datetime] = mapped_column(default=lambda: now_utc())


class ActivityNotice(db.Model):
    """One "at once" e-mail about one item to one member (kind + item id), recorded in
    the same transaction that queues it, so the notify job can run again safely."""

    __tablename__ = "activity_notices"
    __table_args__ = (sa.UniqueConstraint("user_id", "item"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"))
    item: Mapped[str] = mapped_column(sa.String(40))  # "reply:12", "update:3", "action:7"
    sent_at: Mapped[datetime] = mapped_column(default=lambda: now_utc())
