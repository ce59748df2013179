"""Reading actions: the filtered list, the overdue view, the per-domain roll-up and the
published actions members see. A fixed number of queries whatever the number of actions."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

import sqlalchemy as sa
from sqlalchemy.orm import joinedload, selectinload

from portal.extensions import db
from portal.models import (
    CLOSED_STATUSES,
    Action,
    ActionNote,
    ActionStatus,
    Domain,
    Objective,
)

VIEWS = {"open": "Open actions", "overdue": "Overdue", "mine": "Owned by me",
         "all": "All actions"}
_CLOSED = [s.value for s in CLOSED_STATUSES]


def get_action(action_id: int) -> Action | None:
    return db.session.scalar(
        sa.select(Action).options(
            joinedload(Action.objective).joinedload(Objective.domain),
            joinedload(Action.owner),
            selectinload(Action.notes).joinedload(ActionNote.author))
        .where(Action.id == action_id))


def list_actions(view: str, today: date, *, user_id: int | None = None,
                 domain_id: int | None = None, objective_id: int | None = None
                 ) -> list[Action]:
    """Actions of one view, the soonest due first (plan order among equals)."""
    stmt = (sa.select(Action).join(Action.objective).join(Objective.domain)
            .options(joinedload(Action.objective).joinedload(Objective.domain),
                     joinedload(Action.owner))
            .order_by(Action.due_on, Domain.position, Objective.position, Action.id))
    if view == "open":
        stmt = stmt.where(Action.status.not_in(_CLOSED))
    elif view == "overdue":
        stmt = stmt.where(Action.status.not_in(_CLOSED), Action.due_on < today)
    elif view == "mine":
        stmt = stmt.where(Action.owner_id == user_id)
    if domain_id is not None:
        stmt = stmt.where(Objective.domain_id == domain_id)
    if objective_id is not None:
        stmt = stmt.where(Action.objective_id == objective_id)
    return list(db.session.scalars(stmt))


@dataclass
class DomainRollup:
    domain: Domain
    objectives: int = 0
    with_actions: int = 0
    total: int = 0
    by_status: dict[str, int] = field(default_factory=dict)
    overdue: int = 0
    progress_sum: int = 0

    @property
    def open(self) -> int:
        return sum(n for s, n in self.by_status.items() if s not in _CLOSED)

    @property
    def mean_progress(self) -> int | None:
        return round(self.progress_sum / self.total) if self.total else None

    @property
    def without_actions(self) -> int:
        return self.objectives - self.with_actions


def rollup(today: date) -> list[DomainRollup]:
    """Per domain of the plan: actions by status, overdue, mean progress, and how many
    active objectives have no action at all. Two queries."""
    domains = list(db.session.scalars(
        sa.select(Domain).where(Domain.retired_at.is_(None)).order_by(Domain.position)))
    rows = {d.id: DomainRollup(domain=d) for d in domains}
    counts = db.session.execute(
        sa.select(Objective.domain_id, sa.func.count(Objective.id))
        .where(Objective.retired_at.is_(None)).group_by(Objective.domain_id))
    for domain_id, n in counts:
        if domain_id in rows:
            rows[domain_id].objectives = n
    overdue = sa.case((sa.and_(Action.status.not_in(_CLOSED), Action.due_on < today), 1),
                      else_=0)
    stats = db.session.execute(
        sa.select(Objective.domain_id, Action.objective_id, Action.status,
                  sa.func.count(Action.id), sa.func.sum(overdue), sa.func.sum(Action.progress))
        .join(Action.objective)
        .where(Objective.retired_at.is_(None))
        .group_by(Objective.domain_id, Action.objective_id, Action.status))
    seen: dict[int, set[int]] = {}
    for domain_id, objective_id, status, n, late, progress in stats:
        row = rows.get(domain_id)
        if row is None:
            continue
        seen.setdefault(domain_id, set()).add(objective_id)
        row.total += n
        row.by_status[status] = row.by_status.get(status, 0) + n
        row.overdue += int(late or 0)
        row.progress_sum += int(progress or 0)
    for domain_id, objectives in seen.items():
        rows[domain_id].with_actions = len(objectives)
    return list(rows.values())


def published_for(objective: Objective) -> list[Action]:
    """What members read under "What leadership is doing": the published actions, the
    open ones first, then by due date."""
    closed_last = sa.case((Action.status.in_(_CLOSED), 1), else_=0)
    return list(db.session.scalars(
        sa.select(Action).where(Action.objective_id == objective.id,
                                Action.published.is_(True),
                                Action.status != ActionStatus.DROPPED.value)
        .order_by(closed_last, Action.due_on, Action.id)))


def doing_text(actions: list[Action], labels: dict) -> str:
    """A Markdown draft of "What we are doing" from the published actions."""
    lines = []
    for a in actions:
        lines.append(f"- {a.title} ({labels.get(a.status, a.status)}, {a.progress}% done, "
                     f"due {a.due_on:%-d %B %Y})")
    return "\n".join(lines)
