"""My activity: replies to my comments, leadership updates and published actions on
objectives I rated or commented on, open surveys waiting for me, and rounds opening
or closing soon; plus what the member last saw and how they want to hear by e-mail.

Every read is a fixed number of statements, whatever the number of items: one per
kind (surveys reuse `surveys.services.surveys_for`, which decides "for me" by the
audience and the participation rows, never by a response).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import aliased

from portal import timezones
from portal.errors import PortalError
from portal.extensions import db
from portal.models import (
    UPDATE_STATUS_LABELS,
    Action,
    ActivityKind,
    ActivityPreference,
    Comment,
    CommentStatus,
    Delivery,
    FeedbackRound,
    MailSuppression,
    Objective,
    ObjectiveUpdate,
    Rating,
    RoundStatus,
    User,
)
from portal.models.activity import DEFAULTS, DELIVERY_LABELS, KIND_LABELS
from portal.timeutil import now_utc

# Rounds "opening or closing soon" are those within this window.
SOON = timedelta(days=7)
# The page lists at most this many items of each kind (newest first).
PER_KIND = 50


@dataclass(frozen=True)
class Item:
    kind: ActivityKind
    key: str          # "reply:12": what an "at once" notice records
    at: datetime      # when it happened (or became "soon"); sorts and decides "New"
    title: str
    text: str
    endpoint: str
    values: dict

    def is_new(self, seen: datetime | None) -> bool:
        """News the member has not marked as read. A survey waiting or a round open
        for ratings is a task instead ("To do" until it is done or over): marking the
        page as read does not make it less waiting, and the menu's count, which counts
        news only, stays the page's count."""
        return not self.is_task and (seen is None or self.at > seen)

    @property
    def is_task(self) -> bool:
        return self.kind in (ActivityKind.SURVEYS, ActivityKind.ROUNDS)


def _mine(user: User):
    """Objectives the member rated or commented on (a subquery)."""
    return sa.union(
        sa.select(Rating.objective_id).where(Rating.user_id == user.id),
        sa.select(Comment.objective_id).where(Comment.user_id == user.id)).subquery()


def _after(column, since: datetime | None):
    return sa.true() if since is None else column > since


def replies(user: User, since: datetime | None = None, limit: int = PER_KIND) -> list[Item]:
    reply, parent = aliased(Comment), aliased(Comment)
    rows = db.session.execute(
        sa.select(reply.id, reply.created_at, reply.body, reply.show_name, parent.id,
                  Objective.code, User.display_name)
        .join(parent, reply.parent_id == parent.id)
        .join(Objective, Objective.id == reply.objective_id)
        .outerjoin(User, User.id == reply.user_id)
        .where(parent.user_id == user.id,
               sa.or_(reply.user_id.is_(None), reply.user_id != user.id),
               reply.status == CommentStatus.VISIBLE.value, _after(reply.created_at, since))
        .order_by(reply.created_at.desc(), reply.id.desc()).limit(limit)).all()
    items = []
    for rid, at, body, show_name, thread, code, name in rows:
        who = name if show_name and name else "A member"
        text = body if len(body) <= 200 else body[:200].rsplit(" ", 1)[0] + " …"
        items.append(Item(ActivityKind.REPLIES, f"reply:{rid}", at,
                          f"{who} replied to your comment on {code}", text,
                          "feedback.thread", {"comment_id": thread}))
    return items


def updates(user: User, since: datetime | None = None, limit: int = PER_KIND) -> list[Item]:
    """Leadership updates, then published actions, on the member's objectives."""
    mine = _mine(user)
    rows = db.session.execute(
        sa.select(ObjectiveUpdate.id, ObjectiveUpdate.published_at, ObjectiveUpdate.progress,
                  ObjectiveUpdate.status, Objective.code)
        .join(Objective, Objective.id == ObjectiveUpdate.objective_id)
        .where(ObjectiveUpdate.objective_id.in_(sa.select(mine.c.objective_id)),
               _after(ObjectiveUpdate.published_at, since))
        .order_by(ObjectiveUpdate.published_at.desc(), ObjectiveUpdate.id.desc())
        .limit(limit)).all()
    items = [Item(ActivityKind.UPDATES, f"update:{uid}", at,
                  f"Leadership update on {code}",
                  f"{UPDATE_STATUS_LABELS.get(status, status)}, progress {progress} %.",
                  "plan.objective", {"code": code})
             for uid, at, progress, status, code in rows]
    mine = _mine(user)
    rows = db.session.execute(
        sa.select(Action.id, Action.updated_at, Action.title, Objective.code)
        .join(Objective, Objective.id == Action.objective_id)
        .where(Action.published.is_(True),
               Action.objective_id.in_(sa.select(mine.c.objective_id)),
               _after(Action.updated_at, since))
        .order_by(Action.updated_at.desc(), Action.id.desc()).limit(limit)).all()
    items += [Item(ActivityKind.UPDATES, f"action:{aid}", at,
                   f"Leadership action on {code}", title, "plan.objective", {"code": code})
              for aid, at, title, code in rows]
    return items


def surveys(user: User, since: datetime | None = None) -> list[Item]:
    """Open surveys for the member that they have not submitted (participation rows
    only: nothing here reads or links a response)."""
    from portal.surveys import services as survey_services

    items = []
    for listing in survey_services.surveys_for(user):
        if listing.state == survey_services.SUBMITTED:
            continue
        survey = listing.survey
        at = survey.opened_at or survey.opens_at or survey.created_at
        if since is not None and at <= since:
            continue
        closes = (f" It closes on {timezones.format_datetime(survey.closes_at)}."
                  if survey.closes_at else "")
        items.append(Item(ActivityKind.SURVEYS, f"survey:{survey.id}", at,
                          f"Survey waiting for you: {survey.title}",
                          f"{listing.state_label}.{closes}", "surveys.show",
                          {"survey_id": survey.id}))
    return items


def rounds(since: datetime | None = None, now: datetime | None = None) -> list[Item]:
    """Rounds opening within SOON, and open rounds closing within SOON or opened in
    the last SOON. An item's time is when it became news."""
    now = now or now_utc()
    found = db.session.scalars(sa.select(FeedbackRound).where(sa.or_(
        sa.and_(FeedbackRound.status == RoundStatus.DRAFT.value,
                FeedbackRound.opens_at > now, FeedbackRound.opens_at <= now + SOON),
        sa.and_(FeedbackRound.status == RoundStatus.OPEN.value,
                FeedbackRound.closes_at > now,
                sa.or_(FeedbackRound.closes_at <= now + SOON,
                       FeedbackRound.opened_at > now - SOON))))
        .order_by(FeedbackRound.id)).all()
    items = []
    for rnd in found:
        if rnd.status == RoundStatus.DRAFT:
            at, key = max(rnd.opens_at - SOON, rnd.created_at), f"round-opens:{rnd.id}"
            title, text = (f"Feedback round opening soon: {rnd.name}",
                           f"It opens on {timezones.format_datetime(rnd.opens_at)}.")
        elif rnd.closes_at <= now + SOON:
            at, key = max(rnd.closes_at - SOON, rnd.opened_at or rnd.opens_at), \
                f"round-closes:{rnd.id}"
            title, text = (f"Feedback round closing soon: {rnd.name}",
                           f"It closes on {timezones.format_datetime(rnd.closes_at)}. "
                           "Rate the objectives "
                           "before then.")
        else:
            at, key = rnd.opened_at or rnd.opens_at, f"round-opened:{rnd.id}"
            title, text = (f"Feedback round open: {rnd.name}",
                           f"It closes on {timezones.format_datetime(rnd.closes_at)}.")
        if since is not None and at <= since:
            continue
        items.append(Item(ActivityKind.ROUNDS, key, at, title, text, "main.home", {}))
    return items


def items_for(user: User, kinds=tuple(ActivityKind), since: datetime | None = None,
              now: datetime | None = None) -> list[Item]:
    """Every item of `kinds` for `user` (newer than `since`), newest first."""
    found: list[Item] = []
    if ActivityKind.REPLIES in kinds:
        found += replies(user, since)
    if ActivityKind.UPDATES in kinds:
        found += updates(user, since)
    if ActivityKind.SURVEYS in kinds:
        found += surveys(user, since)
    if ActivityKind.ROUNDS in kinds:
        found += rounds(since, now)
    return sorted(found, key=lambda item: (item.at, item.key), reverse=True)


# What the member saw, and how they want to hear -------------------------------------

def preferences_of(user: User) -> ActivityPreference | None:
    return db.session.get(ActivityPreference, user.id)


def choices(pref: ActivityPreference | None) -> dict[ActivityKind, str]:
    return {kind: (pref.delivery(kind) if pref else DEFAULTS[kind].value)
            for kind in ActivityKind}


def _row(user: User) -> ActivityPreference:
    pref = preferences_of(user)
    if pref is None:
        pref = ActivityPreference(user_id=user.id, **{k.value: v.value
                                                      for k, v in DEFAULTS.items()})
        db.session.add(pref)
    return pref


def mark_seen(user: User, now: datetime | None = None) -> None:
    """Everything listed until now stops being "New"."""
    _row(user).last_seen_at = now or now_utc()
    db.session.flush()


def all_mail_on(user: User) -> bool:
    """False when the member's address unsubscribed from the portal's bulk mail (the
    same `MailSuppression` row that campaigns' one-click unsubscribe writes)."""
    row = db.session.get(MailSuppression, user.email)
    return row is None or row.unsubscribed_at is None


def save_preferences(user: User, chosen: dict[str, str | None],
                     all_mail: str | None) -> ActivityPreference:
    """Set how each kind is e-mailed, and whether the portal may send bulk mail at all
    ("on"/"off"). Every choice must be a known one, else PortalError naming the first
    wrong field, and nothing changes."""
    allowed = {d.value for d in Delivery}
    for kind in ActivityKind:
        if chosen.get(kind.value) not in allowed:
            raise PortalError(f"Choose how to hear about “{KIND_LABELS[kind]}”: "
                              + ", ".join(DELIVERY_LABELS.values()).lower() + ".",
                              field=kind.value)
    if all_mail not in ("on", "off"):
        raise PortalError("Choose whether the portal may send you these e-mails and "
                          "survey invitations.", field="all_mail")
    pref = _row(user)
    for kind in ActivityKind:
        setattr(pref, kind.value, chosen[kind.value])
    pref.updated_at = now_utc()
    row = db.session.get(MailSuppression, user.email)
    if all_mail == "off":
        MailSuppression.unsubscribe(user.email)
    elif row is not None:
        row.unsubscribed_at = None  # bounce suppression stays: the address still fails
    db.session.flush()
    return pref


def unread_count(user: User) -> int:
    """New replies, updates and published actions since the member last looked, in
    one statement (the navigation shows it on every page). Surveys and rounds are
    marked on the page itself. The statement is built once and bound to the member's
    id on each call: building it cost several milliseconds of every signed-in page."""
    return int(db.session.scalar(_unread_statement(), {"uid": user.id}) or 0)


@functools.cache
def _unread_statement():
    uid = sa.bindparam("uid", type_=sa.Integer)
    seen = (sa.select(ActivityPreference.last_seen_at)
            .where(ActivityPreference.user_id == uid).scalar_subquery())
    reply, parent = aliased(Comment), aliased(Comment)

    def newer(column):
        return sa.or_(seen.is_(None), column > seen)

    def mine():
        return sa.union(
            sa.select(Rating.objective_id).where(Rating.user_id == uid),
            sa.select(Comment.objective_id).where(Comment.user_id == uid)).subquery()

    n_replies = (sa.select(sa.func.count()).select_from(reply)
                 .join(parent, reply.parent_id == parent.id)
                 .where(parent.user_id == uid,
                        sa.or_(reply.user_id.is_(None), reply.user_id != uid),
                        reply.status == CommentStatus.VISIBLE.value,
                        newer(reply.created_at)).scalar_subquery())
    updates_mine = mine()
    n_updates = (sa.select(sa.func.count()).select_from(ObjectiveUpdate)
                 .where(ObjectiveUpdate.objective_id.in_(sa.select(updates_mine.c.objective_id)),
                        newer(ObjectiveUpdate.published_at)).scalar_subquery())
    actions_mine = mine()
    n_actions = (sa.select(sa.func.count()).select_from(Action)
                 .where(Action.published.is_(True),
                        Action.objective_id.in_(sa.select(actions_mine.c.objective_id)),
                        newer(Action.updated_at)).scalar_subquery())
    return sa.select(n_replies + n_updates + n_actions)


def export_member_activity(user: User) -> dict:
    """For "Download my data": the member's e-mail choices, last-seen time and the
    digests and notices mailed to them (the rows go with the account: ON DELETE
    CASCADE)."""
    from portal.models import ActivityDigest, ActivityNotice

    pref = preferences_of(user)

    def iso(value):
        return value.isoformat() + "Z" if value else None

    return {
        "email_choices": {kind.value: choice for kind, choice in choices(pref).items()},
        "last_seen_at": iso(pref.last_seen_at if pref else None),
        "digests": [{"period": d.period, "period_key": d.period_key, "items": d.items,
                     "sent_at": iso(d.sent_at)}
                    for d in db.session.scalars(sa.select(ActivityDigest).where(
                        ActivityDigest.user_id == user.id).order_by(ActivityDigest.id))],
        "notices": [{"item": n.item, "sent_at": iso(n.sent_at)}
                    for n in db.session.scalars(sa.select(ActivityNotice).where(
                        ActivityNotice.user_id == user.id).order_by(ActivityNotice.id))],
    }
