"""When a member last looked at an objective, for "updated since your last visit"."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from portal.extensions import db
from portal.timeutil import now_utc


class ObjectiveVisit(db.Model):
    """One row per (member, objective): the time of the member's latest visit.

    Deleted with the account or the objective: it only serves the member's own view.
    """

    __tablename__ = "objective_visits"

    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"),
                                         primary_key=True)
    objective_id: Mapped[int] = mapped_column(
        sa.ForeignKey("objectives.id", ondelete="CASCADE"), primary_key=True)
    visited_at: Mapped[datetime] = mapped_column(default=lambda: now_utc())
