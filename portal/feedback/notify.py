"""E-mail about My activity: "at once" notices and daily or weekly digests, both
through the job queue.

- **At once.** The service that causes an event (a reply posted, an update published,
  an action published) calls `event(item)`, which records an `activity.notify` job in
  the same transaction. The job finds the members who chose "at once" for that kind,
  skips suppressed or unsubscribed addresses (`MailSuppression`, as campaigns do),
  and for each records an `ActivityNotice(user, item)` and queues one `mail.send` job
  in one commit. A notice already recorded is never mailed again, so a retried job
  sends nothing twice. Surveys and rounds open and close on the scheduler's clock, so
  `announce_due()` (from the tick) does the same for them.
- **Digests.** `send_due_digests()` runs from the scheduler's tick. For each period
  (daily: the UTC date; weekly: the ISO week) every member whose choice for some kind
  is that period and who has no `ActivityDigest(user, period, key)` row gets one row
  and, when anything happened since their previous digest of that period, ONE mail
  listing it, queued in the same commit. The unique row makes a second run or two
  schedulers at once a no-op.
- **Unsubscribe.** Every one of these mails is bulk mail: it carries RFC 8058
  one-click unsubscribe headers (`List-Unsubscribe`, `List-Unsubscribe-Post`) and the
  same link in its text, besides the link to the member's e-mail choices. The link's
  token is the member id signed with a key derived from SECRET_KEY; following it stops
  all bulk mail to the member's address (the `MailSuppression` row campaigns read too).

Every mail is composed in its recipient's time zone (`timezones.shown_in`): the dates a
survey or round opens and closes read as the member's own clock, with the zone named.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from flask import current_app
from itsdangerous import BadSignature, URLSafeSerializer
from sqlalchemy.exc import IntegrityError

from portal import timezones
from portal.extensions import db
from portal.feedback import activity
from portal.jobs import outbox
from portal.jobs.mail_jobs import queue_mail
from portal.mail import external_url
from portal.models import (
    Action,
    ActivityDigest,
    ActivityKind,
    ActivityNotice,
    ActivityPreference,
    Comment,
    CommentStatus,
    Delivery,
    MailSuppression,
    ObjectiveUpdate,
    Rating,
    User,
)
from portal.models.activity import DEFAULTS, KIND_LABELS
from portal.timeutil import now_utc

log = logging.getLogger("portal.jobs")

TASK = "activity.notify"
PERIODS = {Delivery.DAILY.value: timedelta(days=1), Delivery.WEEKLY.value: timedelta(days=7)}
# Members handled per period and tick: a large roster is served over a few
# minutes' ticks (each member's row marks them done) instead of one tick that runs for hours.
DIGEST_BATCH = 1000
KIND_OF = {"reply": ActivityKind.REPLIES, "update": ActivityKind.UPDATES,
           "action": ActivityKind.UPDATES}


def event(item: str) -> None:
    """Record, in the caller's transaction, that `item` ("reply:12", "update:3",
    "action:7") may need "at once" mail."""
    outbox.enqueue(TASK, {"item": item})


def _choice(kind: ActivityKind):
    """SQL: the member's delivery choice for `kind` (the default without a row)."""
    return sa.func.coalesce(getattr(ActivityPreference, kind.value), DEFAULTS[kind].value)


def _reachable():
    """Active members with a confirmed address that bulk mail may reach."""
    suppressed = sa.select(MailSuppression.email).where(sa.or_(
        MailSuppression.unsubscribed_at.is_not(None),
        MailSuppression.suppressed_at.is_not(None)))
    return sa.and_(User.active.is_(True), User.email_verified_at.is_not(None),
                   User.email.not_in(suppressed))


def _audience(item: str) -> tuple[Any, Any]:
    """(subquery of user ids concerned, the Item or None when it is gone)."""
    prefix, _, raw = item.partition(":")
    ident = int(raw)
    if prefix == "reply":
        reply = db.session.get(Comment, ident)
        if reply is None or reply.status != CommentStatus.VISIBLE or reply.parent is None:
            return None, None
        parent = reply.parent
        if parent.user_id is None or parent.user_id == reply.user_id:
            return None, None
        return sa.select(sa.literal(parent.user_id)), reply
    row = db.session.get(ObjectiveUpdate if prefix == "update" else Action, ident)
    if row is None or (prefix == "action" and not row.published):
        return None, None
    ids = sa.union(
        sa.select(Rating.user_id).where(Rating.objective_id == row.objective_id),
        sa.select(Comment.user_id).where(Comment.objective_id == row.objective_id,
                                         Comment.user_id.is_not(None)))
    return ids, row


@outbox.handler(TASK)
def _notify(payload: dict[str, Any]) -> None:
    item = payload["item"]
    kind = KIND_OF[item.partition(":")[0]]
    ids, row = _audience(item)
    if ids is None:
        return
    already = sa.select(ActivityNotice.user_id).where(ActivityNotice.item == item)
    users = db.session.execute(
        sa.select(User.id, User.email, User.display_name)
        .outerjoin(ActivityPreference, ActivityPreference.user_id == User.id)
        .where(User.id.in_(ids), User.id.not_in(already), _reachable(),
               _choice(kind) == Delivery.INSTANT.value)
        .order_by(User.id)).all()
    if not users:
        return
    # Every member concerned sees the same item: build it once, from the first one.
    found = [i for i in _item_for(db.session.get(User, users[0].id), item) if i.key == item]
    if not found:
        return
    for user_id, email, name in users:
        db.session.add(ActivityNotice(user_id=user_id, item=item))
        _queue(user_id, email, found[0].title, _body(name, found, None))
    db.session.flush()
    log.info("activity: %s notice(s) queued for %s", len(users), item)


def _item_for(user: User, item: str) -> list[activity.Item]:
    if item.startswith("reply:"):
        return activity.replies(user)
    return activity.updates(user)


def _body(name: str, items: list[activity.Item], period: str | None) -> str:
    intro = (f"Here is what happened for you on the portal since your last {period} "
             "digest:" if period else "Something new for you on the portal:")
    lines = [f"Hello {name},", "", intro, ""]
    for it in items:
        lines += [f"- {it.title}", f"  {it.text}", f"  {external_url(it.endpoint, **it.values)}",
                  ""]
    lines += ["See everything on My activity:", external_url("feedback.activity"), "",
              "Choose what you receive by e-mail, or turn it off:",
              external_url("feedback.activity_preferences")]
    return "\n".join(lines)


def _serializer() -> URLSafeSerializer:
    return URLSafeSerializer(current_app.config["SECRET_KEY"], salt="portal.activity-unsubscribe")


def unsubscribe_token(user_id: int) -> str:
    """The member's one-click unsubscribe token: no expiry, since an old digest's link
    must still work; rotating SECRET_KEY ends them all."""
    return _serializer().dumps(user_id)


def unsubscriber(token: str) -> User | None:
    """The member an unsubscribe token names, or None for a forged or stale one."""
    try:
        user_id = _serializer().loads(token)
    except BadSignature:
        return None
    return db.session.get(User, user_id) if isinstance(user_id, int) else None


def _queue(user_id: int, email: str, subject: str, body: str) -> None:
    url = external_url("feedback.activity_unsubscribe", token=unsubscribe_token(user_id))
    body += f"\n\nStop all of the portal's bulk e-mail to this address (one click):\n{url}\n"
    queue_mail(email, subject, body, headers=(
        ("List-Unsubscribe", f"<{url}>"),
        ("List-Unsubscribe-Post", "List-Unsubscribe=One-Click"),
        ("List-Id", "Member feedback portal activity <activity.portal.local>")))


# Surveys and rounds "at once" -------------------------------------------------------

def announce_due(now: datetime | None = None) -> int:
    """"At once" mail for surveys that opened and rounds opening or closing soon.

    They open and close on the scheduler's clock (`sync_rounds`, `sync_due_surveys`
    commit on their own), so the tick looks for them instead: each current item gets
    one `ActivityNotice` and one queued mail per member who chose "at once", in one
    commit. A member in the survey's audience who has already taken part (the
    participation row; no response is read) is skipped. Cheap when nothing is new:
    two reads, and one per current item."""
    from portal.models import Survey, SurveyParticipation, SurveyStatus
    from portal.surveys.services import in_audience

    now = now or now_utc()
    queued = 0
    rounds_in = _per_zone(lambda: {i.key: i for i in activity.rounds(now - activity.SOON, now)})
    for item in activity.rounds(now - activity.SOON, now):
        queued += _announce(ActivityKind.ROUNDS, item.key,
                            lambda zone, key=item.key: rounds_in(zone)[key], lambda user: True)
    opened = db.session.scalars(sa.select(Survey).where(
        Survey.status == SurveyStatus.OPEN, Survey.opened_at > now - activity.SOON)
        .order_by(Survey.id)).all()
    for survey in opened:
        if not survey.accepts_answers(now):
            continue
        done = set(db.session.scalars(sa.select(SurveyParticipation.user_id).where(
            SurveyParticipation.survey_id == survey.id)))
        queued += _announce(ActivityKind.SURVEYS, f"survey:{survey.id}",
                            _per_zone(lambda s=survey: _survey_item(s)),
                            lambda user, s=survey, d=done: user.id not in d
                            and in_audience(s, user))
    if queued:
        db.session.commit()
    else:
        db.session.rollback()
    return queued


def _survey_item(survey) -> activity.Item:
    closes = (f" It closes on {timezones.format_datetime(survey.closes_at)}."
              if survey.closes_at else "")
    return activity.Item(ActivityKind.SURVEYS, f"survey:{survey.id}", survey.opened_at,
                         f"Survey waiting for you: {survey.title}",
                         f"A new survey is open for you.{closes}", "surveys.show",
                         {"survey_id": survey.id})


def _per_zone(build):
    """`build()`'s result composed in each recipient zone, once per zone (its text
    names dates, which read differently from one zone to the next)."""
    made: dict[str, Any] = {}

    def in_zone(zone: str):
        if zone not in made:
            with timezones.shown_in(zone):
                made[zone] = build()
        return made[zone]
    return in_zone


def _announce(kind: ActivityKind, key: str, item_in, wanted) -> int:
    """Queue `key`'s "at once" mail; `item_in(zone)` is the item as that zone reads it."""
    already = sa.select(ActivityNotice.user_id).where(ActivityNotice.item == key)
    users = db.session.scalars(
        sa.select(User).outerjoin(ActivityPreference, ActivityPreference.user_id == User.id)
        .where(User.id.not_in(already), _reachable(),
               _choice(kind) == Delivery.INSTANT.value).order_by(User.id)).all()
    count = 0
    for user in users:
        if not wanted(user):
            continue
        item = item_in(timezones.normalise(user.time_zone))
        db.session.add(ActivityNotice(user_id=user.id, item=key))
        _queue(user.id, user.email, item.title, _body(user.display_name, [item], None))
        count += 1
    db.session.flush()
    return count


# Digests --------------------------------------------------------------------------

def period_key(period: str, now: datetime) -> str:
    if period == Delivery.DAILY.value:
        return now.strftime("%Y-%m-%d")
    year, week, _ = now.isocalendar()
    return f"{year}-W{week:02d}"


def send_digests(period: str, now: datetime | None = None) -> int:
    """Send this period's digest to every member due one. Returns mails queued.
    Commits per member (the scheduler's work, like the campaign waves)."""
    now = now or now_utc()
    key = period_key(period, now)
    wants = sa.or_(*[_choice(kind) == period for kind in ActivityKind])
    done = sa.select(ActivityDigest.user_id).where(ActivityDigest.period == period,
                                                   ActivityDigest.period_key == key)
    due = db.session.execute(
        sa.select(User.id).outerjoin(ActivityPreference, ActivityPreference.user_id == User.id)
        .where(wants, _reachable(), User.id.not_in(done)).order_by(User.id)
        .limit(DIGEST_BATCH)).scalars().all()
    sent = 0
    for user_id in due:
        try:
            sent += _digest_for(user_id, period, key, now)
            db.session.commit()
        except IntegrityError:
            db.session.rollback()  # another run recorded it first: it sends, not us
    return sent


def _digest_for(user_id: int, period: str, key: str, now: datetime) -> int:
    user = db.session.get(User, user_id)
    pref = activity.preferences_of(user)
    kinds = [kind for kind, choice in activity.choices(pref).items() if choice == period]
    last = db.session.scalar(sa.select(sa.func.max(ActivityDigest.sent_at)).where(
        ActivityDigest.user_id == user_id, ActivityDigest.period == period))
    since = last or now - PERIODS[period]
    with timezones.shown_in(user.time_zone):
        items = activity.items_for(user, kinds=kinds, since=since, now=now)
    db.session.add(ActivityDigest(user_id=user_id, period=period, period_key=key,
                                  items=len(items), sent_at=now))
    db.session.flush()  # the unique key: a second run stops here
    if not items:
        return 0
    label = "Daily" if period == Delivery.DAILY.value else "Weekly"
    noun = "item" if len(items) == 1 else "items"
    _queue(user.id, user.email, f"{label} digest: {len(items)} new {noun} for you",
           _body(user.display_name, items, period))
    return 1


def send_due_digests(now: datetime | None = None) -> int:
    """The scheduler's entry point: "at once" mail for surveys and rounds, then both
    digest periods (cheap when every member has theirs). Returns mails queued."""
    if not current_app.config.get("ACTIVITY_DIGESTS", True):
        return 0
    announced = announce_due(now)
    return announced + sum(send_digests(period, now) for period in PERIODS)


__all__ = ["KIND_LABELS", "announce_due", "event", "send_digests", "send_due_digests",
           "unsubscribe_token", "unsubscriber"]
