"""Snapshots of the report summaries for open rounds (portal/reports/snapshots.py).

While a round is open, leadership reads these copies instead of the live summary
tables. A slice (round, objective, one or two segment values, or all members) is
copied again only once enough distinct members have rated in it since its last copy,
so no figure moves by fewer than PRIVACY_MIN_N people.

Slice keys never hold NULL: all members are dimension "" value "", a single segment
slice has dimension_b "" value_b "".
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from portal.extensions import db


def _round_fk() -> sa.ForeignKey:
    return sa.ForeignKey("feedback_rounds.id", ondelete="CASCADE")


def _objective_fk() -> sa.ForeignKey:
    return sa.ForeignKey("objectives.id", ondelete="CASCADE")


class ReportSnapshotRound(db.Model):
    """Per open round: how far the ratings were scanned for changes (the lock the
    advancing request takes) and when participation was last copied."""

    __tablename__ = "report_snapshot_rounds"

    round_id: Mapped[int] = mapped_column(_round_fk(), primary_key=True)
    scanned_to: Mapped[datetime]


class ReportSnapshot(db.Model):
    """One slice's snapshot: when it was taken, and after which rating time a
    change counts towards the next one (the clock after the copy plus a margin for
    clock skew, so a change already copied is never counted)."""

    __tablename__ = "report_snapshots"

    round_id: Mapped[int] = mapped_column(_round_fk(), primary_key=True)
    dimension: Mapped[str] = mapped_column(sa.String(32), primary_key=True)
    value: Mapped[str] = mapped_column(sa.String(32), primary_key=True)
    dimension_b: Mapped[str] = mapped_column(sa.String(32), primary_key=True)
    value_b: Mapped[str] = mapped_column(sa.String(32), primary_key=True)
    objective_id: Mapped[int] = mapped_column(_objective_fk(), primary_key=True)
    taken_at: Mapped[datetime]
    changes_after: Mapped[datetime]


class ReportSnapshotChange(db.Model):
    """A member who rated in a slice since its snapshot: one row per member, however
    often they changed the rating. Read from the ratings' own updated_at."""

    __tablename__ = "report_snapshot_changes"

    round_id: Mapped[int] = mapped_column(_round_fk(), primary_key=True)
    dimension: Mapped[str] = mapped_column(sa.String(32), primary_key=True)
    value: Mapped[str] = mapped_column(sa.String(32), primary_key=True)
    dimension_b: Mapped[str] = mapped_column(sa.String(32), primary_key=True)
    value_b: Mapped[str] = mapped_column(sa.String(32), primary_key=True)
    objective_id: Mapped[int] = mapped_column(_objective_fk(), primary_key=True)
    user_id: Mapped[int] = mapped_column(
        sa.ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)


class ReportSnapshotCell(db.Model):
    """report_cells as of the slice's snapshot."""

    __tablename__ = "report_snapshot_cells"

    round_id: Mapped[int] = mapped_column(_round_fk(), primary_key=True)
    dimension: Mapped[str] = mapped_column(sa.String(32), primary_key=True)
    value: Mapped[str] = mapped_column(sa.String(32), primary_key=True)
    objective_id: Mapped[int] = mapped_column(_objective_fk(), primary_key=True)
    importance: Mapped[int] = mapped_column(sa.SmallInteger, primary_key=True)
    performance: Mapped[int] = mapped_column(sa.SmallInteger, primary_key=True)
    n: Mapped[int] = mapped_column(default=0)


class ReportSnapshotCrossCell(db.Model):
    """report_cross_cells as of the crossed slice's snapshot."""

    __tablename__ = "report_snapshot_cross_cells"

    round_id: Mapped[int] = mapped_column(_round_fk(), primary_key=True)
    dim_a: Mapped[str] = mapped_column(sa.String(32), primary_key=True)
    dim_b: Mapped[str] = mapped_column(sa.String(32), primary_key=True)
    measure: Mapped[str] = mapped_column(sa.String(16), primary_key=True)
    value_a: Mapped[str] = mapped_column(sa.String(32), primary_key=True)
    value_b: Mapped[str] = mapped_column(sa.String(32), primary_key=True)
    objective_id: Mapped[int] = mapped_column(_objective_fk(), primary_key=True)
    score: Mapped[int] = mapped_column(sa.SmallInteger, primary_key=True)
    n: Mapped[int] = mapped_column(default=0)


class ReportSnapshotParticipation(db.Model):
    """report_participation (raters per segment, from report_raters) as last copied:
    a row moves when the live count is PRIVACY_MIN_N or more away from it."""

    __tablename__ = "report_snapshot_participation"

    round_id: Mapped[int] = mapped_column(_round_fk(), primary_key=True)
    dimension: Mapped[str] = mapped_column(sa.String(32), primary_key=True)
    value: Mapped[str] = mapped_column(sa.String(32), primary_key=True)
    n: Mapped[int] = mapped_column(default=0)
    taken_at: Mapped[datetime]
