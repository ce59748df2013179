"""Single-use, expiring tokens for e-mailed links. Flush, never commit."""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

import sqlalchemy as sa
from flask import current_app

from portal.extensions import db
from portal.models import AccountToken, TokenPurpose, User
from portal.timeutil import now_utc


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


def new_token() -> tuple[str, str]:
    """A fresh random token and the hash that is stored for it."""
    token = secrets.token_urlsafe(32)
    return token, hash_token(token)


def lifetime(purpose: TokenPurpose) -> timedelta:
    cfg = current_app.config
    if purpose == TokenPurpose.RESET:
        return timedelta(minutes=cfg["PASSWORD_RESET_MINUTES"])
    if purpose == TokenPurpose.SET_PASSWORD:
        return timedelta(hours=cfg["SET_PASSWORD_HOURS"])
    if purpose == TokenPurpose.SIGNIN:
        return timedelta(minutes=cfg["SIGNIN_LINK_MINUTES"])
    return timedelta(hours=cfg["VERIFY_TOKEN_HOURS"])


def issue(user: User, purpose: TokenPurpose) -> str:
    """Create a token for `user`; earlier unused tokens of the same purpose stop working."""
    revoke(user, purpose)
    token, digest = new_token()
    db.session.add(AccountToken(user_id=user.id, purpose=purpose.value, token_hash=digest,
                                expires_at=now_utc() + lifetime(purpose)))
    db.session.flush()
    return token


def revoke(user: User, *purposes: TokenPurpose) -> None:
    """Mark every unused token of `user` (for these purposes, or all) as used."""
    stmt = sa.update(AccountToken).where(AccountToken.user_id == user.id,
                                         AccountToken.used_at.is_(None))
    if purposes:
        stmt = stmt.where(AccountToken.purpose.in_([p.value for p in purposes]))
    db.session.execute(stmt.values(used_at=now_utc()))


def find_usable(token: str, *purposes: TokenPurpose) -> AccountToken | None:
    """The unused, unexpired token row for `token`, or None."""
    if not token or len(token) > 200:
        return None
    row = db.session.scalar(sa.select(AccountToken).where(
        AccountToken.token_hash == hash_token(token),
        AccountToken.purpose.in_([p.value for p in purposes])))
    if row is None or not row.is_usable() or not row.user.active:
        return None
    return row


def find_any(token: str, *purposes: TokenPurpose) -> AccountToken | None:
    """The token row for `token`, used or not (to say why a link no longer works)."""
    if not token or len(token) > 200:
        return None
    return db.session.scalar(sa.select(AccountToken).where(
        AccountToken.token_hash == hash_token(token),
        AccountToken.purpose.in_([p.value for p in purposes])))
