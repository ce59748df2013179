"""Accounts: members, leaders and admins."""

from __future__ import annotations

import enum
from datetime import datetime

import sqlalchemy as sa
from flask_login import UserMixin
from sqlalchemy.orm import Mapped, mapped_column

from portal.extensions import db
from portal.models.base import TimestampMixin


class Role(enum.StrEnum):
    MEMBER = "member"
    LEADER = "leader"
    ADMIN = "admin"


ROLE_LABELS = {Role.MEMBER: "Member", Role.LEADER: "Leadership", Role.ADMIN: "Admin"}


class User(UserMixin, TimestampMixin, db.Model):
    __tablename__ = "users"
    __table_args__ = (
        sa.CheckConstraint("role in ('member', 'leader', 'admin')", name="role_known"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(sa.String(254), unique=True)
    display_name: Mapped[str] = mapped_column(sa.String(80))
    password_hash: Mapped[str | None] = mapped_column(sa.String(255))
    role: Mapped[str] = mapped_column(sa.String(16), default=Role.MEMBER.value)
    active: Mapped[bool] = mapped_column(default=True)
    email_verified_at: Mapped[datetime | None]
    last_login_at: Mapped[datetime | None]
    # The sign-in before the current one: "updated since your last visit" starts there.
    previous_login_at: Mapped[datetime | None]
    last_seen_at: Mapped[datetime | None]
    # Bumped to end every session of this user on the server (logout,
    # password change, deactivation): it is part of the id in the cookie.
    session_version: Mapped[int] = mapped_column(default=1)
    member_number: Mapped[str | None] = mapped_column(sa.String(64))
    # The IANA zone every time is shown in (portal/timezones.py); stored times stay UTC.
    time_zone: Mapped[str] = mapped_column(sa.String(64), server_default="UTC")

    # Member segments (portal/segments.py); NULL means not answered.
    career_stage: Mapped[str | None] = mapped_column(sa.String(32))
    library_type: Mapped[str | None] = mapped_column(sa.String(32))
    work_role: Mapped[str | None] = mapped_column(sa.String(32))
    region: Mapped[str | None] = mapped_column(sa.String(32))
    membership_type: Mapped[str | None] = mapped_column(sa.String(32))

    # Flask-Login ---------------------------------------------------------
    @property
    def is_active(self) -> bool:  # type: ignore[override]
        return self.active

    def get_id(self) -> str:
        return f"{self.id}.{self.session_version}"

    def end_all_sessions(self) -> None:
        """Invalidate every session and remember-me cookie of this user."""
        self.session_version = (self.session_version or 0) + 1

    # Roles ----------------------------------------------------------------
    @property
    def is_admin(self) -> bool:
        return self.role == Role.ADMIN

    @property
    def is_leader(self) -> bool:
        """Leadership views are open to leaders and admins."""
        return self.role in (Role.LEADER, Role.ADMIN)

    @property
    def is_verified(self) -> bool:
        return self.email_verified_at is not None

    @property
    def role_label(self) -> str:
        return ROLE_LABELS.get(Role(self.role), self.role)

    def segment_values(self) -> dict[str, str | None]:
        from portal import segments

        return {key: getattr(self, key) for key in segments.KEYS}

    def __repr__(self) -> str:
        return f"<User {self.id} {self.role}>"
