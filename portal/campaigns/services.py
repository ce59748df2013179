"""Writing campaigns: create (with every check of the form), stop, test sends.

Services flush, never commit; the view commits, and the jobs recorded here go to the
queue with that commit.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

import sqlalchemy as sa

from portal import audit, segments, timezones
from portal.campaigns import links, texts
from portal.campaigns.waves import WAVE_TASK
from portal.errors import Conflict, NotFound, PortalError
from portal.extensions import db
from portal.jobs import outbox
from portal.jobs.mail_jobs import queue_mail
from portal.mail import external_url
from portal.models import (
    AudienceKind,
    Campaign,
    CampaignRecipient,
    CampaignStatus,
    FeedbackRound,
    RosterEntry,
    RoundStatus,
    Survey,
    SurveyStatus,
    User,
)
from portal.timeutil import now_utc

# A send time this far in the past still means "now" (the form took a while to fill).
PAST_GRACE = timedelta(minutes=5)
INSERT_CHUNK = 5000
# The preview's stand-in for a personal link (not a working token).
EXAMPLE_TOKEN = "EXAMPLE-PERSONAL-LINK"  # noqa: S105  # nosec B105


class CampaignInvalid(PortalError):
    """One or more fields of a new campaign are wrong; `problems` maps field -> message."""

    def __init__(self, problems: dict[str, str]) -> None:
        super().__init__(" ".join(problems.values()))
        self.problems = problems


@dataclass
class CampaignInput:
    name: str
    survey_id: int | None
    audience_kind: str
    audience_segments: dict[str, list[str]] = field(default_factory=dict)
    subject: str = texts.DEFAULT_SUBJECT
    body: str = texts.DEFAULT_BODY
    reminder_subject: str = texts.DEFAULT_REMINDER_SUBJECT
    reminder_body: str = texts.DEFAULT_REMINDER_BODY
    send_at: datetime | None = None
    reminder_count: int = 0
    reminder_days: int = 7
    stop_at: datetime | None = None
    round_id: int | None = None  # a feedback round instead of a survey


def _segment_clause(columns, chosen: dict[str, list[str]]):
    """Rows matching one chosen code in every chosen dimension ("Prefer not to say"
    also matches a value never given)."""
    clauses = []
    for key, codes in chosen.items():
        col = getattr(columns, key)
        cond = col.in_(codes)
        if segments.PREFER_NOT in codes:
            cond = sa.or_(cond, col.is_(None))
        clauses.append(cond)
    return sa.and_(sa.true(), *clauses)


def audience_select(kind: str, chosen: dict[str, list[str]], survey: Survey | None):
    """SELECT email, user_id, display_name?, segment columns of the audience."""
    filters = dict(chosen)
    # Only people the survey is for: its own audience narrows the campaign's.
    for key, codes in ((survey.audience or {}) if survey else {}).items():
        filters[key] = [c for c in codes if c in filters[key]] if key in filters else codes
    if kind == AudienceKind.VERIFIED:
        cols = [User.email, User.id.label("user_id"),
                *(getattr(User, k) for k in segments.KEYS)]
        return (sa.select(*cols).where(User.active.is_(True),
                                       User.email_verified_at.is_not(None),
                                       _segment_clause(User, filters))
                .order_by(User.id))
    cols = [RosterEntry.email, User.id.label("user_id"),
            *(getattr(RosterEntry, k) for k in segments.KEYS)]
    return (sa.select(*cols)
            .outerjoin(User, sa.and_(User.email == RosterEntry.email, User.active.is_(True)))
            .where(_segment_clause(RosterEntry, filters))
            .order_by(RosterEntry.id))


def audience_size(kind: str, chosen: dict[str, list[str]], survey: Survey | None) -> int:
    inner = audience_select(kind, chosen, survey).order_by(None).subquery()
    return db.session.scalar(sa.select(sa.func.count()).select_from(inner)) or 0


@dataclass(frozen=True)
class Target:
    """What a campaign invites to: a survey or a feedback round."""

    survey: Survey | None
    round: FeedbackRound | None

    @property
    def title(self) -> str:
        return self.round.name if self.round is not None else self.survey.title

    @property
    def closes_at(self) -> datetime | None:
        return self.round.closes_at if self.round is not None else self.survey.closes_at


def _target(data: CampaignInput, now: datetime, problems: dict[str, str]) -> Target | None:
    survey = db.session.get(Survey, data.survey_id) if data.survey_id else None
    rnd = db.session.get(FeedbackRound, data.round_id) if data.round_id else None
    if survey is None and rnd is None:
        problems["survey_id"] = "Choose the survey or the feedback round to invite members to."
        return None
    if survey is not None and rnd is not None:
        problems["round_id"] = "Choose a survey or a feedback round, not both."
        return None
    if rnd is not None:
        if rnd.status == RoundStatus.CLOSED or rnd.closes_at <= now:
            problems["round_id"] = (f"The feedback round \u201c{rnd.name}\u201d is closed: "
                                    "members can no longer rate in it, so nobody can be "
                                    "invited.")
        elif rnd.status != RoundStatus.OPEN:
            problems["round_id"] = (f"The feedback round \u201c{rnd.name}\u201d is not open "
                                    "yet: open it before inviting members.")
    elif survey.status == SurveyStatus.CLOSED or (survey.closes_at and survey.closes_at <= now):
        problems["survey_id"] = (f"The survey \u201c{survey.title}\u201d is closed: members "
                                 "can no longer answer it, so nobody can be invited.")
    elif survey.status != SurveyStatus.OPEN:
        problems["survey_id"] = (f"The survey \u201c{survey.title}\u201d is not open yet: "
                                 "open it before inviting members.")
    return Target(survey, rnd)


def validate(data: CampaignInput, now: datetime | None = None) -> tuple[Target, datetime]:
    """Every check of a new campaign; raises CampaignInvalid with a message per field."""
    now = now or now_utc()
    problems: dict[str, str] = {}
    target = _target(data, now, problems)
    survey = target.survey if target else None
    send_at = data.send_at or now
    if data.send_at is not None and data.send_at < now - PAST_GRACE:
        problems["send_at"] = ("The send time is in the past. Leave it empty to send now, "
                               "or choose a time from now on.")
    if data.stop_at is None:
        problems["stop_at"] = "Choose a stop date: no invitation or reminder goes out after it."
    elif data.stop_at <= send_at:
        problems["stop_at"] = "The stop date must be after the send time."
    elif target is not None and target.closes_at and data.stop_at > target.closes_at:
        what = "feedback round" if target.round is not None else "survey"
        problems["stop_at"] = (f"The {what} closes on {texts.closes_label(target.closes_at)}: "
                               "the stop date cannot be later.")
    if data.reminder_count < 0 or data.reminder_count > 10:
        problems["reminder_count"] = "Send between 0 and 10 reminders."
    if data.reminder_days < 1 or data.reminder_days > 90:
        problems["reminder_days"] = "Reminders must be between 1 and 90 days apart."
    if ("stop_at" not in problems and "reminder_count" not in problems
            and "reminder_days" not in problems and data.reminder_count):
        last = send_at + timedelta(days=data.reminder_days * data.reminder_count)
        if last >= data.stop_at:
            problems["reminder_count"] = (
                f"The last of {data.reminder_count} reminder(s) {data.reminder_days} days "
                f"apart would go out on {timezones.format_datetime(last)}, after the stop "
                "date. "
                "Send fewer reminders, closer together, or stop later.")
    for name, text, need_link in (("subject", data.subject, False), ("body", data.body, True),
                                  ("reminder_subject", data.reminder_subject, False),
                                  ("reminder_body", data.reminder_body, True)):
        if data.reminder_count == 0 and name.startswith("reminder_"):
            continue
        found = texts.problems(text or "", need_link=need_link)
        if found:
            problems[name] = found[0]
    if data.audience_kind not in {k.value for k in AudienceKind}:
        problems["audience_kind"] = "Choose who to invite."
    for key, codes in data.audience_segments.items():
        dim = segments.get(key)
        if dim is None or any(c not in dim.codes for c in codes):
            problems["audience_kind"] = "Choose segments from the lists."
    if ("audience_kind" not in problems and target is not None
            and audience_size(data.audience_kind, data.audience_segments, survey) == 0):
        problems["audience_kind"] = (
            "This audience has no addresses: nobody on the "
            + ("roster" if data.audience_kind == AudienceKind.ROSTER
               else "list of verified members")
            + " matches the chosen segments"
            + (" and the survey's audience." if survey is not None else "."))
    if problems:
        raise CampaignInvalid(problems)
    return target, send_at


def create_campaign(actor: User, data: CampaignInput) -> Campaign:
    """Create the campaign, fix its audience and schedule its invitation."""
    target, send_at = validate(data)
    survey = target.survey
    campaign = Campaign(
        name=data.name.strip()[:120] or target.title[:120],
        survey_id=survey.id if survey else None,
        round_id=target.round.id if target.round else None,
        audience_kind=data.audience_kind, audience_segments=data.audience_segments,
        subject=data.subject, body=data.body, reminder_subject=data.reminder_subject,
        reminder_body=data.reminder_body, send_at=send_at, reminder_count=data.reminder_count,
        reminder_days=data.reminder_days, stop_at=data.stop_at, created_by_id=actor.id)
    db.session.add(campaign)
    db.session.flush()
    count = add_recipients(campaign, survey)
    outbox.enqueue(WAVE_TASK, {"campaign_id": campaign.id, "wave": 0}, run_at=send_at)
    audit.record(actor, "campaign.create", campaign,
                 {"survey_id": campaign.survey_id, "round_id": campaign.round_id,
                  "recipients": count, "send_at": send_at.isoformat(),
                  "reminders": data.reminder_count})
    return campaign


def add_recipients(campaign: Campaign, survey: Survey | None) -> int:
    """Copy the audience into campaign_recipients, each with its link's hash."""
    key = links.key()
    table = CampaignRecipient.__table__
    rows = db.session.execute(audience_select(
        campaign.audience_kind, campaign.audience_segments or {}, survey)).all()
    seen: set[str] = set()
    batch: list[dict] = []
    for row in rows:
        email = row.email.lower()
        if email in seen:
            continue
        seen.add(email)
        batch.append({"campaign_id": campaign.id, "email": email, "user_id": row.user_id,
                      "token_hash": links.digest(links.token_for(campaign.id, email, key)),
                      **{k: getattr(row, k) for k in segments.KEYS}})
    for start in range(0, len(batch), INSERT_CHUNK):
        db.session.execute(table.insert(), batch[start:start + INSERT_CHUNK])
    return len(batch)


def stop_campaign(actor: User, campaign_id: int) -> Campaign:
    campaign = db.session.get(Campaign, campaign_id)
    if campaign is None:
        raise NotFound("No such campaign.")
    if campaign.status != CampaignStatus.SCHEDULED:
        raise Conflict(f"The campaign is already {campaign.status}.")
    campaign.status = CampaignStatus.STOPPED
    campaign.stopped_at = now_utc()
    audit.record(actor, "campaign.stop", campaign)
    return campaign


def sample_values(target: Target, name: str) -> dict[str, str]:
    return {"name": name, "survey": target.title,
            "link": external_url("campaigns.follow", token=EXAMPLE_TOKEN),
            "closes": texts.closes_label(target.closes_at)}


def preview(data: CampaignInput, actor: User) -> dict[str, str]:
    """The invitation (and reminder) as the member would read them, with sample values."""
    problems: dict[str, str] = {}
    target = _target(data, now_utc(), problems)
    if target is None:
        raise CampaignInvalid(problems)
    problems = {}  # a closed target still previews; creating the campaign says so
    for name, text, need_link in (("subject", data.subject, False), ("body", data.body, True)):
        found = texts.problems(text or "", need_link=need_link)
        if found:
            problems[name] = found[0]
    if problems:
        raise CampaignInvalid(problems)
    values = sample_values(target, actor.display_name)
    footer = texts.fill_footer(external_url("campaigns.unsubscribe", token=EXAMPLE_TOKEN),
                               external_url("campaigns.preferences", token=EXAMPLE_TOKEN))
    out = {"subject": texts.fill(data.subject, values),
           "body": texts.fill(data.body, values) + footer}
    if data.reminder_count and not texts.problems(data.reminder_body or "", need_link=True):
        out["reminder_subject"] = texts.fill(data.reminder_subject or "", values)
        out["reminder_body"] = texts.fill(data.reminder_body, values) + footer
    return out


def test_send(data: CampaignInput, actor: User) -> None:
    """Queue the previewed invitation to the admin's own address only."""
    shown = preview(data, actor)
    queue_mail(actor.email, "[Test] " + shown["subject"], shown["body"])
    audit.record(actor, "campaign.test_send", ("feedback_rounds", data.round_id) if data.round_id
                 else ("surveys", data.survey_id))
