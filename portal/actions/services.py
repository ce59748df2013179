"""Creating and changing actions and their notes. Each change leaves one audit row."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from urllib.parse import urlsplit

import sqlalchemy as sa

from portal import audit
from portal.errors import PortalError
from portal.extensions import db
from portal.feedback import notify
from portal.models import (
    Action,
    ActionNote,
    ActionStatus,
    FindingKind,
    Objective,
    Role,
    User,
)

MAX_TITLE = 200
MAX_DETAIL = 5000
MAX_NOTE = 5000
MAX_FINDING_NOTE = 500
MAX_FINDING_URL = 500
# Evidence lives on the leadership pages; a link anywhere else is refused.
FINDING_PREFIXES = ("/reports/",)
# Fields a leader edits; changes to them are listed in the audit row.
EDITABLE = ("title", "detail", "owner_id", "due_on", "status", "progress", "finding_kind",
            "finding_note", "finding_url", "published")


@dataclass
class ActionInput:
    title: str = ""
    detail: str = ""
    owner_id: int | None = None
    due_on: date | None = None
    status: str = ActionStatus.PLANNED.value
    progress: int = 0
    finding_kind: str = FindingKind.OTHER.value
    finding_note: str = ""
    finding_url: str = ""
    published: bool = False


def owners() -> list[User]:
    """Who can own an action: active leadership and admin accounts, by name."""
    return list(db.session.scalars(
        sa.select(User).where(User.active.is_(True),
                              User.role.in_([Role.LEADER.value, Role.ADMIN.value]))
        .order_by(User.display_name, User.id)))


def clean_finding_url(url: str) -> str:
    """A path on the leadership pages (with its query), or '' — never another site."""
    url = (url or "").strip()
    if not url:
        return ""
    parts = urlsplit(url)
    if (parts.scheme or parts.netloc or url.startswith("//") or "\\" in url
            or not parts.path.startswith(FINDING_PREFIXES)):
        raise PortalError("Link to a page of the leadership reports, such as "
                          "/reports/objectives/A1, or leave the link empty.",
                          field="finding_url")
    if len(url) > MAX_FINDING_URL:
        raise PortalError(f"Keep the link under {MAX_FINDING_URL} characters.",
                          field="finding_url")
    return url


def _check(data: ActionInput) -> ActionInput:
    """The checks the form cannot make alone (or that a caller without the form needs):
    the first problem is raised as a PortalError naming its field."""
    data.title = (data.title or "").strip()
    data.detail = (data.detail or "").strip()
    data.finding_note = (data.finding_note or "").strip()
    if not data.title:
        raise PortalError("Enter a short title for the action.", field="title")
    if len(data.title) > MAX_TITLE:
        raise PortalError(f"Keep the title under {MAX_TITLE} characters.", field="title")
    if len(data.detail) > MAX_DETAIL:
        raise PortalError(f"Keep the description under {MAX_DETAIL:,} characters.",
                          field="detail")
    if len(data.finding_note) > MAX_FINDING_NOTE:
        raise PortalError(f"Keep what was found under {MAX_FINDING_NOTE} characters.",
                          field="finding_note")
    if data.due_on is None:
        raise PortalError("Enter the date the action is due.", field="due_on")
    if data.status not in {s.value for s in ActionStatus}:
        raise PortalError("Choose a status.", field="status")
    if data.finding_kind not in {k.value for k in FindingKind}:
        raise PortalError("Choose what prompted the action.", field="finding_kind")
    if data.progress is None or not 0 <= data.progress <= 100:
        raise PortalError("Progress is a whole number from 0 to 100.", field="progress")
    if data.owner_id is not None:
        owner = db.session.get(User, data.owner_id)
        if owner is None or not owner.active or owner.role not in (Role.LEADER.value,
                                                                   Role.ADMIN.value):
            raise PortalError("Choose an owner from leadership or the admins.",
                              field="owner_id")
    data.finding_url = clean_finding_url(data.finding_url)
    return data


def create_action(actor: User, objective: Objective, data: ActionInput) -> Action:
    if objective.retired_at is not None:
        raise PortalError("This objective has been retired; it takes no new actions.",
                          field="title")
    data = _check(data)
    action = Action(objective_id=objective.id, created_by_id=actor.id,
                    **{name: getattr(data, name) for name in EDITABLE})
    db.session.add(action)
    db.session.flush()
    if action.published:
        notify.event(f"action:{action.id}")
    audit.record(actor, "action.create", action, {
        "objective": objective.code, "status": action.status, "due_on": str(action.due_on),
        "owner_id": action.owner_id, "published": action.published})
    return action


def update_action(actor: User, action: Action, data: ActionInput) -> dict[str, list]:
    """Apply an edit; return (and audit) what changed as {field: [before, after]}."""
    data = _check(data)
    changed: dict[str, list] = {}
    for name in EDITABLE:
        before, after = getattr(action, name), getattr(data, name)
        if before != after:
            changed[name] = [_plain(before), _plain(after)]
            setattr(action, name, after)
    if changed:
        db.session.flush()
        if "published" in changed and action.published:
            notify.event(f"action:{action.id}")
        audit.record(actor, "action.update", action,
                     {"objective": action.objective.code, "changed": _audit_view(changed)})
    return changed


def add_note(actor: User, action: Action, body: str, status: str | None,
             progress: int | None) -> ActionNote:
    """A progress note; a new status or progress in it moves the action too."""
    body = (body or "").strip()
    status = status or None
    if status is not None and status not in {s.value for s in ActionStatus}:
        raise PortalError("Choose a status.", field="status")
    if progress is not None and not 0 <= progress <= 100:
        raise PortalError("Progress is a whole number from 0 to 100.", field="progress")
    if len(body) > MAX_NOTE:
        raise PortalError(f"Keep the note under {MAX_NOTE:,} characters.", field="body")
    status = status if status != action.status else None
    progress = progress if progress != action.progress else None
    if not body and status is None and progress is None:
        raise PortalError("Write a note, or change the status or the progress.", field="body")
    if status == ActionStatus.DONE.value and progress is None and action.progress != 100:
        progress = 100
    note = ActionNote(action_id=action.id, author_id=actor.id, body=body, status=status,
                      progress=progress)
    db.session.add(note)
    if status is not None:
        action.status = status
    if progress is not None:
        action.progress = progress
    db.session.flush()
    audit.record(actor, "action.note", action, {
        "objective": action.objective.code, "note": note.id, "status": status,
        "progress": progress})
    return note


def _plain(value):
    return value.isoformat() if isinstance(value, date) else value


def _audit_view(changed: dict[str, list]) -> dict[str, list]:
    """Long texts are named in the audit row, not copied into it."""
    return {name: (["…", "…"] if name in ("detail", "finding_note") else values)
            for name, values in changed.items()}

