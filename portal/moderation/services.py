"""Moderator actions on comments. Each one resolves the open flags and leaves an audit row."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import joinedload

from portal import audit
from portal.errors import Conflict, NotFound, PortalError
from portal.extensions import db
from portal.models import Comment, CommentFlag, CommentStatus, CommentVersion, Objective, User
from portal.timeutil import now_utc

QUEUE_PAGE = 50


def _resolve_flags(comment: Comment, resolution: str, now: datetime) -> int:
    res = db.session.execute(
        sa.update(CommentFlag.__table__)
        .where(CommentFlag.__table__.c.comment_id == comment.id,
               CommentFlag.__table__.c.resolved_at.is_(None))
        .values(resolved_at=now, resolution=resolution))
    comment.flag_count = 0
    return res.rowcount


def hide_comment(actor: User, comment: Comment, reason: str,
                 now: datetime | None = None) -> None:
    """Hide a comment; the author sees `reason` on their own comment and in My feedback."""
    reason = (reason or "").strip()
    if not reason:
        raise PortalError("Give the reason the author will see.", field="reason")
    if len(reason) > 500:
        raise PortalError("Keep the reason under 500 characters.", field="reason")
    comment.hide(reason)
    resolved = _resolve_flags(comment, "hidden", now or now_utc())
    db.session.flush()
    audit.record(actor, "comment.hide", comment,
                 {"reason": reason, "flags_resolved": resolved})


def restore_comment(actor: User, comment: Comment, now: datetime | None = None) -> None:
    comment.restore()
    resolved = _resolve_flags(comment, "restored", now or now_utc())
    db.session.flush()
    audit.record(actor, "comment.restore", comment, {"flags_resolved": resolved})


def dismiss_flags(actor: User, comment: Comment, now: datetime | None = None) -> None:
    """The flags were unfounded: clear them, and show the comment again if they hid it."""
    if comment.flag_count == 0:
        raise Conflict("This comment has no open flags.")
    if comment.status == CommentStatus.PENDING_REVIEW:
        comment.restore()
    resolved = _resolve_flags(comment, "dismissed", now or now_utc())
    db.session.flush()
    audit.record(actor, "comment.flags_dismissed", comment, {"flags_resolved": resolved})


@dataclass
class QueueItem:
    comment: Comment
    flags: list[CommentFlag]


def queue(view: str = "open") -> list[QueueItem]:
    """Comments waiting for a moderator (open flags or pending review), or hidden ones.

    Three queries whatever the length of the queue.
    """
    if view == "hidden":
        where = Comment.status == CommentStatus.HIDDEN.value
    else:
        where = sa.or_(Comment.status == CommentStatus.PENDING_REVIEW.value,
                       sa.and_(Comment.flag_count > 0,
                               Comment.status != CommentStatus.DELETED.value))
    comments = list(db.session.scalars(
        sa.select(Comment).options(joinedload(Comment.author), joinedload(Comment.objective))
        .where(where)
        .order_by((Comment.status == CommentStatus.PENDING_REVIEW.value).desc(),
                  Comment.flag_count.desc(), Comment.created_at)
        .limit(QUEUE_PAGE)))
    flags: dict[int, list[CommentFlag]] = {c.id: [] for c in comments}
    if comments:
        for f in db.session.scalars(sa.select(CommentFlag).where(
                CommentFlag.comment_id.in_(list(flags)), CommentFlag.resolved_at.is_(None))
                .order_by(CommentFlag.created_at)):
            flags[f.comment_id].append(f)
    return [QueueItem(c, flags[c.id]) for c in comments]


def comment_detail(comment_id: int) -> tuple[Comment, list[CommentVersion], list[CommentFlag]]:
    comment = db.session.scalar(
        sa.select(Comment).options(joinedload(Comment.author),
                                   joinedload(Comment.objective).joinedload(Objective.domain))
        .where(Comment.id == comment_id))
    if comment is None:
        raise NotFound("That comment does not exist.")
    versions = list(db.session.scalars(sa.select(CommentVersion).where(
        CommentVersion.comment_id == comment.id).order_by(CommentVersion.created_at.desc(),
                                                          CommentVersion.id.desc())))
    flags = list(db.session.scalars(
        sa.select(CommentFlag).where(CommentFlag.comment_id == comment.id)
        .order_by(CommentFlag.created_at.desc())))
    return comment, versions, flags
