"""Summary tables behind the leadership reports.

They hold counts derived from `ratings`, kept in step by
`portal.reports.aggregates` (ORM events on Rating, or `rebuild_round` after
bulk loads), so report pages read a few thousand count rows instead of a
million ratings. `flask reports verify` recomputes them from the raw ratings.

Keys never hold NULL (NULLs are distinct in unique keys, which would break
the upserts): an unanswered segment is "" and an unanswered rating is -1.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from portal.extensions import db


class ReportCell(db.Model):
    """How many ratings of one objective in one round have this (importance,
    performance) pair, for all members (dimension "") or for one value of one
    segment dimension (value "" = not answered)."""

    __tablename__ = "report_cells"

    round_id: Mapped[int] = mapped_column(
        sa.ForeignKey("feedback_rounds.id", ondelete="CASCADE"), primary_key=True)
    dimension: Mapped[str] = mapped_column(sa.String(32), primary_key=True)
    value: Mapped[str] = mapped_column(sa.String(32), primary_key=True)
    objective_id: Mapped[int] = mapped_column(
        sa.ForeignKey("objectives.id", ondelete="CASCADE"), primary_key=True)
    importance: Mapped[int] = mapped_column(sa.SmallInteger, primary_key=True)
    performance: Mapped[int] = mapped_column(sa.SmallInteger, primary_key=True)
    n: Mapped[int] = mapped_column(default=0)


class ReportCrossCell(db.Model):
    """Scale answers (1..5) of one measure for one value of two crossed segment
    dimensions (dim_a before dim_b in segments.KEYS order)."""

    __tablename__ = "report_cross_cells"
    __table_args__ = (
        sa.CheckConstraint("measure in ('importance', 'performance')", name="measure_known"),
        sa.CheckConstraint("score between 1 and 5", name="score_range"),
    )

    round_id: Mapped[int] = mapped_column(
        sa.ForeignKey("feedback_rounds.id", ondelete="CASCADE"), primary_key=True)
    dim_a: Mapped[str] = mapped_column(sa.String(32), primary_key=True)
    dim_b: Mapped[str] = mapped_column(sa.String(32), primary_key=True)
    measure: Mapped[str] = mapped_column(sa.String(16), primary_key=True)
    value_a: Mapped[str] = mapped_column(sa.String(32), primary_key=True)
    value_b: Mapped[str] = mapped_column(sa.String(32), primary_key=True)
    objective_id: Mapped[int] = mapped_column(
        sa.ForeignKey("objectives.id", ondelete="CASCADE"), primary_key=True)
    score: Mapped[int] = mapped_column(sa.SmallInteger, primary_key=True)
    n: Mapped[int] = mapped_column(default=0)


class ReportRater(db.Model):
    """A member who rated at least one objective in a round (n = their ratings);
    the numerator of participation. Goes with the account."""

    __tablename__ = "report_raters"

    round_id: Mapped[int] = mapped_column(
        sa.ForeignKey("feedback_rounds.id", ondelete="CASCADE"), primary_key=True)
    user_id: Mapped[int] = mapped_column(
        sa.ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    n: Mapped[int] = mapped_column(default=0)


class ReportEligible(db.Model):
    """Eligible members (portal.reports.participation) for all (dimension "") and per
    value of each segment dimension, as their profiles read now."""

    __tablename__ = "report_eligible"

    dimension: Mapped[str] = mapped_column(sa.String(32), primary_key=True)
    value: Mapped[str] = mapped_column(sa.String(32), primary_key=True)
    n: Mapped[int] = mapped_column(default=0)


class ReportParticipation(db.Model):
    """Eligible members who rated in a round, by their segments as they read now:
    the numerator of participation against ReportEligible."""

    __tablename__ = "report_participation"

    round_id: Mapped[int] = mapped_column(
        sa.ForeignKey("feedback_rounds.id", ondelete="CASCADE"), primary_key=True)
    dimension: Mapped[str] = mapped_column(sa.String(32), primary_key=True)
    value: Mapped[str] = mapped_column(sa.String(32), primary_key=True)
    n: Mapped[int] = mapped_column(default=0)
