"""The strategic plan: mission, vision, values, domains and their objectives."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.extensions import db
from portal.models.base import TimestampMixin


class Plan(TimestampMixin, db.Model):
    __tablename__ = "plans"

    id: Mapped[int] = mapped_column(primary_key=True)
    organization: Mapped[str] = mapped_column(sa.String(200))
    title: Mapped[str] = mapped_column(sa.String(200))
    mission: Mapped[str] = mapped_column(sa.Text)
    vision: Mapped[str] = mapped_column(sa.Text)

    values: Mapped[list[PlanValue]] = relationship(
        back_populates="plan", order_by="PlanValue.position", cascade="all, delete-orphan"
    )
    domains: Mapped[list[Domain]] = relationship(
        back_populates="plan", order_by="Domain.position", cascade="all, delete-orphan"
    )

    @property
    def active_domains(self) -> list[Domain]:
        return [d for d in self.domains if d.retired_at is None]


class PlanValue(db.Model):
    __tablename__ = "plan_values"
    __table_args__ = (sa.UniqueConstraint("plan_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    plan_id: Mapped[int] = mapped_column(sa.ForeignKey("plans.id", ondelete="CASCADE"))
    position: Mapped[int] = mapped_column(default=0)
    name: Mapped[str] = mapped_column(sa.String(200))

    plan: Mapped[Plan] = relationship(back_populates="values")


class Domain(TimestampMixin, db.Model):
    __tablename__ = "domains"
    __table_args__ = (sa.CheckConstraint("length(code) between 1 and 8", name="code_length"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    plan_id: Mapped[int] = mapped_column(sa.ForeignKey("plans.id", ondelete="CASCADE"))
    code: Mapped[str] = mapped_column(sa.String(8), unique=True)
    title: Mapped[str] = mapped_column(sa.String(200))
    goal: Mapped[str] = mapped_column(sa.Text)
    position: Mapped[int] = mapped_column(default=0)
    retired_at: Mapped[datetime | None]

    plan: Mapped[Plan] = relationship(back_populates="domains")
    objectives: Mapped[list[Objective]] = relationship(
        back_populates="domain", order_by="Objective.position", cascade="all, delete-orphan"
    )

    @property
    def label(self) -> str:
        return f"{self.code}. {self.title}"

    @property
    def active_objectives(self) -> list[Objective]:
        return [o for o in self.objectives if o.retired_at is None]


class Objective(TimestampMixin, db.Model):
    __tablename__ = "objectives"
    __table_args__ = (sa.CheckConstraint("length(code) between 2 and 16", name="code_length"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    domain_id: Mapped[int] = mapped_column(sa.ForeignKey("domains.id", ondelete="RESTRICT"))
    code: Mapped[str] = mapped_column(sa.String(16), unique=True)
    text: Mapped[str] = mapped_column(sa.Text)
    position: Mapped[int] = mapped_column(default=0)
    retired_at: Mapped[datetime | None]

    domain: Mapped[Domain] = relationship(back_populates="objectives")

    @property
    def is_retired(self) -> bool:
        return self.retired_at is not None
