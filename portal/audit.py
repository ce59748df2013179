"""Recording audit events. Every admin action calls `record` in its service."""

from __future__ import annotations

import json
import logging
from typing import Any

from portal.extensions import db
from portal.models import AuditEvent, User

log = logging.getLogger("portal.audit")


def record(actor: User | None, action: str, target: Any = None, detail: dict | str | None = None
           ) -> AuditEvent:
    """Add an audit row (flushed with the caller's transaction) and log one line.

    `target` is a model instance (its table and id are stored) or a (type, id) pair.
    Never pass passwords, tokens or anything that links a member to an anonymous answer.
    """
    target_type = target_id = None
    if isinstance(target, tuple):
        target_type, target_id = target
    elif target is not None:
        target_type = getattr(target, "__tablename__", type(target).__name__)
        target_id = getattr(target, "id", None)
    text = json.dumps(detail, ensure_ascii=False, sort_keys=True) if isinstance(detail, dict) \
        else detail
    event = AuditEvent(
        actor_id=actor.id if actor is not None else None,
        actor_label=actor.email if actor is not None else "system",
        action=action,
        target_type=target_type,
        target_id=str(target_id) if target_id is not None else None,
        detail=text,
    )
    db.session.add(event)
    log.info("audit action=%s actor=%s target=%s:%s", action,
             actor.id if actor is not None else "system", target_type or "-", target_id or "-")
    return event
