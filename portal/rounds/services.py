"""Feedback rounds: scheduling, opening and closing.

Rounds open and close at their times without a background worker: `sync_rounds`
runs whenever a request that needs the current round finds a round due to change
(`current_round` costs one SELECT when nothing is due), and it is race-safe: each
change is a conditional UPDATE in its own short transaction, and a partial unique
index allows one open round only.
"""

from __future__ import annotations

import json
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from portal import audit
from portal.errors import Conflict, NotFound, PortalError
from portal.extensions import db
from portal.models import AuditEvent, FeedbackRound, RoundStatus, User
from portal.timeutil import now_utc

_rounds = FeedbackRound.__table__
_OPEN = RoundStatus.OPEN.value
_DRAFT = RoundStatus.DRAFT.value
_CLOSED = RoundStatus.CLOSED.value


def _system_audit(conn, action: str, round_id: int, name: str) -> None:
    conn.execute(sa.insert(AuditEvent.__table__).values(
        created_at=now_utc(), actor_id=None, actor_label="system", action=action,
        target_type="feedback_rounds", target_id=str(round_id),
        detail=json.dumps({"name": name, "reason": "scheduled time reached"})))


def sync_rounds(now: datetime | None = None) -> bool:
    """Close open rounds whose closing time has passed and open the draft round that is due.

    Returns True when something changed. Safe to run from many requests at once:
    only the request whose UPDATE matched a row writes the audit row.
    """
    now = now or now_utc()
    due = db.session.execute(
        sa.select(_rounds.c.id, _rounds.c.name, _rounds.c.status, _rounds.c.opens_at)
        .where(sa.or_(
            sa.and_(_rounds.c.status == _OPEN, _rounds.c.closes_at <= now),
            sa.and_(_rounds.c.status == _DRAFT, _rounds.c.opens_at <= now,
                    _rounds.c.closes_at > now),
        ))
        .order_by(_rounds.c.opens_at.desc())
    ).all()
    if not due:
        return False
    changed = False
    with db.engine.begin() as conn:
        for row in due:
            if row.status != _OPEN:
                continue
            res = conn.execute(
                sa.update(_rounds)
                .where(_rounds.c.id == row.id, _rounds.c.status == _OPEN,
                       _rounds.c.closes_at <= now)
                .values(status=_CLOSED, closed_at=_rounds.c.closes_at, updated_at=now))
            if res.rowcount:
                _system_audit(conn, "round.closed", row.id, row.name)
                changed = True
    drafts = [row for row in due if row.status == _DRAFT]
    if drafts:
        # The latest-starting due draft wins; the others stay drafts for an admin.
        row = drafts[0]
        other = _rounds.alias("other_round")
        other_open = sa.select(other.c.id).where(other.c.status == _OPEN)
        try:
            with db.engine.begin() as conn:
                res = conn.execute(
                    sa.update(_rounds)
                    .where(_rounds.c.id == row.id, _rounds.c.status == _DRAFT,
                           ~sa.exists(other_open))
                    .values(status=_OPEN, opened_at=_rounds.c.opens_at, updated_at=now))
                if res.rowcount:
                    _system_audit(conn, "round.opened", row.id, row.name)
                    changed = True
        except IntegrityError:
            pass  # another request opened a round at the same moment: that one stands
    if changed:
        db.session.expire_all()
    return changed


def current_round(now: datetime | None = None) -> FeedbackRound | None:
    """The open round after bringing the schedule up to date, or None.

    Most pages need it, so the usual case is one query: the open round together with
    any draft due to open. Only when one of them is due to change does it go through
    `sync_rounds` and look again.
    """
    now = now or now_utc()
    candidates = db.session.scalars(sa.select(FeedbackRound).where(sa.or_(
        FeedbackRound.status == _OPEN,
        sa.and_(FeedbackRound.status == _DRAFT, FeedbackRound.opens_at <= now,
                FeedbackRound.closes_at > now)))).all()
    if any(r.status == _DRAFT or r.closes_at <= now for r in candidates):
        sync_rounds(now)
        return db.session.scalar(sa.select(FeedbackRound).where(FeedbackRound.status == _OPEN))
    return candidates[0] if candidates else None


def next_round(now: datetime | None = None) -> FeedbackRound | None:
    """The next scheduled draft round that has not started yet."""
    now = now or now_utc()
    return db.session.scalar(
        sa.select(FeedbackRound)
        .where(FeedbackRound.status == _DRAFT, FeedbackRound.opens_at > now)
        .order_by(FeedbackRound.opens_at).limit(1))


def list_rounds() -> list[FeedbackRound]:
    return list(db.session.scalars(
        sa.select(FeedbackRound).order_by(FeedbackRound.opens_at.desc())))


def get_round(round_id: int) -> FeedbackRound:
    rnd = db.session.get(FeedbackRound, round_id)
    if rnd is None:
        raise NotFound("There is no such feedback round.")
    return rnd


def create_round(actor: User, name: str, description: str, opens_at: datetime,
                 closes_at: datetime, now: datetime | None = None) -> FeedbackRound:
    """Schedule a round. Windows of rounds not yet closed may not overlap."""
    now = now or now_utc()
    name = name.strip()
    if closes_at <= opens_at:
        raise PortalError("The closing time must be after the opening time.", field="closes_at")
    if closes_at <= now:
        raise PortalError("The closing time must be in the future.", field="closes_at")
    if db.session.scalar(sa.select(FeedbackRound.id).where(
            sa.func.lower(FeedbackRound.name) == name.lower())):
        raise Conflict("A round with this name already exists.", field="name")
    clash = db.session.scalar(
        sa.select(FeedbackRound).where(
            FeedbackRound.status != _CLOSED,
            FeedbackRound.opens_at < closes_at, FeedbackRound.closes_at > opens_at)
        .limit(1))
    if clash is not None:
        raise Conflict(f"These times overlap round '{clash.name}'. Only one round can be "
                       "open at a time.", field="opens_at")
    rnd = FeedbackRound(name=name, description=description.strip(), opens_at=opens_at,
                        closes_at=closes_at)
    db.session.add(rnd)
    db.session.flush()
    audit.record(actor, "round.create", rnd, {"name": name, "opens_at": opens_at.isoformat(),
                                             "closes_at": closes_at.isoformat()})
    return rnd


def open_round(actor: User, rnd: FeedbackRound, now: datetime | None = None) -> None:
    """Open a draft round now (before its scheduled time if need be)."""
    now = now or now_utc()
    sync_rounds(now)
    db.session.refresh(rnd)
    if rnd.closes_at <= now:
        raise Conflict(f"Round '{rnd.name}' cannot open: its closing time has passed.")
    other = db.session.scalar(sa.select(FeedbackRound).where(
        FeedbackRound.status == _OPEN, FeedbackRound.id != rnd.id))
    if other is not None:
        raise Conflict(f"Round '{other.name}' is open. Close it before opening another.")
    rnd.open(now)
    try:
        db.session.flush()
    except IntegrityError:
        db.session.rollback()
        raise Conflict("Another round was opened at the same moment. Reload the page.")
    audit.record(actor, "round.open", rnd, {"name": rnd.name})


def close_round(actor: User, rnd: FeedbackRound, now: datetime | None = None) -> None:
    """Close an open round now (before its scheduled time if need be)."""
    now = now or now_utc()
    sync_rounds(now)
    db.session.refresh(rnd)
    rnd.close(now)
    db.session.flush()
    audit.record(actor, "round.close", rnd, {"name": rnd.name})
