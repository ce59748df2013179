"""Campaign waves as jobs: start a wave (fix who gets it), then send its messages.

Wave 0 is the invitation to every recipient. Wave k (a reminder) goes only to those
who have not taken part when it starts, and "taken part" is read from
`survey_participations` alone: the reminder never reads a response, which for an
anonymous survey could not be linked to anyone anyway.
"""

from __future__ import annotations

import functools
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from flask import current_app

from portal import timezones
from portal.campaigns import links, texts
from portal.campaigns.smtp import BulkConnection, Refused, bulk_bytes
from portal.campaigns.throttle import MustWait, Throttle
from portal.extensions import db
from portal.jobs import outbox
from portal.mail import MailError, Message, deliver, external_url
from portal.models import (
    Campaign,
    CampaignMessage,
    CampaignRecipient,
    CampaignStatus,
    CampaignWave,
    MailSuppression,
    MessageStatus,
    Rating,
    SurveyParticipation,
    User,
)
from portal.timeutil import now_utc

log = logging.getLogger("portal.campaigns")

WAVE_TASK = "campaign.wave"
SEND_TASK = "campaign.send"
# Where the personal token goes in the URLs built once per wave (not a secret).
TOKEN_SLOT = "TOKEN-SLOT"  # noqa: S105  # nosec B105


def took_part_clause(campaign: Campaign):
    """SQL: this recipient has taken part in the campaign's target (the member's
    account by id, or by address if it came later): for a survey the participation
    record only (no response is read), for a feedback round a rating in the round."""
    r = CampaignRecipient
    account = sa.func.coalesce(
        r.user_id,
        sa.select(User.id).where(User.email == r.email).correlate(r).scalar_subquery())
    if campaign.round_id is not None:
        return sa.exists().where(Rating.round_id == campaign.round_id,
                                 Rating.user_id == account)
    return sa.exists().where(SurveyParticipation.survey_id == campaign.survey_id,
                             SurveyParticipation.user_id == account)


# Starting waves ---------------------------------------------------------------------

def start_wave(campaign_id: int, wave: int, now: datetime | None = None) -> str:
    """Create the wave's messages once (a second start, at the same time or later,
    finds waves_started moved and does nothing) and queue the jobs that send them."""
    now = now or now_utc()
    campaign = db.session.get(Campaign, campaign_id)
    if campaign is None or campaign.status != CampaignStatus.SCHEDULED:
        return "not scheduled"
    if now >= campaign.stop_at:
        campaign.status = CampaignStatus.FINISHED
        return "past the stop date"
    if wave > campaign.reminder_count:
        return "no such wave"
    if now < campaign.wave_due_at(wave):
        return "not due"
    moved = db.session.execute(
        sa.update(Campaign).where(Campaign.id == campaign_id, Campaign.waves_started == wave)
        .values(waves_started=wave + 1).execution_options(synchronize_session=False))
    if moved.rowcount != 1:
        return "already started"
    r = CampaignRecipient
    chosen = sa.select(sa.literal(campaign_id), r.id, sa.literal(wave),
                       sa.literal(MessageStatus.QUEUED.value)).where(r.campaign_id == campaign_id)
    if wave > 0:
        bounced = sa.exists().where(CampaignMessage.recipient_id == r.id,
                                    CampaignMessage.status == MessageStatus.BOUNCED)
        chosen = chosen.where(~took_part_clause(campaign), ~bounced)
    result = db.session.execute(CampaignMessage.__table__.insert().from_select(
        ["campaign_id", "recipient_id", "wave", "status"], chosen))
    count = result.rowcount if result.rowcount is not None and result.rowcount >= 0 else 0
    db.session.add(CampaignWave(campaign_id=campaign_id, wave=wave, started_at=now,
                                outstanding=count))
    for _ in range(max(1, current_app.config["CAMPAIGN_SEND_JOBS"])):
        outbox.enqueue(SEND_TASK, {"campaign_id": campaign_id, "wave": wave})
    if wave < campaign.reminder_count:
        outbox.enqueue(WAVE_TASK, {"campaign_id": campaign_id, "wave": wave + 1},
                       run_at=campaign.wave_due_at(wave + 1))
    log.info("campaign %s wave %s started: %s message(s)", campaign_id, wave, count)
    return "started"


@outbox.handler(WAVE_TASK)
def _wave_job(payload: dict[str, Any]):
    campaign = db.session.get(Campaign, payload["campaign_id"])
    if campaign is not None and campaign.status == CampaignStatus.SCHEDULED:
        due = campaign.wave_due_at(payload["wave"])
        if now_utc() < due:
            return outbox.Reschedule(due)
    return start_wave(payload["campaign_id"], payload["wave"])


def start_due_waves(now: datetime | None = None) -> int:
    """The scheduler's pass: start every wave whose time has come, finish campaigns
    past their stop date. (Wave jobs do the same on time; this catches up.)"""
    now = now or now_utc()
    started = 0
    campaigns = db.session.scalars(sa.select(Campaign).where(
        Campaign.status == CampaignStatus.SCHEDULED)).all()
    for campaign in campaigns:
        if now >= campaign.stop_at:
            campaign.status = CampaignStatus.FINISHED
        elif (campaign.waves_started <= campaign.reminder_count
              and campaign.wave_due_at(campaign.waves_started) <= now
              and start_wave(campaign.id, campaign.waves_started, now) == "started"):
            started += 1
        db.session.commit()
    return started


# Sending ----------------------------------------------------------------------------

def _claimable(now: datetime):
    m = CampaignMessage
    return sa.or_(m.status == MessageStatus.QUEUED,
                  sa.and_(m.status == MessageStatus.DEFERRED, m.next_attempt_at <= now),
                  sa.and_(m.status == MessageStatus.SENDING, m.lease_until < now))


def claim(campaign_id: int, wave: int, size: int) -> list[int]:
    """Take up to `size` messages for this worker (one statement; PostgreSQL skips
    rows another worker is taking)."""
    now = now_utc()
    lease = now + timedelta(seconds=current_app.config["CAMPAIGN_LEASE_SECONDS"])
    m = CampaignMessage
    ids = (sa.select(m.id).where(m.campaign_id == campaign_id, m.wave == wave, _claimable(now))
           .order_by(m.id).limit(size))
    if db.session.get_bind().dialect.name == "postgresql":
        ids = ids.with_for_update(skip_locked=True)
    claimed = db.session.execute(
        sa.update(m).where(m.id.in_(ids.scalar_subquery()), _claimable(now))
        .values(status=MessageStatus.SENDING, lease_until=lease, attempts=m.attempts + 1)
        .returning(m.id).execution_options(synchronize_session=False)).scalars().all()
    db.session.commit()
    return sorted(claimed)


def _set(message_id: int, **values) -> None:
    db.session.execute(sa.update(CampaignMessage).where(CampaignMessage.id == message_id)
                       .values(**values).execution_options(synchronize_session=False))


def _defer(message_id: int, attempts: int, error: str) -> None:
    cfg = current_app.config
    if attempts >= cfg["CAMPAIGN_MAX_ATTEMPTS"]:
        _set(message_id, status=MessageStatus.FAILED, lease_until=None, last_error=error[:200])
        return
    delay = min(cfg["CAMPAIGN_RETRY_BASE_SECONDS"] * 2 ** max(attempts - 1, 0), 6 * 3600)
    _set(message_id, status=MessageStatus.DEFERRED, lease_until=None, last_error=error[:200],
         next_attempt_at=now_utc() + timedelta(seconds=delay))


def record_bounce(email: str, error: str) -> None:
    """A hard bounce: counted per address; CAMPAIGN_HARD_BOUNCE_LIMIT of them stop bulk
    mail to it."""
    limit = current_app.config["CAMPAIGN_HARD_BOUNCE_LIMIT"]
    row = db.session.get(MailSuppression, email)
    if row is None:
        row = MailSuppression(email=email, hard_bounces=0)
        db.session.add(row)
    row.hard_bounces += 1
    row.last_error = error[:200]
    if row.hard_bounces >= limit and row.suppressed_at is None:
        row.suppressed_at = now_utc()


def suppressed(emails: list[str]) -> set[str]:
    s = MailSuppression
    return set(db.session.scalars(sa.select(s.email).where(
        s.email.in_(emails), sa.or_(s.unsubscribed_at.is_not(None),
                                    s.suppressed_at.is_not(None)))))


@dataclass(frozen=True)
class Mailer:
    """What every message of one wave shares, read once: after each commit the ORM
    objects expire, and per-message URL building would cost a request context."""

    campaign_id: int
    wave: int
    survey_title: str
    closes_at: datetime | None  # {closes} is written in each recipient's zone
    subject: str
    body: str
    follow: str          # URLs with TOKEN_SLOT where the personal token goes
    unsubscribe: str
    preferences: str
    sender: str

    @classmethod
    def for_wave(cls, campaign: Campaign, wave: int) -> Mailer:
        return cls(campaign.id, wave, campaign.target_title, campaign.target_closes_at,
                   campaign.subject if wave == 0 else campaign.reminder_subject,
                   campaign.body if wave == 0 else campaign.reminder_body,
                   external_url("campaigns.follow", token=TOKEN_SLOT),
                   external_url("campaigns.unsubscribe", token=TOKEN_SLOT),
                   external_url("campaigns.preferences", token=TOKEN_SLOT),
                   current_app.config["MAIL_DEFAULT_SENDER"])

    def compose(self, email: str, name: str | None, key: bytes,
                zone: str | None = None) -> Message:
        """The message for one recipient; `zone` is their account's time zone (a roster
        address without an account reads UTC)."""
        token = links.token_for(self.campaign_id, email, key)
        values = {"name": name or "member", "survey": self.survey_title,
                  "link": self.follow.replace(TOKEN_SLOT, token),
                  "closes": _closes(self.closes_at, timezones.normalise(zone))}
        unsubscribe = self.unsubscribe.replace(TOKEN_SLOT, token)
        text = texts.fill(self.body, values) + texts.fill_footer(
            unsubscribe, self.preferences.replace(TOKEN_SLOT, token))
        headers = (("List-Unsubscribe", f"<{unsubscribe}>"),
                   ("List-Unsubscribe-Post", "List-Unsubscribe=One-Click"),
                   ("List-Id", f"Member feedback portal campaign {self.campaign_id} "
                               f"<campaign-{self.campaign_id}.portal.local>"),
                   ("X-Campaign-Message", f"{self.campaign_id}.{self.wave}"))
        return Message(to=email, subject=texts.fill(self.subject, values), body=text,
                       sender=self.sender, headers=headers)


@functools.lru_cache(maxsize=1024)
def _closes(closes_at: datetime | None, zone: str) -> str:
    # A wave of thousands shares a handful of zones: each label is formatted once.
    return texts.closes_label(closes_at, zone)


def send_batch(mailer: Mailer, ids: list[int], conn: BulkConnection,
               throttle: Throttle) -> None:
    rows = db.session.execute(
        sa.select(CampaignMessage.id, CampaignMessage.attempts, CampaignRecipient.email,
                  User.display_name, User.time_zone)
        .join(CampaignRecipient, CampaignRecipient.id == CampaignMessage.recipient_id)
        .outerjoin(User, User.id == CampaignRecipient.user_id)
        .where(CampaignMessage.id.in_(ids)).order_by(CampaignMessage.id)).all()
    # An unsubscribe takes effect before the next send: read just before sending.
    skip = suppressed([r.email for r in rows])
    smtp = current_app.config.get("MAIL_BACKEND") == "smtp"
    pg = db.engine.dialect.name == "postgresql"
    key = links.key()
    for index, row in enumerate(rows):
        if row.email in skip:
            _set(row.id, status=MessageStatus.OPTED_OUT, lease_until=None)
            db.session.commit()
            continue
        try:
            throttle.take()
        except MustWait:
            # Give the rest back: they go out when the window has room again.
            for later in rows[index:]:
                _set(later.id, status=MessageStatus.QUEUED, lease_until=None,
                     attempts=later.attempts - 1)
            db.session.commit()
            raise
        message = mailer.compose(row.email, row.display_name, key, row.time_zone)
        sent = {"status": MessageStatus.SENT, "sent_at": now_utc(), "lease_until": None,
                "last_error": None}
        try:
            if smtp:
                conn.begin(message.sender, message.to, bulk_bytes(message))
                _set(row.id, **sent)
                if pg:
                    # Keep the window between the commit and the final "." short: a
                    # worker killed inside it loses the message. Without waiting for
                    # the WAL flush the commit returns at once; a database crash in the
                    # next fraction of a second can forget the mark, and the message is
                    # then sent again (once more, never lost).
                    db.session.execute(sa.text("SET LOCAL synchronous_commit TO OFF"))
                db.session.commit()   # the commit point: see portal/campaigns/smtp.py
                conn.finish()
            else:
                deliver(message)
                _set(row.id, **sent)
                db.session.commit()
        except Refused as exc:
            db.session.rollback()
            if exc.permanent:
                _set(row.id, status=MessageStatus.BOUNCED, lease_until=None,
                     last_error=str(exc))
                record_bounce(row.email, str(exc))
            else:
                _defer(row.id, row.attempts, str(exc))
            db.session.commit()
        except MailError as exc:
            db.session.rollback()
            # The server is unreachable: defer this one and every one not yet tried.
            for later in rows[index:]:
                _defer(later.id, later.attempts, str(exc))
            db.session.commit()
            return


def _next_time(campaign_id: int, wave: int) -> datetime | None:
    m = CampaignMessage
    deferred = db.session.scalar(sa.select(sa.func.min(m.next_attempt_at)).where(
        m.campaign_id == campaign_id, m.wave == wave, m.status == MessageStatus.DEFERRED))
    leased = db.session.scalar(sa.select(sa.func.min(m.lease_until)).where(
        m.campaign_id == campaign_id, m.wave == wave, m.status == MessageStatus.SENDING))
    times = [t for t in (deferred, leased) if t is not None]
    return min(times) if times else None


@outbox.handler(SEND_TASK)
def _send_job(payload: dict[str, Any]):
    campaign_id, wave = payload["campaign_id"], payload["wave"]
    job_id = payload.get("_job_id")
    campaign = db.session.get(Campaign, campaign_id)
    if campaign is None or campaign.status == CampaignStatus.STOPPED:
        return "stopped"
    size = current_app.config["CAMPAIGN_BATCH_SIZE"]
    conn, throttle = BulkConnection(), Throttle()
    mailer, stop_at = Mailer.for_wave(campaign, wave), campaign.stop_at
    try:
        while now_utc() < stop_at:
            if job_id:
                outbox.extend_lease(job_id)
            ids = claim(campaign_id, wave, size)
            if not ids:
                break
            try:
                send_batch(mailer, ids, conn, throttle)
            except MustWait as wait:
                return outbox.Reschedule(now_utc() + timedelta(seconds=wait.seconds))
    finally:
        conn.close()
    if now_utc() >= stop_at:
        return "past the stop date"
    later = _next_time(campaign_id, wave)
    if later is not None:
        return outbox.Reschedule(max(later, now_utc()) + timedelta(seconds=0.5))
    if wave >= campaign.reminder_count and campaign.status == CampaignStatus.SCHEDULED:
        campaign.status = CampaignStatus.FINISHED
    return "sent"
