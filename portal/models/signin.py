"""Sign-in throttle state, keyed so that it exists alike for addresses with and
without an account (portal/auth/throttle.py)."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from portal.extensions import db


class SigninThrottle(db.Model):
    """Failed sign-ins of one (address typed, client) pair. `key` is an HMAC of the
    normalised address and the client (its network, or its device cookie);
    `account_key` an HMAC of the address alone. Neither says whether the address has
    an account, and a copy of the table does not give the addresses back."""

    __tablename__ = "signin_throttles"
    __table_args__ = (
        sa.CheckConstraint("failures >= 0", name="failures_not_negative"),
    )

    key: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    account_key: Mapped[str] = mapped_column(sa.String(64), index=True)
    failures: Mapped[int] = mapped_column(default=0)
    first_failure_at: Mapped[datetime]
    last_failure_at: Mapped[datetime]
    # Past this the row is forgotten (and purged): failures do not weigh for ever.
    expires_at: Mapped[datetime] = mapped_column(index=True)


class SigninAccountFailures(db.Model):
    """Failed sign-ins on one address since its last successful sign-in, for the notice
    after the next sign-in and the e-mail to the owner (once per burst, at most daily).
    Written for unknown addresses too, so the work of a failure is the same."""

    __tablename__ = "signin_account_failures"
    __table_args__ = (
        sa.CheckConstraint("failures >= 0", name="failures_not_negative"),
    )

    account_key: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    failures: Mapped[int] = mapped_column(default=0)
    last_failure_at: Mapped[datetime]
    alerted_at: Mapped[datetime | None]
    expires_at: Mapped[datetime] = mapped_column(index=True)
