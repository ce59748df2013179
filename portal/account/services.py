"""The member's own account: profile changes and deletion. Flush, never commit."""

from __future__ import annotations

import logging
import time

from flask import current_app

from portal import audit, segments, timezones
from portal.account.export import run_deletion_hooks
from portal.auth import throttle
from portal.auth.services import check_password
from portal.errors import PortalError
from portal.extensions import db
from portal.models import User

log = logging.getLogger("portal.security")


def update_profile(user: User, display_name: str, answers: dict[str, str | None],
                   locked: frozenset[str] | set[str] = frozenset(),
                   time_zone: str | None = None) -> None:
    """Set the display name, the segment answers (None = not answered) and, when given,
    the time zone every time is shown in. Segments in `locked` came from the
    association's records (single sign-on): they keep their value, and an answer that
    tries to change one is refused."""
    name = (display_name or "").strip()
    if not name or len(name) > 80:
        raise PortalError("Enter a display name of 1 to 80 characters.", field="display_name")
    if time_zone is not None and not timezones.is_valid(time_zone):
        raise PortalError("Choose your time zone from the list.", field="time_zone")
    for dim in segments.DIMENSIONS:
        code = answers.get(dim.key)
        if not segments.is_valid(dim.key, code):
            raise PortalError("Choose one of the answers listed.", field=dim.key)
        if dim.key in locked and code is not None and code != getattr(user, dim.key):
            raise PortalError(f"{dim.label} comes from your association's records and cannot "
                              "be changed here.", field=dim.key)
    user.display_name = name
    if time_zone is not None:
        user.time_zone = time_zone
    for dim in segments.DIMENSIONS:
        if dim.key not in locked:
            setattr(user, dim.key, answers.get(dim.key))
    db.session.flush()


def delete_account(user: User, password: str) -> int:
    """Remove the member's personal data and the account; keep aggregate counts.

    Every registered deletion hook anonymises its area's rows first; the user row
    (with its tokens) then goes. Returns the id the account had."""
    if not check_password(user, password):
        raise PortalError("That is not your password.", field="password")
    return _delete(user)


def delete_sso_account(user: User, typed_email: str, signed_in_at: int | None) -> int:
    """Delete an account that has no portal password (its association signs it in): the
    member types the account's address, within RECENT_LOGIN_MINUTES of signing in."""
    limit = current_app.config["RECENT_LOGIN_MINUTES"]
    if not isinstance(signed_in_at, int) or time.time() - signed_in_at > limit * 60:
        raise PortalError(f"For your safety, sign out and sign in again with your association, "
                          f"then delete your account within {limit} minutes.", field="email")
    if (typed_email or "").strip().lower() != user.email.lower():
        raise PortalError("Type the e-mail address of your account to confirm.", field="email")
    return _delete(user)


def _delete(user: User) -> int:
    user_id = user.id
    throttle.forget(user.email)
    run_deletion_hooks(user)
    audit.record(None, "account.delete", ("users", user_id), "deleted by the member")
    db.session.delete(user)
    db.session.flush()
    log.info("account deleted user=%s", user_id)
    return user_id
