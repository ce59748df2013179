"""Account services: sign-in with lockout, registration, verification, password
changes and resets. Flush, never commit, never flash, never log users in."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from flask import current_app

from portal import segments
from portal.auth import registration, tokens
from portal.auth.passwords import hash_password, needs_rehash, password_problem, verify_password
from portal.errors import PortalError
from portal.extensions import db
from portal.models import TokenPurpose, User
from portal.timeutil import now_utc

log = logging.getLogger("portal.security")

BAD_CREDENTIALS = "That e-mail address and password do not match an account."


class AccountLocked(PortalError):
    """Too many wrong passwords: the account refuses sign-in until `until`."""

    status = 429

    def __init__(self, until: datetime) -> None:
        self.until = until
        super().__init__(
            "Too many failed attempts to sign in to this account. Try again after "
            f"{until:%H:%M} UTC, or reset your password.", field="password")

    @property
    def retry_after(self) -> int:
        return max(1, int((self.until - now_utc()).total_seconds()) + 1)


normalise_email = registration.normalise_email


def find_user_by_email(email: str) -> User | None:
    return db.session.scalar(sa.select(User).where(User.email == normalise_email(email)))


def _lock_delay(failures: int) -> timedelta:
    """Growing delays: the base after the threshold-th failure, doubling with each
    further one, capped at LOCKOUT_MAX_MINUTES."""
    cfg = current_app.config
    extra = failures - cfg["LOCKOUT_THRESHOLD"]
    seconds = cfg["LOCKOUT_BASE_SECONDS"] * (2 ** min(extra, 20))
    return timedelta(seconds=min(seconds, cfg["LOCKOUT_MAX_MINUTES"] * 60))


def authenticate(email: str, password: str) -> User | None:
    """The user when the e-mail and password match an active account, else None.

    Unknown addresses and wrong passwords cost one Argon2 verification each and
    return the same None. A locked account raises AccountLocked even for the
    right password; a failure past LOCKOUT_THRESHOLD locks it for a growing delay.
    """
    user = find_user_by_email(email)
    ok = verify_password(user.password_hash if user else None, password)
    now = now_utc()
    if user is not None and user.locked_until is not None and user.locked_until > now:
        log.info("login refused: locked user=%s", user.id)
        raise AccountLocked(user.locked_until)
    if not ok or user is None or not user.active:
        if user is not None and user.active:
            user.failed_logins = (user.failed_logins or 0) + 1
            if user.failed_logins >= current_app.config["LOCKOUT_THRESHOLD"]:
                user.locked_until = now + _lock_delay(user.failed_logins)
                log.warning("account locked user=%s failures=%s", user.id, user.failed_logins)
            db.session.flush()
        log.info("login failed user=%s", user.id if user else "-")
        return None
    if needs_rehash(user.password_hash or ""):
        user.password_hash = hash_password(password)
    user.failed_logins = 0
    user.locked_until = None
    user.previous_login_at = user.last_login_at
    user.last_login_at = now
    log.info("login succeeded user=%s", user.id)
    db.session.flush()
    return user


def check_password(user: User, password: str) -> bool:
    """Re-check the signed-in user's password (recent-login, deletion); failures count
    towards the lockout like sign-in failures."""
    result = authenticate(user.email, password)
    return result is not None and result.id == user.id


def end_sessions(user: User) -> None:
    """End every session of `user` on the server (cookies copied elsewhere stop working)."""
    user.end_all_sessions()
    db.session.flush()


# Registration -------------------------------------------------------------------

@dataclass
class Registration:
    """What a registration produced. `user` is None when the address already had an
    account: the page says the same thing and the owner gets an e-mail instead."""

    user: User | None
    verify_token: str | None
    existing: User | None = None


def register_user(email: str, display_name: str, password: str,
                  invite_token: str | None = None) -> Registration:
    """Create a member account in line with the registration mode."""
    email = normalise_email(email)
    display_name = (display_name or "").strip()
    if not display_name:
        raise PortalError("Enter the name other members will see.", field="display_name")
    problem = password_problem(password, email)
    if problem:
        raise PortalError(problem, field="password")
    mode = registration.get_mode()
    invitation = registration.find_invitation(invite_token) if invite_token else None
    if invitation is not None and invitation.email != email:
        raise PortalError("Use the address the invitation was sent to.", field="email")
    roster = registration.roster_entry_for(email)
    if mode == "invitation" and invitation is None:
        raise PortalError("Registration is by invitation only. Use the link in your "
                          "invitation e-mail, or ask the association for one.", field="email")
    if mode == "roster" and roster is None and invitation is None:
        raise PortalError("That address is not on the member roster. Use the address the "
                          "association has for you, or contact the membership team.",
                          field="email")

    existing = find_user_by_email(email)
    if existing is not None:
        return Registration(user=None, verify_token=None, existing=existing)

    user = User(email=email, display_name=display_name, password_hash=hash_password(password),
                role="member")
    if roster is not None:
        user.member_number = roster.member_number
        for key in segments.KEYS:
            value = getattr(roster, key, None)
            if value is not None:
                setattr(user, key, value)
    now = now_utc()
    if invitation is not None:
        # The invitation link proved the address: no separate verification needed.
        invitation.accepted_at = now
        user.email_verified_at = now
    db.session.add(user)
    db.session.flush()
    token = None if user.is_verified else tokens.issue(user, TokenPurpose.VERIFY)
    log.info("account registered user=%s mode=%s", user.id, mode)
    return Registration(user=user, verify_token=token)


def issue_verification(user: User) -> str:
    if user.is_verified:
        raise PortalError("That address is already verified.")
    return tokens.issue(user, TokenPurpose.VERIFY)


def verify_email(token: str) -> User:
    row = tokens.find_usable(token, TokenPurpose.VERIFY)
    if row is None:
        raise PortalError("That verification link is invalid, used or expired. "
                          "Sign in to ask for a new one.")
    row.used_at = now_utc()
    user = row.user
    if user.email_verified_at is None:
        user.email_verified_at = now_utc()
    db.session.flush()
    return user


# Passwords ----------------------------------------------------------------------

def request_reset(email: str) -> tuple[User, str] | None:
    """A reset token for an active account with this address, else None (the page
    says the same either way)."""
    user = find_user_by_email(email)
    if user is None or not user.active:
        return None
    return user, tokens.issue(user, TokenPurpose.RESET)


def issue_set_password(user: User) -> str:
    return tokens.issue(user, TokenPurpose.SET_PASSWORD)


def reset_password(token: str, new_password: str) -> User:
    """Set a new password from a reset (or set-password) link; the link is used up,
    every session ends and any lockout is lifted."""
    row = tokens.find_usable(token, TokenPurpose.RESET, TokenPurpose.SET_PASSWORD)
    if row is None:
        raise PortalError("That link is invalid, used or expired. Ask for a new one.")
    user = row.user
    problem = password_problem(new_password, user.email)
    if problem:
        raise PortalError(problem, field="password")
    user.password_hash = hash_password(new_password)
    user.failed_logins = 0
    user.locked_until = None
    if row.purpose == TokenPurpose.SET_PASSWORD and user.email_verified_at is None:
        user.email_verified_at = now_utc()  # the link went to this address
    tokens.revoke(user, TokenPurpose.RESET, TokenPurpose.SET_PASSWORD)
    user.end_all_sessions()
    db.session.flush()
    log.info("password reset user=%s", user.id)
    return user


def change_password(user: User, current: str, new_password: str) -> None:
    """Change the password of the signed-in user; every other session ends."""
    if not check_password(user, current):
        raise PortalError("That is not your current password.", field="current_password")
    problem = password_problem(new_password, user.email)
    if problem:
        raise PortalError(problem, field="new_password")
    if verify_password(user.password_hash, new_password):
        raise PortalError("Choose a password different from the current one.",
                          field="new_password")
    user.password_hash = hash_password(new_password)
    tokens.revoke(user, TokenPurpose.RESET, TokenPurpose.SET_PASSWORD)
    user.end_all_sessions()
    db.session.flush()
    log.info("password changed user=%s", user.id)
