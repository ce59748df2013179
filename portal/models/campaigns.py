"""Invitation and reminder campaigns, their recipients and every message sent."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.extensions import db
from portal.models.feedback import FeedbackRound
from portal.models.survey import Survey
from portal.models.user import User
from portal.timeutil import now_utc


class AudienceKind(enum.StrEnum):
    ROSTER = "roster"      # every address on the member roster
    VERIFIED = "verified"  # every active account with a confirmed address


class CampaignStatus(enum.StrEnum):
    SCHEDULED = "scheduled"  # waiting for its send time or its next reminder
    FINISHED = "finished"    # every wave sent, or the stop date passed
    STOPPED = "stopped"      # an admin stopped it


class MessageStatus(enum.StrEnum):
    QUEUED = "queued"
    SENDING = "sending"      # a worker holds it until lease_until
    SENT = "sent"
    DEFERRED = "deferred"    # the server was unreachable or said "try later"
    BOUNCED = "bounced"      # the server refused the address for good (5xx)
    FAILED = "failed"        # deferred too many times
    OPTED_OUT = "opted_out"  # unsubscribed or suppressed before it went out


FINAL_STATUSES = (MessageStatus.SENT, MessageStatus.BOUNCED, MessageStatus.FAILED,
                  MessageStatus.OPTED_OUT)


class Campaign(db.Model):
    """An invitation to a survey or a feedback round (its target: exactly one of
    `survey_id`, `round_id`), sent to an audience at `send_at`, followed by up to
    `reminder_count` reminders at least `reminder_days` apart to those who have not
    taken part, never after `stop_at`. Wave 0 is the invitation, wave k the k-th
    reminder."""

    __tablename__ = "campaigns"
    __table_args__ = (
        sa.CheckConstraint("audience_kind in ('roster', 'verified')", name="audience_known"),
        sa.CheckConstraint("status in ('scheduled', 'finished', 'stopped')",
                           name="status_known"),
        sa.CheckConstraint("reminder_count >= 0 and reminder_count <= 10",
                           name="reminder_count_range"),
        sa.CheckConstraint("reminder_days >= 1", name="reminder_days_positive"),
        sa.CheckConstraint("stop_at > send_at", name="stops_after_sending"),
        sa.CheckConstraint("waves_started >= 0", name="waves_started_positive"),
        sa.CheckConstraint("(survey_id IS NULL) <> (round_id IS NULL)", name="one_target"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(120))
    survey_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("surveys.id", ondelete="CASCADE"), index=True)
    round_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("feedback_rounds.id", ondelete="CASCADE"), index=True)
    audience_kind: Mapped[str] = mapped_column(sa.String(16))
    # {} means nobody is left out; otherwise {dimension: [codes]} as on surveys.
    audience_segments: Mapped[dict[str, Any]] = mapped_column(sa.JSON, default=dict)
    subject: Mapped[str] = mapped_column(sa.String(200))
    body: Mapped[str] = mapped_column(sa.Text)
    reminder_subject: Mapped[str] = mapped_column(sa.String(200))
    reminder_body: Mapped[str] = mapped_column(sa.Text)
    send_at: Mapped[datetime]
    reminder_count: Mapped[int] = mapped_column(default=0)
    reminder_days: Mapped[int] = mapped_column(default=7)
    stop_at: Mapped[datetime]
    status: Mapped[str] = mapped_column(sa.String(16), default=CampaignStatus.SCHEDULED.value,
                                        index=True)
    # Waves whose messages exist; moved by one conditional UPDATE so two schedulers
    # (or two clicks) start a wave once.
    waves_started: Mapped[int] = mapped_column(default=0)
    created_by_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=lambda: now_utc())
    stopped_at: Mapped[datetime | None]

    survey: Mapped[Survey | None] = relationship()
    round: Mapped[FeedbackRound | None] = relationship()
    created_by: Mapped[User | None] = relationship()

    # The target, whichever it is ------------------------------------------------
    @property
    def target_kind(self) -> str:
        return "round" if self.round_id is not None else "survey"

    @property
    def target_title(self) -> str:
        return self.round.name if self.round is not None else self.survey.title

    @property
    def target_closes_at(self) -> datetime | None:
        return self.round.closes_at if self.round is not None else self.survey.closes_at

    @property
    def private_participation(self) -> bool:
        """Whether who took part must never be shown per person: an anonymous survey,
        and a feedback round (ratings are never shown one member at a time)."""
        return self.round is not None or self.survey.anonymous

    def target_accepts(self, now: datetime) -> bool:
        if self.round is not None:
            return self.round.is_open and self.round.closes_at > now
        return self.survey.accepts_answers(now)

    def wave_due_at(self, wave: int) -> datetime:
        """When wave `wave` may go out: the invitation at send_at, each reminder
        reminder_days after the one before."""
        from datetime import timedelta

        return self.send_at + timedelta(days=self.reminder_days * wave)

    @property
    def last_wave(self) -> int:
        return self.reminder_count


class CampaignRecipient(db.Model):
    """One address of a campaign's audience, fixed when the campaign is created.

    `token_hash` is the SHA-256 of the personal link's token; the token itself is
    never stored (portal/campaigns/links.py). Segment values are copied for response
    rates by segment."""

    __tablename__ = "campaign_recipients"
    __table_args__ = (
        sa.UniqueConstraint("campaign_id", "email"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(
        sa.ForeignKey("campaigns.id", ondelete="CASCADE"))
    email: Mapped[str] = mapped_column(sa.String(254))
    user_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("users.id", ondelete="SET NULL"), index=True)
    token_hash: Mapped[str | None] = mapped_column(sa.String(64), unique=True)
    link_used_at: Mapped[datetime | None]
    career_stage: Mapped[str | None] = mapped_column(sa.String(32))
    library_type: Mapped[str | None] = mapped_column(sa.String(32))
    work_role: Mapped[str | None] = mapped_column(sa.String(32))
    region: Mapped[str | None] = mapped_column(sa.String(32))
    membership_type: Mapped[str | None] = mapped_column(sa.String(32))

    campaign: Mapped[Campaign] = relationship()


class CampaignWave(db.Model):
    """A wave that has started: how many were still outstanding when it ran."""

    __tablename__ = "campaign_waves"

    campaign_id: Mapped[int] = mapped_column(
        sa.ForeignKey("campaigns.id", ondelete="CASCADE"), primary_key=True)
    wave: Mapped[int] = mapped_column(primary_key=True)
    started_at: Mapped[datetime] = mapped_column(default=lambda: now_utc())
    # Recipients who had not taken part when the wave started (wave 0: everyone).
    outstanding: Mapped[int] = mapped_column(default=0)


class CampaignMessage(db.Model):
    """One e-mail of one wave to one recipient: at most one per (recipient, wave),
    enforced by the database, so a wave started twice still sends once."""

    __tablename__ = "campaign_messages"
    __table_args__ = (
        sa.UniqueConstraint("recipient_id", "wave"),
        sa.CheckConstraint(
            "status in ('queued', 'sending', 'sent', 'deferred', 'bounced', 'failed', "
            "'opted_out')", name="status_known"),
        sa.Index("ix_campaign_messages_campaign_wave_status", "campaign_id", "wave", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(
        sa.ForeignKey("campaigns.id", ondelete="CASCADE"))
    recipient_id: Mapped[int] = mapped_column(
        sa.ForeignKey("campaign_recipients.id", ondelete="CASCADE"))
    wave: Mapped[int]
    status: Mapped[str] = mapped_column(sa.String(16), default=MessageStatus.QUEUED.value)
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime | None]
    lease_until: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(sa.String(200))
    sent_at: Mapped[datetime | None]

    recipient: Mapped[CampaignRecipient] = relationship()


class MailSuppression(db.Model):
    """An address that bulk mail must skip: unsubscribed, or hard-bounced too often.
    Transactional mail (verification, password reset) never reads this."""

    __tablename__ = "mail_suppressions"

    email: Mapped[str] = mapped_column(sa.String(254), primary_key=True)
    unsubscribed_at: Mapped[datetime | None]
    hard_bounces: Mapped[int] = mapped_column(default=0)
    suppressed_at: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(sa.String(200))

    @classmethod
    def unsubscribe(cls, email: str) -> MailSuppression:
        """Stop bulk mail (campaigns and activity e-mails) to `email` from the next send
        on; idempotent, keeps the first date. The caller commits."""
        row = db.session.get(cls, email)
        if row is None:
            row = cls(email=email, hard_bounces=0)
            db.session.add(row)
        if row.unsubscribed_at is None:
            row.unsubscribed_at = now_utc()
        return row
