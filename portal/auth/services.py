"""Account services: throttled sign-in, sign-in links, registration, verification, password
changes and resets. Flush, never commit, never flash, never log users in."""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass, field

import sqlalchemy as sa
from flask import current_app

from portal import segments, timezones
from portal.auth import registration, throttle, tokens
from portal.auth.passwords import hash_password, needs_rehash, password_problem, verify_password
from portal.errors import PortalError
from portal.extensions import db
from portal.models import TokenPurpose, User
from portal.timeutil import now_utc

log = logging.getLogger("portal.security")

BAD_CREDENTIALS = "That e-mail address and password do not match an account."
SSO_ONLY = ("Your association signs you in to the portal: use its button above instead of a "
            "password or an e-mailed link.")


class SigninThrottled(PortalError):
    """Too many failed sign-ins with this address from this client (or, from new
    clients, on this address): wait, or use a sign-in link. Raised alike whether or
    not the address has an account, with the same message and delay."""

    status = 429

    def __init__(self, wait_seconds: int) -> None:
        self.wait_seconds = max(1, int(wait_seconds))
        super().__init__(
            "Too many attempts to sign in with this address from here. Try again in "
            f"{_duration(self.wait_seconds)}, or ask for a sign-in link by e-mail.",
            field="password")

    @property
    def retry_after(self) -> int:
        return self.wait_seconds


def _duration(seconds: int) -> str:
    if seconds < 120:
        return f"{seconds} seconds"
    return f"{math.ceil(seconds / 60)} minutes"


@dataclass
class Attempt:
    """What a sign-in attempt gave. On success `user` is set and `earlier` tells what
    failed on the address since its last sign-in; on failure `alert_user_id` names the
    owner to tell by e-mail (after the commit), when this failure is the one to tell."""

    user: User | None
    earlier: throttle.Earlier = field(default_factory=throttle.Earlier)
    alert_user_id: int | None = None
    alert_failures: int = 0

    @property
    def needs_notice(self) -> bool:
        return self.earlier.failures >= current_app.config["SIGNIN_ALERT_FAILURES"]


normalise_email = registration.normalise_email


def find_user_by_email(email: str) -> User | None:
    return db.session.scalar(sa.select(User).where(User.email == normalise_email(email)))


def authenticate(email: str, password: str, client: throttle.Client | None = None) -> Attempt:
    """Try `password` on the account with address `email`.

    Every attempt costs one Argon2 verification and runs the same statements,
    whether the address has an account or not, so neither the answer nor its time
    tells them apart. A throttled (address, client) pair raises SigninThrottled
    without trying the password (even the right one), for any address; a failure is
    counted under HMAC keys that exist for unknown addresses too.
    """
    email = normalise_email(email)
    client = client or throttle.client_for(email)
    # Columns, not the entity: an unknown address and a known one cost the same here.
    row = db.session.execute(sa.select(User.id, User.password_hash, User.active)
                             .where(User.email == email)).first()
    wait = throttle.wait_seconds(email, client)
    if wait > 0:
        verify_password(None, password)  # the same cost; nothing learnt about the password
        log.info("login throttled user=%s client=%s", row.id if row else "-",
                 "device" if client.trusted else "network")
        raise SigninThrottled(wait)
    ok = verify_password(row.password_hash if row else None, password)
    if not ok or row is None or not row.active:
        failure = throttle.record_failure(email, client)
        log.info("login failed user=%s", row.id if row else "-")
        alert = row.id if failure.alert and row is not None and row.active else None
        return Attempt(user=None, alert_user_id=alert, alert_failures=failure.failures)
    user = db.session.get(User, row.id)
    if needs_rehash(user.password_hash or ""):
        user.password_hash = hash_password(password)
    return Attempt(user=user, earlier=_signed_in(user, client))


def _signed_in(user: User, client: throttle.Client) -> throttle.Earlier:
    earlier = throttle.record_success(user.email, client)
    now = now_utc()
    user.previous_login_at = user.last_login_at
    user.last_login_at = now
    log.info("login succeeded user=%s earlier_failures=%s", user.id, earlier.failures)
    db.session.flush()
    return earlier


def check_password(user: User, password: str, client: throttle.Client | None = None) -> bool:
    """Re-check the signed-in user's password (recent-login, deletion); failures are
    throttled like sign-in failures."""
    result = authenticate(user.email, password, client)
    return result.user is not None and result.user.id == user.id


# Sign-in links ---------------------------------------------------------------------

def request_signin_link(email: str) -> tuple[User, str] | None:
    """A sign-in link token for an active account with this address, else None (the
    page says the same either way)."""
    user = find_user_by_email(email)
    if user is None or not user.active:
        return None
    return user, tokens.issue(user, TokenPurpose.SIGNIN)


def signin_with_link(token: str, client: throttle.Client | None = None) -> Attempt:
    """Sign in with an e-mailed link: it works once, for SIGNIN_LINK_MINUTES, and no
    throttle stops it (the owner's way in while the account is under attack)."""
    row = tokens.find_usable(token, TokenPurpose.SIGNIN)
    if row is None:
        raise PortalError("That sign-in link is invalid, used or expired. Ask for a new one.")
    user = row.user
    tokens.revoke(user, TokenPurpose.SIGNIN)
    if user.email_verified_at is None:
        user.email_verified_at = now_utc()  # the link went to this address
    client = client or throttle.client_for(user.email)
    return Attempt(user=user, earlier=_signed_in(user, client))


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
                  invite_token: str | None = None, time_zone: str | None = None) -> Registration:
    """Create a member account in line with the registration mode. `time_zone` is the
    browser's guess; an unknown one (or none) starts the account in UTC."""
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
                role="member", time_zone=timezones.normalise(time_zone))
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


def verification_link_state(token: str) -> str:
    """What a verification link can still do: "usable"; "verified" (used, and the
    address is verified); "replaced" (a newer link was sent); "expired"; "invalid"."""
    row = tokens.find_any(token, TokenPurpose.VERIFY)
    if row is None or not row.user.active:
        return "invalid"
    if row.is_usable():
        return "usable"
    if row.user.is_verified:
        return "verified"
    return "replaced" if row.used_at is not None else "expired"


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
    every session ends."""
    row = tokens.find_usable(token, TokenPurpose.RESET, TokenPurpose.SET_PASSWORD)
    if row is None:
        raise PortalError("That link is invalid, used or expired. Ask for a new one.")
    user = row.user
    problem = password_problem(new_password, user.email)
    if problem:
        raise PortalError(problem, field="password")
    user.password_hash = hash_password(new_password)
    if row.purpose == TokenPurpose.SET_PASSWORD and user.email_verified_at is None:
        user.email_verified_at = now_utc()  # the link went to this address
    tokens.revoke(user, TokenPurpose.RESET, TokenPurpose.SET_PASSWORD)
    user.end_all_sessions()
    # The owner proved the address from this client: its own failures are forgiven
    # (an attacker's, from elsewhere, still count).
    throttle.forgive(user.email, throttle.client_for(user.email))
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
