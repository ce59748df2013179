"""Account support: one-time tokens, invitations, the member roster and site settings."""

from __future__ import annotations

import enum
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.extensions import db
from portal.models.user import User
from portal.timeutil import now_utc


class TokenPurpose(enum.StrEnum):
    VERIFY = "verify"              # confirm an e-mail address
    RESET = "reset"                # forgotten password
    # First password of an account made from the command line (a purpose name, not a secret).
    SET_PASSWORD = "set_password"  # noqa: S105  # nosec B105
    SIGNIN = "signin"              # sign in by e-mail, past any sign-in throttle


class AccountToken(db.Model):
    """A single-use link sent by e-mail. Only a SHA-256 of the token is stored,
    so a copy of the database does not hand out working links."""

    __tablename__ = "account_tokens"
    __table_args__ = (
        sa.CheckConstraint("purpose in ('verify', 'reset', 'set_password', 'signin')",
                           name="purpose_known"),
        sa.Index("ix_account_tokens_user_purpose", "user_id", "purpose"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"))
    purpose: Mapped[str] = mapped_column(sa.String(16))
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=lambda: now_utc())
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]

    user: Mapped[User] = relationship()

    def is_usable(self, now: datetime | None = None) -> bool:
        return self.used_at is None and (now or now_utc()) < self.expires_at


class Invitation(db.Model):
    """An admin's invitation to register (needed when registration is by invitation)."""

    __tablename__ = "invitations"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(sa.String(254), index=True)
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    invited_by_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=lambda: now_utc())
    expires_at: Mapped[datetime]
    accepted_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]

    invited_by: Mapped[User | None] = relationship()

    def is_usable(self, now: datetime | None = None) -> bool:
        return (self.accepted_at is None and self.revoked_at is None
                and (now or now_utc()) < self.expires_at)

    @property
    def status(self) -> str:
        if self.accepted_at:
            return "accepted"
        if self.revoked_at:
            return "revoked"
        if now_utc() >= self.expires_at:
            return "expired"
        return "pending"


class RosterEntry(db.Model):
    """A member on the association's roster: who may register in roster mode, and
    the denominator for response rates."""

    __tablename__ = "roster_entries"

    id: Mapped[int] = mapped_column(primary_key=True)
    member_number: Mapped[str] = mapped_column(sa.String(64), unique=True)
    email: Mapped[str] = mapped_column(sa.String(254), unique=True)
    membership_type: Mapped[str] = mapped_column(sa.String(32))
    career_stage: Mapped[str | None] = mapped_column(sa.String(32))
    library_type: Mapped[str | None] = mapped_column(sa.String(32))
    work_role: Mapped[str | None] = mapped_column(sa.String(32))
    region: Mapped[str | None] = mapped_column(sa.String(32))
    imported_at: Mapped[datetime] = mapped_column(default=lambda: now_utc())


class SiteSetting(db.Model):
    """Settings an admin changes at run time (the registration mode, ...)."""

    __tablename__ = "site_settings"

    key: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    value: Mapped[str] = mapped_column(sa.String(255))
    updated_at: Mapped[datetime] = mapped_column(default=lambda: now_utc(),
                                                 onupdate=lambda: now_utc())
