"""Account services: authentication and sessions. Flush, never commit, never log users in."""

from __future__ import annotations

import logging

import sqlalchemy as sa

from portal.auth.passwords import hash_password, needs_rehash, verify_password
from portal.extensions import db
from portal.models import User
from portal.timeutil import now_utc

log = logging.getLogger("portal.security")


def normalise_email(email: str) -> str:
    return email.strip().lower()


def find_user_by_email(email: str) -> User | None:
    return db.session.scalar(sa.select(User).where(User.email == normalise_email(email)))


def authenticate(email: str, password: str) -> User | None:
    """The user when the e-mail and password match an active account, else None."""
    user = find_user_by_email(email)
    ok = verify_password(user.password_hash if user else None, password)
    if not ok or user is None or not user.active:
        log.info("login failed user=%s", user.id if user else "-")
        return None
    if needs_rehash(user.password_hash or ""):
        user.password_hash = hash_password(password)
    user.last_login_at = now_utc()
    log.info("login succeeded user=%s", user.id)
    db.session.flush()
    return user


def end_sessions(user: User) -> None:
    """End every session of `user` on the server (cookies copied elsewhere stop working)."""
    user.end_all_sessions()
    db.session.flush()
