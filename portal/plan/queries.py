"""Read models for the plan pages: whole plan in a fixed, small number of queries."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import contains_eager, joinedload, selectinload

from portal.extensions import db
from portal.models import Domain, Objective, Plan


def load_plan_overview() -> Plan | None:
    """The plan with values, domains and objectives loaded (four queries)."""
    return db.session.scalar(
        sa.select(Plan)
        .options(
            selectinload(Plan.values),
            selectinload(Plan.domains).selectinload(Domain.objectives),
        )
        .order_by(Plan.id)
        .limit(1)
    )


def get_domain(code: str) -> Domain | None:
    return db.session.scalar(
        sa.select(Domain).options(selectinload(Domain.objectives)).where(Domain.code == code)
    )


def get_objective(code: str) -> Objective | None:
    """The objective with its domain (every objective page names its domain)."""
    return db.session.scalar(sa.select(Objective).options(joinedload(Objective.domain))
                             .where(Objective.code == code))


def ordered_objectives(include_retired: bool = False) -> list[Objective]:
    """Objectives in plan order (domain position, then objective position)."""
    # The domain comes in the same query: pages group objectives by domain.
    stmt = (sa.select(Objective).join(Objective.domain).options(contains_eager(Objective.domain))
            .order_by(Domain.position, Objective.position))
    if not include_retired:
        stmt = stmt.where(Objective.retired_at.is_(None), Domain.retired_at.is_(None))
    return list(db.session.scalars(stmt))


def neighbours(objective: Objective, ordered: list[Objective] | None = None
               ) -> tuple[Objective | None, Objective | None]:
    """The previous and next active objectives in plan order."""
    ordered = ordered if ordered is not None else ordered_objectives()
    codes = [o.code for o in ordered]
    if objective.code not in codes:
        return None, None
    i = codes.index(objective.code)
    return (ordered[i - 1] if i > 0 else None), (ordered[i + 1] if i + 1 < len(ordered) else None)
