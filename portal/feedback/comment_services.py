"""Writing comments and replies, editing, deleting, endorsing and flagging them.

Endorsement and flag counts on the comment are changed by the same transaction
that adds the endorsement or flag, with atomic SQL increments.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import sqlalchemy as sa

from portal.errors import Conflict, Forbidden, NotFound, PortalError
from portal.extensions import db
from portal.feedback import notify
from portal.feedback.sqlutil import insert_ignore
from portal.models import (
    Comment,
    CommentFlag,
    CommentStatus,
    CommentVersion,
    Endorsement,
    FeedbackRound,
    FlagReason,
    Objective,
    User,
)
from portal.timeutil import now_utc

MAX_BODY = 5000
MAX_NOTE = 500
# The same text sent again by the same member to the same place within this window
# is the same comment: a double click, or a retry after the answer was lost.
RESEND_WINDOW = timedelta(minutes=10)
_c = Comment.__table__.c


def get_comment(comment_id: int) -> Comment:
    comment = db.session.get(Comment, comment_id)
    if comment is None:
        raise NotFound("That comment does not exist.")
    return comment


def clean_body(body: str | None) -> str:
    text = (body or "").replace("\r\n", "\n").strip()
    if not text:
        raise PortalError("Write your comment before sending it.", field="body")
    if len(text) > MAX_BODY:
        raise PortalError(f"A comment can be at most 5,000 characters long; yours has "
                          f"{len(text):,}.", field="body")
    return text


def post_comment(user: User, objective: Objective, body: str, show_name: bool = True,
                 parent: Comment | None = None, rnd: FeedbackRound | None = None) -> Comment:
    """A comment on an objective, or a reply to a top-level comment (one level deep)."""
    text = clean_body(body)
    if objective.retired_at is not None:
        raise PortalError("This objective has been retired; it no longer takes comments.",
                          field="body")
    if parent is not None:
        if parent.objective_id != objective.id:
            raise PortalError("That comment belongs to another objective.", field="body")
        if parent.parent_id is not None:
            raise PortalError("Replies go one level deep: reply to the original comment "
                              "instead.", field="body")
        if parent.status != CommentStatus.VISIBLE:
            raise Conflict("You can only reply to a comment that is shown.", field="body")
    _serialise_member_posts(user, objective)
    comment = Comment(objective_id=objective.id, round_id=rnd.id if rnd else None,
                      user_id=user.id, parent_id=parent.id if parent else None, body=text,
                      show_name=show_name,
                      **user.segment_values())
    db.session.add(comment)
    db.session.flush()
    earlier = _earlier_twin(comment)
    if earlier is not None:
        db.session.delete(comment)
        db.session.flush()
        return earlier
    if parent is not None:
        notify.event(f"reply:{comment.id}")  # queued with the reply, in its transaction
    return comment


def _serialise_member_posts(user: User, objective: Objective) -> None:
    """One member's posts on one objective go one at a time, so two copies of the same
    text sent at the same instant cannot both miss each other. PostgreSQL: an advisory
    lock held until the transaction ends. SQLite needs none: the insert before the
    twin look-up takes the database's single write lock."""
    if db.session.get_bind().dialect.name == "postgresql":
        db.session.execute(sa.select(sa.func.pg_advisory_xact_lock(
            sa.literal(user.id, sa.Integer), sa.literal(objective.id, sa.Integer))))


def _earlier_twin(comment: Comment) -> Comment | None:
    """The same member's comment with the same text in the same place, sent within
    RESEND_WINDOW before this one and still shown (the resent copy is dropped)."""
    return db.session.scalar(
        sa.select(Comment).where(
            Comment.id < comment.id, Comment.user_id == comment.user_id,
            Comment.objective_id == comment.objective_id,
            Comment.parent_id.is_(None) if comment.parent_id is None
            else Comment.parent_id == comment.parent_id,
            Comment.body == comment.body, Comment.created_at >= now_utc() - RESEND_WINDOW,
            Comment.status != CommentStatus.DELETED.value)
        .order_by(Comment.id).limit(1))


def _own(user: User, comment: Comment, verb: str) -> None:
    if comment.user_id is None or comment.user_id != user.id:
        raise Forbidden(f"You can only {verb} your own comments.")


def edit_comment(user: User, comment: Comment, body: str, now: datetime | None = None) -> bool:
    """Change the text; the earlier text is kept as a version. False if nothing changed."""
    _own(user, comment, "edit")
    if comment.status == CommentStatus.DELETED:
        raise Conflict("This comment has been deleted and cannot be edited.")
    if comment.status == CommentStatus.HIDDEN:
        raise Conflict("A moderator has hidden this comment, so it cannot be edited.")
    text = clean_body(body)
    if text == comment.body:
        return False
    now = now or now_utc()
    db.session.add(CommentVersion(comment_id=comment.id, body=comment.body,
                                  created_at=comment.edited_at or comment.created_at))
    comment.body = text
    comment.edited_at = now
    db.session.flush()
    return True


def delete_comment(user: User, comment: Comment, now: datetime | None = None) -> None:
    """The author removes the comment; replies stay readable under a placeholder."""
    _own(user, comment, "delete")
    comment.remove_by_author(now)
    db.session.flush()


def endorse(user: User, comment: Comment, now: datetime | None = None) -> None:
    if comment.user_id == user.id:
        raise PortalError("You cannot endorse your own comment.")
    if comment.status != CommentStatus.VISIBLE:
        raise Conflict("Only comments that are shown can be endorsed.")
    inserted = insert_ignore(Endorsement.__table__,
                             {"user_id": user.id, "comment_id": comment.id,
                              "created_at": now or now_utc()}, ["user_id", "comment_id"])
    if not inserted:
        raise Conflict("You have already endorsed this comment.")
    db.session.execute(sa.update(Comment.__table__).where(_c.id == comment.id)
                       .values(endorsement_count=_c.endorsement_count + 1))
    db.session.expire(comment)


def has_endorsed(user: User, comment_id: int) -> bool:
    return db.session.scalar(sa.select(sa.exists().where(
        Endorsement.user_id == user.id, Endorsement.comment_id == comment_id))) or False


def withdraw_endorsement(user: User, comment: Comment) -> None:
    res = db.session.execute(sa.delete(Endorsement.__table__).where(
        Endorsement.__table__.c.user_id == user.id,
        Endorsement.__table__.c.comment_id == comment.id))
    if res.rowcount == 0:
        raise Conflict("You have not endorsed this comment.")
    db.session.execute(sa.update(Comment.__table__).where(_c.id == comment.id)
                       .values(endorsement_count=_c.endorsement_count - 1))
    db.session.expire(comment)


def flag_comment(user: User, comment: Comment, reason: str, note: str | None,
                 threshold: int, now: datetime | None = None) -> bool:
    """Flag a comment for moderators, once per member. Returns True if the comment
    is now hidden pending review (it reached `threshold` open flags)."""
    if reason not in {r.value for r in FlagReason}:
        raise PortalError("Choose why you are flagging this comment.", field="reason")
    note = (note or "").strip() or None
    if reason == FlagReason.OTHER and not note:
        raise PortalError("Tell the moderators what is wrong with this comment.", field="note")
    if note and len(note) > MAX_NOTE:
        raise PortalError("Keep the explanation under 500 characters.", field="note")
    if comment.user_id == user.id:
        raise PortalError("You cannot flag your own comment.", field="reason")
    if comment.status in (CommentStatus.DELETED, CommentStatus.HIDDEN):
        raise Conflict("This comment is no longer shown.", field="reason")
    inserted = insert_ignore(CommentFlag.__table__,
                             {"user_id": user.id, "comment_id": comment.id, "reason": reason,
                              "note": note, "created_at": now or now_utc()},
                             ["user_id", "comment_id"])
    if not inserted:
        raise Conflict("You have already flagged this comment.", field="reason")
    db.session.execute(
        sa.update(Comment.__table__).where(_c.id == comment.id).values(
            flag_count=_c.flag_count + 1,
            status=sa.case((sa.and_(_c.status == CommentStatus.VISIBLE.value,
                                    _c.flag_count + 1 >= threshold),
                            CommentStatus.PENDING_REVIEW.value), else_=_c.status)))
    db.session.expire(comment)
    return comment.status == CommentStatus.PENDING_REVIEW
