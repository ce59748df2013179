"""Read models for "My feedback" and the plan progress page."""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.orm import contains_eager

from portal.extensions import db
from portal.feedback.queries import updated_since_last_visit
from portal.models import (
    Comment,
    Domain,
    Endorsement,
    FeedbackRound,
    Objective,
    ObjectiveUpdate,
    Rating,
    UpdateStatus,
    User,
)


@dataclass
class MyFeedback:
    rounds: list[tuple[FeedbackRound, list[Rating]]]
    comments: list[Comment]
    endorsed: list[tuple[Endorsement, Comment]]


def my_feedback(user: User) -> MyFeedback:
    """The member's ratings grouped by round, comments and endorsements: three queries."""
    ratings = db.session.scalars(
        sa.select(Rating)
        .join(Rating.round).join(Rating.objective).join(Objective.domain)
        .options(contains_eager(Rating.round), contains_eager(Rating.objective))
        .where(Rating.user_id == user.id)
        .order_by(FeedbackRound.opens_at.desc(), FeedbackRound.id, Domain.position,
                  Objective.position)).all()
    rounds: list[tuple[FeedbackRound, list[Rating]]] = []
    for r in ratings:
        if not rounds or rounds[-1][0].id != r.round_id:
            rounds.append((r.round, []))
        rounds[-1][1].append(r)
    comments = list(db.session.scalars(
        sa.select(Comment).join(Comment.objective).options(contains_eager(Comment.objective))
        .where(Comment.user_id == user.id).order_by(Comment.created_at.desc(), Comment.id.desc())))
    endorsed = db.session.execute(
        sa.select(Endorsement, Comment).join(Comment, Endorsement.comment_id == Comment.id)
        .where(Endorsement.user_id == user.id)
        .order_by(Endorsement.created_at.desc(), Endorsement.id.desc())).all()
    return MyFeedback(rounds, comments, [(e, c) for e, c in endorsed])


@dataclass
class DomainProgress:
    code: str
    title: str
    objectives: int
    reported: int
    mean_progress: float
    by_status: dict[str, int]


@dataclass
class PlanProgress:
    domains: list[DomainProgress]
    rows: list  # one per active objective: code, text, domain code, status, progress, date
    updated_ids: set[int]
    overall: float | None


def _latest_updates():
    ranked = sa.select(
        ObjectiveUpdate.objective_id, ObjectiveUpdate.status, ObjectiveUpdate.progress,
        ObjectiveUpdate.published_at,
        sa.func.row_number().over(
            partition_by=ObjectiveUpdate.objective_id,
            order_by=(ObjectiveUpdate.published_at.desc(), ObjectiveUpdate.id.desc()),
        ).label("rn"),
    ).subquery()
    return sa.select(ranked).where(ranked.c.rn == 1).subquery("latest")


def plan_progress(user: User | None) -> PlanProgress:
    """Progress rolled up by domain in SQL: an objective without an update counts as 0 %."""
    latest = _latest_updates()
    active = sa.and_(Objective.retired_at.is_(None), Domain.retired_at.is_(None))
    progress = sa.func.coalesce(latest.c.progress, 0)
    status_counts = [
        sa.func.sum(sa.case((latest.c.status == s.value, 1), else_=0)).label(s.value)
        for s in UpdateStatus
    ]
    domain_rows = db.session.execute(
        sa.select(Domain.code, Domain.title, sa.func.count(Objective.id).label("objectives"),
                  sa.func.count(latest.c.objective_id).label("reported"),
                  sa.func.avg(progress).label("mean_progress"), *status_counts)
        .join(Objective, Objective.domain_id == Domain.id)
        .outerjoin(latest, latest.c.objective_id == Objective.id)
        .where(active)
        .group_by(Domain.id, Domain.code, Domain.title, Domain.position)
        .order_by(Domain.position)).all()
    domains = [DomainProgress(r.code, r.title, r.objectives, r.reported,
                              float(r.mean_progress or 0),
                              {s.value: int(getattr(r, s.value) or 0) for s in UpdateStatus})
               for r in domain_rows]
    overall = db.session.scalar(
        sa.select(sa.func.avg(progress)).select_from(Objective)
        .join(Domain, Objective.domain_id == Domain.id)
        .outerjoin(latest, latest.c.objective_id == Objective.id).where(active))
    rows = db.session.execute(
        sa.select(Objective.id, Objective.code, Objective.text, Domain.code.label("domain"),
                  latest.c.status, latest.c.progress, latest.c.published_at)
        .join(Domain, Objective.domain_id == Domain.id)
        .outerjoin(latest, latest.c.objective_id == Objective.id)
        .where(active).order_by(Domain.position, Objective.position)).all()
    return PlanProgress(domains, rows, updated_since_last_visit(user),
                        float(overall) if overall is not None else None)
