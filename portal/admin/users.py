"""Managing accounts: the user list, roles, deactivation. Flush, never commit."""

from __future__ import annotations

import sqlalchemy as sa

from portal import audit
from portal.errors import Conflict, NotFound, PortalError
from portal.extensions import db
from portal.models import Role, User

PER_PAGE = 25
STATUSES = {"active": "Active", "deactivated": "Deactivated"}
VERIFIED = {"yes": "Verified", "no": "Not verified"}


def user_query(q: str = "", role: str = "", status: str = "", verified: str = "") -> sa.Select:
    """The filtered, ordered user list as a statement (the view paginates it)."""
    stmt = sa.select(User).order_by(User.email)
    q = (q or "").strip().lower()[:100]
    if q:
        like = "%" + q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        stmt = stmt.where(sa.or_(sa.func.lower(User.email).like(like, escape="\\"),
                                 sa.func.lower(User.display_name).like(like, escape="\\"),
                                 sa.func.lower(User.member_number).like(like, escape="\\")))
    if role in {r.value for r in Role}:
        stmt = stmt.where(User.role == role)
    if status == "active":
        stmt = stmt.where(User.active.is_(True))
    elif status == "deactivated":
        stmt = stmt.where(User.active.is_(False))
    if verified == "yes":
        stmt = stmt.where(User.email_verified_at.is_not(None))
    elif verified == "no":
        stmt = stmt.where(User.email_verified_at.is_(None))
    return stmt


def get_user(user_id: int) -> User:
    user = db.session.get(User, user_id)
    if user is None:
        raise NotFound("No such user.")
    return user


def _not_self(actor: User, user: User, what: str) -> None:
    if actor.id == user.id:
        raise Conflict(f"You cannot {what} your own account; ask another admin.")


def change_role(actor: User, user: User, role: str) -> None:
    if role not in {r.value for r in Role}:
        raise PortalError("Choose member, leader or admin.", field="role")
    _not_self(actor, user, "change the role of")
    if user.role == role:
        return
    old = user.role
    user.role = role
    # New rights, new session: the member signs in again with the new role.
    user.end_all_sessions()
    audit.record(actor, "user.role", user, {"from": old, "to": role})
    db.session.flush()


def deactivate(actor: User, user: User) -> None:
    _not_self(actor, user, "deactivate")
    if not user.active:
        raise Conflict("That account is already deactivated.")
    user.active = False
    user.end_all_sessions()
    audit.record(actor, "user.deactivate", user)
    db.session.flush()


def reactivate(actor: User, user: User) -> None:
    if user.active:
        raise Conflict("That account is already active.")
    user.active = True
    audit.record(actor, "user.reactivate", user)
    db.session.flush()


def record_resend(actor: User, user: User) -> None:
    audit.record(actor, "user.resend_verification", user)
    db.session.flush()
