"""Exporters and deletion hooks for member feedback (ratings, comments, endorsements,
flags: see portal.feedback.services), surveys and the audit log. Registered on the app by
the account blueprint; other areas add theirs the same way (see export.py)."""

from __future__ import annotations

import sqlalchemy as sa
from flask import Flask

from portal.account.export import register_deletion_hook, register_exporter
from portal.extensions import db
from portal.feedback.activity import export_member_activity
from portal.feedback.services import anonymise_member_feedback, export_member_feedback
from portal.models import AuditEvent, Invitation, User
from portal.surveys.services import export_member_surveys


def anonymise_audit(user: User) -> None:
    # The log keeps what happened, but no longer names the person.
    db.session.execute(sa.update(AuditEvent).where(AuditEvent.actor_id == user.id)
                       .values(actor_id=None, actor_label=f"deleted account #{user.id}"))
    db.session.execute(sa.update(AuditEvent).where(AuditEvent.detail.contains(user.email))
                       .values(detail=sa.func.replace(AuditEvent.detail, user.email,
                                                      "[deleted address]")))
    db.session.execute(sa.delete(Invitation).where(Invitation.email == user.email))


def register(app: Flask) -> None:
    register_exporter("feedback", export_member_feedback, app=app)
    # Survey participations, drafts and attributions go with the user row (ON DELETE
    # CASCADE); anonymous responses never pointed to the member in the first place.
    register_exporter("surveys", export_member_surveys, app=app)
    # My activity's choices, digests and notices go with the user row (ON DELETE CASCADE).
    register_exporter("activity", export_member_activity, app=app)
    register_deletion_hook("feedback", anonymise_member_feedback, app=app)
    register_deletion_hook("audit", anonymise_audit, app=app)
