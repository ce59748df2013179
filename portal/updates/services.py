"""Publishing leadership updates. Each publication leaves an audit row."""

from __future__ import annotations

from datetime import datetime

from portal import audit
from portal.errors import PortalError
from portal.extensions import db
from portal.feedback import notify
from portal.models import Objective, ObjectiveUpdate, UpdateStatus, User
from portal.timeutil import now_utc

MAX_TEXT = 10000


def publish_update(author: User, objective: Objective, status: str, progress: int,
                   heard: str, doing: str, now: datetime | None = None) -> ObjectiveUpdate:
    """Publish a dated update on an objective; earlier updates stay as its history."""
    if status not in {s.value for s in UpdateStatus}:
        raise PortalError("Choose a status.", field="status")
    if progress is None or not 0 <= progress <= 100:
        raise PortalError("Progress is a whole number from 0 to 100.", field="progress")
    heard, doing = (heard or "").strip(), (doing or "").strip()
    if not heard and not doing:
        raise PortalError("Write what you heard, what you are doing, or both.", field="heard")
    for name, text in (("heard", heard), ("doing", doing)):
        if len(text) > MAX_TEXT:
            raise PortalError("Keep each part under 10,000 characters.", field=name)
    if objective.retired_at is not None:
        raise PortalError("This objective has been retired.", field="status")
    update = ObjectiveUpdate(objective_id=objective.id, author_id=author.id, status=status,
                             progress=progress, heard=heard, doing=doing,
                             published_at=now or now_utc())
    db.session.add(update)
    db.session.flush()
    notify.event(f"update:{update.id}")
    audit.record(author, "objective_update.publish", update,
                 {"objective": objective.code, "status": status, "progress": progress})
    return update
