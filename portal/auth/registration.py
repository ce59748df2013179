"""Who may register: the registration mode, invitations and the roster check.

Flush, never commit. The roster import itself lives in portal/admin/roster.py.
"""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa
from flask import current_app

from portal import audit
from portal.auth.tokens import hash_token, new_token
from portal.errors import Conflict, NotFound, PortalError
from portal.extensions import db
from portal.models import Invitation, RosterEntry, SiteSetting, User
from portal.timeutil import now_utc

MODES = {
    "open": "Open: anyone may create an account",
    "roster": "Roster: only addresses on the imported member roster",
    "invitation": "Invitation only: an admin invites each person by e-mail",
}
MODE_KEY = "registration_mode"


def normalise_email(email: str) -> str:
    return (email or "").strip().lower()


def get_mode() -> str:
    """The registration mode an admin chose, else REGISTRATION_MODE from the configuration."""
    value = db.session.scalar(sa.select(SiteSetting.value).where(SiteSetting.key == MODE_KEY))
    mode = value or current_app.config.get("REGISTRATION_MODE", "open")
    return mode if mode in MODES else "open"


def set_mode(actor: User, mode: str) -> None:
    if mode not in MODES:
        raise PortalError("Choose one of the registration modes.", field="mode")
    old = get_mode()
    setting = db.session.get(SiteSetting, MODE_KEY)
    if setting is None:
        db.session.add(SiteSetting(key=MODE_KEY, value=mode))
    else:
        setting.value = mode
    audit.record(actor, "registration.mode", ("site_settings", MODE_KEY),
                 {"from": old, "to": mode})
    db.session.flush()


def roster_entry_for(email: str) -> RosterEntry | None:
    return db.session.scalar(
        sa.select(RosterEntry).where(RosterEntry.email == normalise_email(email)))


# Invitations ------------------------------------------------------------------

def create_invitation(actor: User, email: str) -> str:
    """Invite `email`; returns the token for the link. An earlier pending invitation
    to the same address is revoked so only the newest link works."""
    email = normalise_email(email)
    if db.session.scalar(sa.select(User.id).where(User.email == email)) is not None:
        raise Conflict("There is already an account with that address.", field="email")
    now = now_utc()
    db.session.execute(sa.update(Invitation).where(
        Invitation.email == email, Invitation.accepted_at.is_(None),
        Invitation.revoked_at.is_(None)).values(revoked_at=now))
    token, digest = new_token()
    invitation = Invitation(email=email, token_hash=digest, invited_by_id=actor.id,
                            expires_at=now + timedelta(days=current_app.config["INVITATION_DAYS"]))
    db.session.add(invitation)
    db.session.flush()
    audit.record(actor, "invitation.create", invitation, {"email": email})
    return token


def revoke_invitation(actor: User, invitation_id: int) -> Invitation:
    invitation = db.session.get(Invitation, invitation_id)
    if invitation is None:
        raise NotFound("No such invitation.")
    if not invitation.is_usable():
        raise Conflict(f"That invitation is already {invitation.status}.")
    invitation.revoked_at = now_utc()
    audit.record(actor, "invitation.revoke", invitation, {"email": invitation.email})
    db.session.flush()
    return invitation


def find_invitation(token: str | None) -> Invitation | None:
    """The usable invitation for a link's token, or None."""
    if not token or len(token) > 200:
        return None
    invitation = db.session.scalar(
        sa.select(Invitation).where(Invitation.token_hash == hash_token(token)))
    return invitation if invitation is not None and invitation.is_usable() else None
