"""Count histograms for the reports, by SQL GROUP BY.

Every function reads either the summary tables (`source="summary"`, what the
pages use) or the raw ratings (`source="raw"`, what `flask reports verify`
compares against). Both return the same shapes, so one set of statistics code
turns either into the figures a page shows.

For an open round, `source="summary"` reads the snapshots of the summaries
(portal/reports/snapshots.py: figures move only in steps of PRIVACY_MIN_N
members); `source="live"` reads the live summary tables whatever the round's
state (verification, tests). A closed round always reads the live, final figures.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

import sqlalchemy as sa
from sqlalchemy.orm import selectinload

from portal import segments
from portal.extensions import db
from portal.models import (
    Domain,
    FeedbackRound,
    Objective,
    Rating,
    ReportCell,
    ReportCrossCell,
)
from portal.reports import snapshots
from portal.reports.aggregates import ALL, NO_ANSWER, NOT_ANSWERED


@dataclass
class Counts:
    """Histograms of one slice (an objective, perhaps within one segment value).

    importance/performance: answer -> count, with -1 = not answered and
    0 = don't know. gap_*: COUNT, SUM(p-i), SUM((p-i)^2) over ratings with both
    answers on the 1..5 scale.
    """

    importance: dict[int, int] = field(default_factory=dict)
    performance: dict[int, int] = field(default_factory=dict)
    gap_n: int = 0
    gap_sum: int = 0
    gap_sum_sq: int = 0

    @property
    def rows(self) -> int:
        """Ratings in the slice (everyone who answered anything, or nothing)."""
        return sum(self.importance.values())

    def answered(self, measure: str) -> int:
        hist = self.importance if measure == "importance" else self.performance
        return sum(c for v, c in hist.items() if 1 <= v <= 5)

    def __add__(self, other: Counts) -> Counts:
        def merge(a, b):
            out = dict(a)
            for k, v in b.items():
                out[k] = out.get(k, 0) + v
            return out
        return Counts(merge(self.importance, other.importance),
                      merge(self.performance, other.performance),
                      self.gap_n + other.gap_n, self.gap_sum + other.gap_sum,
                      self.gap_sum_sq + other.gap_sum_sq)

    def __sub__(self, other: Counts) -> Counts:
        def minus(a, b):
            keys = set(a) | set(b)
            return {k: a.get(k, 0) - b.get(k, 0) for k in keys}
        return Counts(minus(self.importance, other.importance),
                      minus(self.performance, other.performance),
                      self.gap_n - other.gap_n, self.gap_sum - other.gap_sum,
                      self.gap_sum_sq - other.gap_sum_sq)


def _int(v) -> int:
    return int(v or 0)


def _from_snapshot(source: str, round_id: int) -> bool:
    """Whether this read goes to the snapshots (summary reads of an open round)."""
    if source not in ("summary", "live", "raw"):
        raise ValueError(source)
    return source == "summary" and snapshots.is_snapshotted(round_id)


def _slice_source(source: str, round_id: int, dimension: str):
    """(table columns, weight, filter) for the summary (live or snapshot) or the raw
    ratings."""
    if source in ("summary", "live"):
        c = (snapshots.cells(round_id, dimension).c if _from_snapshot(source, round_id)
             else ReportCell.__table__.c)
        cond = [c.round_id == round_id, c.dimension == dimension]
        return c.objective_id, c.value, c.importance, c.performance, sa.func.sum(c.n), c.n, cond
    if source != "raw":
        raise ValueError(source)
    r = Rating.__table__.c
    value = (sa.literal("") if dimension == ALL
             else sa.func.coalesce(r[dimension], NOT_ANSWERED))
    imp = sa.func.coalesce(r.importance, NO_ANSWER)
    perf = sa.func.coalesce(r.performance, NO_ANSWER)
    return r.objective_id, value, imp, perf, sa.func.count(), sa.literal(1), [
        r.round_id == round_id]


def load_counts(round_id: int, dimension: str = ALL, source: str = "summary",
                objective_id: int | None = None) -> dict[tuple[int, str], Counts]:
    """Counts per (objective id, segment value) for all members (dimension "")
    or for every value of one segment dimension. Three GROUP BY queries."""
    if dimension != ALL and dimension not in segments.KEYS:
        raise ValueError(dimension)
    obj, value, imp, perf, total, weight, cond = _slice_source(source, round_id, dimension)
    if objective_id is not None:
        cond = [*cond, obj == objective_id]
    if _from_snapshot(source, round_id):
        snapshots.note_read(round_id, dimension, objective_id=objective_id)
    out: dict[tuple[int, str], Counts] = defaultdict(Counts)
    for measure, col in (("importance", imp), ("performance", perf)):
        stmt = sa.select(obj, value, col, total).where(*cond).group_by(obj, value, col)
        for o, v, score, n in db.session.execute(stmt):
            getattr(out[(o, v)], measure)[int(score)] = _int(n)
    d = perf - imp
    both = [imp.between(1, 5), perf.between(1, 5)]
    stmt = (sa.select(obj, value, sa.func.sum(weight), sa.func.sum(weight * d),
                      sa.func.sum(weight * d * d))
            .where(*cond, *both).group_by(obj, value))
    for o, v, n, s, ss in db.session.execute(stmt):
        c = out[(o, v)]
        c.gap_n, c.gap_sum, c.gap_sum_sq = _int(n), _int(s), _int(ss)
    return {k: v for k, v in out.items() if v.rows}


def load_cross_counts(round_id: int, dim_a: str, dim_b: str, measure: str,
                      source: str = "summary") -> dict[tuple[int, str, str], dict[int, int]]:
    """Scale histograms (1..5) per (objective id, value of dim_a, value of dim_b)."""
    if (dim_a, dim_b) not in set(_pairs()):
        raise ValueError((dim_a, dim_b))
    if source in ("summary", "live") and _from_snapshot(source, round_id):
        snapshots.note_read(round_id, dim_a, dim_b)
        stmt = snapshots.cross_cells(round_id, dim_a, dim_b, measure)
    elif source in ("summary", "live"):
        c = ReportCrossCell.__table__.c
        stmt = (sa.select(c.objective_id, c.value_a, c.value_b, c.score, c.n)
                .where(c.round_id == round_id, c.dim_a == dim_a, c.dim_b == dim_b,
                       c.measure == measure, c.n != 0))
    else:
        r = Rating.__table__.c
        va = sa.func.coalesce(r[dim_a], NOT_ANSWERED)
        vb = sa.func.coalesce(r[dim_b], NOT_ANSWERED)
        score = r[measure]
        stmt = (sa.select(r.objective_id, va, vb, score, sa.func.count())
                .where(r.round_id == round_id, score.between(1, 5))
                .group_by(r.objective_id, va, vb, score))
    out: dict[tuple[int, str, str], dict[int, int]] = defaultdict(dict)
    for o, a, b, s, n in db.session.execute(stmt):
        out[(o, a, b)][int(s)] = _int(n)
    return dict(out)


def _pairs():
    from portal.reports.aggregates import PAIRS

    return PAIRS


def ordered_pair(a: str, b: str) -> tuple[str, str]:
    """The two dimensions in the order the summaries store them."""
    ia, ib = segments.KEYS.index(a), segments.KEYS.index(b)
    return (a, b) if ia < ib else (b, a)


# ---------------------------------------------------------------------------
# Rounds and objectives


def all_rounds() -> list[FeedbackRound]:
    """Every round that is not a draft, newest first."""
    return list(db.session.scalars(
        sa.select(FeedbackRound).where(FeedbackRound.status != "draft")
        .order_by(FeedbackRound.opens_at.desc(), FeedbackRound.id.desc())))


def get_round(round_id: int) -> FeedbackRound | None:
    rnd = db.session.get(FeedbackRound, round_id)
    return None if rnd is None or rnd.status == "draft" else rnd


def default_round(rounds: list[FeedbackRound]) -> FeedbackRound | None:
    """The newest round that has ratings, else the newest round."""
    if not rounds:
        return None
    with_data = set(db.session.scalars(
        sa.select(ReportCell.round_id).where(ReportCell.n > 0).distinct()))
    for rnd in rounds:
        if rnd.id in with_data:
            return rnd
    return rounds[0]


def previous_round(rnd: FeedbackRound, rounds: list[FeedbackRound]) -> FeedbackRound | None:
    older = [r for r in rounds if (r.opens_at, r.id) < (rnd.opens_at, rnd.id)]
    return older[0] if older else None


def report_objectives(round_ids: list[int] | tuple[int, ...] = ()) -> list[Objective]:
    """Objectives in plan order: the active ones plus retired ones rated in these rounds."""
    rated = (sa.select(ReportCell.objective_id)
             .where(ReportCell.round_id.in_(list(round_ids)), ReportCell.n > 0,
                    ReportCell.dimension == ALL))
    stmt = (sa.select(Objective).join(Objective.domain)
            .options(selectinload(Objective.domain))
            .where(sa.or_(sa.and_(Objective.retired_at.is_(None), Domain.retired_at.is_(None)),
                          Objective.id.in_(rated)))
            .order_by(Domain.position, Objective.position))
    return list(db.session.scalars(stmt))


def get_objective(code: str) -> Objective | None:
    return db.session.scalar(sa.select(Objective).options(selectinload(Objective.domain))
                             .where(Objective.code == code.upper()))
