"""Exporters and deletion hooks for the tables that exist from the start: ratings,
comments (with endorsements and flags) and the audit log. Registered on the app by
the account blueprint; other areas add theirs the same way (see export.py)."""

from __future__ import annotations

import sqlalchemy as sa
from flask import Flask

from portal.account.export import register_deletion_hook, register_exporter
from portal.extensions import db
from portal.models import (
    AuditEvent,
    Comment,
    CommentFlag,
    Endorsement,
    FeedbackRound,
    Invitation,
    Objective,
    ObjectiveUpdate,
    Rating,
    User,
)


def _iso(value):
    return value.isoformat() + "Z" if value else None


def export_ratings(user: User) -> list[dict]:
    rows = db.session.execute(
        sa.select(Rating, Objective.code, FeedbackRound.name)
        .join(Objective, Rating.objective_id == Objective.id)
        .join(FeedbackRound, Rating.round_id == FeedbackRound.id)
        .where(Rating.user_id == user.id)
        .order_by(FeedbackRound.id, Objective.code))
    return [{"round": round_name, "objective": code, "importance": r.importance,
             "performance": r.performance, "rated_at": _iso(r.updated_at)}
            for r, code, round_name in rows]


def export_comments(user: User) -> list[dict]:
    rows = db.session.execute(
        sa.select(Comment, Objective.code).join(Objective, Comment.objective_id == Objective.id)
        .where(Comment.user_id == user.id).order_by(Comment.created_at, Comment.id))
    return [{"id": c.id, "objective": code, "reply_to": c.parent_id, "body": c.body,
             "show_name": c.show_name, "status": c.status, "created_at": _iso(c.created_at),
             "edited_at": _iso(c.edited_at)}
            for c, code in rows]


def anonymise_ratings(user: User) -> None:
    # The row and its copied segment values stay, so every count stays the same.
    db.session.execute(sa.update(Rating).where(Rating.user_id == user.id).values(user_id=None))


def anonymise_comments(user: User) -> None:
    # Texts stay (threads keep making sense, counts and themes stay intact) but no
    # longer lead to the member: pages show them as written by "A former member".
    db.session.execute(sa.update(Comment).where(Comment.user_id == user.id)
                       .values(user_id=None, show_name=False))
    for model in (Endorsement, CommentFlag):
        db.session.execute(sa.update(model).where(model.user_id == user.id)
                           .values(user_id=None))
    db.session.execute(sa.update(ObjectiveUpdate).where(ObjectiveUpdate.author_id == user.id)
                       .values(author_id=None))


def anonymise_audit(user: User) -> None:
    # The log keeps what happened, but no longer names the person.
    db.session.execute(sa.update(AuditEvent).where(AuditEvent.actor_id == user.id)
                       .values(actor_id=None, actor_label=f"deleted account #{user.id}"))
    db.session.execute(sa.update(AuditEvent).where(AuditEvent.detail.contains(user.email))
                       .values(detail=sa.func.replace(AuditEvent.detail, user.email,
                                                      "[deleted address]")))
    db.session.execute(sa.delete(Invitation).where(Invitation.email == user.email))


def register(app: Flask) -> None:
    register_exporter("ratings", export_ratings, app=app)
    register_exporter("comments", export_comments, app=app)
    register_deletion_hook("ratings", anonymise_ratings, app=app)
    register_deletion_hook("comments", anonymise_comments, app=app)
    register_deletion_hook("audit", anonymise_audit, app=app)
