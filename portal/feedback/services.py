"""Ratings, visits, and a member's own feedback data (export and anonymisation).

Services flush and never commit; they raise PortalError subclasses.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

import sqlalchemy as sa

from portal import segments, timezones
from portal.errors import Conflict, NotFound, PortalError
from portal.extensions import db
from portal.feedback.sqlutil import upsert
from portal.models import (
    Comment,
    CommentFlag,
    CommentVersion,
    Endorsement,
    FeedbackRound,
    Objective,
    ObjectiveUpdate,
    Rating,
    User,
)
from portal.models.feedback import IMPORTANCE_LABELS, PERFORMANCE_LABELS
from portal.plan import queries as plan_queries
from portal.reports import aggregates, participation
from portal.rounds.services import next_round
from portal.timeutil import now_utc

SCALE = frozenset(IMPORTANCE_LABELS)  # 1..5 and 0 for "Don't know"


def no_round_message(now: datetime | None = None) -> str:
    upcoming = next_round(now)
    if upcoming is None:
        return "No feedback round is open, so ratings cannot be saved. No round is scheduled yet."
    return (f"No feedback round is open, so ratings cannot be saved. The next round, "
            f"'{upcoming.name}', opens on {timezones.format_datetime(upcoming.opens_at)}.")


def find_objective(code: str) -> Objective:
    # With its domain: rating checks whether the domain is retired.
    obj = plan_queries.get_objective((code or "").upper())
    if obj is None:
        raise NotFound(f"There is no objective with the code '{code}'.")
    return obj


def _check_scale(value: int | None, field: str) -> None:
    if value is not None and value not in SCALE:
        raise PortalError("Choose one of the answers on the scale.", field=field)


def save_ratings(user: User, rnd: FeedbackRound | None,
                 answers: Mapping[Objective, tuple[int | None, int | None]],
                 now: datetime | None = None) -> int:
    """Store the member's importance and performance ratings in the open round.

    One row per (member, objective, round): an existing row is updated in place,
    also when two submissions race. Objectives with neither answer are skipped.
    Everything is checked before anything is written. Returns the rows stored.

    The report summaries move from each rating's old values to its new ones in the
    same transaction. The member's row is locked first, so a second submission of
    theirs waits and then reads the values this one stored: a delta computed from
    a stale old value would leave the summaries off for good.
    """
    now = now or now_utc()
    if rnd is None or not rnd.is_open or rnd.closes_at <= now:
        raise Conflict(no_round_message(now), field="importance")
    wanted: dict[int, tuple[int | None, int | None]] = {}
    for obj, (importance, performance) in answers.items():
        if obj.retired_at is not None or obj.domain.retired_at is not None:
            raise PortalError(f"Objective {obj.code} has been retired and can no longer be "
                              "rated.", field="importance")
        _check_scale(importance, "importance")
        _check_scale(performance, "performance")
        if importance is None and performance is None:
            continue
        wanted[obj.id] = (importance, performance)
    if not wanted:
        raise PortalError("Choose an answer to at least one question before saving.",
                          field="importance")
    conn = db.session.connection()
    member = participation.lock_member(conn, user.id)
    if member is None:
        raise NotFound("Your account no longer exists.")
    # The segments as committed now (read under the lock), copied into the ratings.
    segs = {k: getattr(member, k) for k in segments.KEYS}
    r = Rating.__table__
    old = {row.objective_id: aggregates.facts_from_row(row) for row in conn.execute(
        sa.select(*[r.c[f] for f in aggregates.FACT_FIELDS]).where(
            r.c.user_id == user.id, r.c.round_id == rnd.id, r.c.objective_id.in_(wanted)))}
    rows = [{"user_id": user.id, "objective_id": oid, "round_id": rnd.id,
             "importance": imp, "performance": perf, "created_at": now, "updated_at": now,
             **segs} for oid, (imp, perf) in sorted(wanted.items())]
    upsert(Rating.__table__, rows, ["user_id", "objective_id", "round_id"],
           ["importance", "performance", "updated_at", *segments.KEYS])
    aggregates.apply_rating_changes(
        [(old.get(row["objective_id"]), aggregates.facts_from_row(row)) for row in rows],
        conn, members={user.id: member})
    return len(rows)


def save_rating(user: User, rnd: FeedbackRound | None, objective: Objective,
                importance: int | None, performance: int | None,
                now: datetime | None = None) -> None:
    save_ratings(user, rnd, {objective: (importance, performance)}, now)


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def export_member_feedback(user: User) -> dict:
    """Everything this member said through the feedback features, for "download my data"."""
    ratings = db.session.execute(
        sa.select(Rating, FeedbackRound.name, Objective.code)
        .join(FeedbackRound, Rating.round_id == FeedbackRound.id)
        .join(Objective, Rating.objective_id == Objective.id)
        .where(Rating.user_id == user.id)
        .order_by(FeedbackRound.opens_at, Objective.code)).all()
    comments = list(db.session.scalars(
        sa.select(Comment).where(Comment.user_id == user.id).order_by(Comment.created_at)))
    ids = [c.id for c in comments]
    versions: dict[int, list[dict]] = {}
    if ids:
        for v in db.session.scalars(sa.select(CommentVersion).where(
                CommentVersion.comment_id.in_(ids)).order_by(CommentVersion.id)):
            versions.setdefault(v.comment_id, []).append(
                {"body": v.body, "written_at": _iso(v.created_at)})
    codes = dict(db.session.execute(sa.select(Objective.id, Objective.code)).all())
    endorsements = db.session.execute(
        sa.select(Endorsement.comment_id, Endorsement.created_at)
        .where(Endorsement.user_id == user.id).order_by(Endorsement.id)).all()
    flags = db.session.scalars(sa.select(CommentFlag).where(CommentFlag.user_id == user.id)
                               .order_by(CommentFlag.id)).all()
    return {
        "ratings": [{
            "round": name, "objective": code,
            "importance": r.importance,
            "importance_label": IMPORTANCE_LABELS.get(r.importance),
            "performance": r.performance,
            "performance_label": PERFORMANCE_LABELS.get(r.performance),
            "updated_at": _iso(r.updated_at)} for r, name, code in ratings],
        "comments": [{
            "id": c.id, "objective": codes.get(c.objective_id), "reply_to": c.parent_id,
            "body": c.body, "show_name": c.show_name, "status": c.status,
            "hidden_reason": c.hidden_reason, "created_at": _iso(c.created_at),
            "edited_at": _iso(c.edited_at), "deleted_at": _iso(c.deleted_at),
            "earlier_versions": versions.get(c.id, [])} for c in comments],
        "endorsements": [{"comment_id": cid, "created_at": _iso(at)} for cid, at in endorsements],
        "flags": [{"comment_id": f.comment_id, "reason": f.reason, "note": f.note,
                   "created_at": _iso(f.created_at)} for f in flags],
    }


def anonymise_member_feedback(user: User) -> None:
    """Unlink the member from their feedback before the account is deleted.

    Ratings, comments, endorsements and flags keep counting in the aggregates
    with user_id NULL; comments show "A member". The report summaries follow:
    the ratings stay in their cells, the member leaves the raters and
    participation (see portal.reports.aggregates).
    """
    uid = user.id
    conn = db.session.connection()
    member = participation.lock_member(conn, uid)  # no rating of theirs may slip in now
    db.session.execute(sa.update(Rating).where(Rating.user_id == uid).values(user_id=None))
    aggregates.forget_member(conn, uid, member)
    db.session.execute(sa.update(Comment).where(Comment.user_id == uid)
                       .values(user_id=None, show_name=False))
    db.session.execute(sa.update(Endorsement).where(Endorsement.user_id == uid)
                       .values(user_id=None))
    db.session.execute(sa.update(CommentFlag).where(CommentFlag.user_id == uid)
                       .values(user_id=None))
    db.session.execute(sa.update(ObjectiveUpdate).where(ObjectiveUpdate.author_id == uid)
                       .values(author_id=None))
    db.session.flush()
