"""Shared column helpers for the models."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Mapped, mapped_column

from portal.timeutil import now_utc


class TimestampMixin:
    created_at: Mapped[datetime] = mapped_column(default=lambda: now_utc())
    updated_at: Mapped[datetime] = mapped_column(
        default=lambda: now_utc(), onupdate=lambda: now_utc()
    )
