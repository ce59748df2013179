"""Argon2id password hashing with parameters from the configuration."""

from __future__ import annotations

import contextlib
import functools
from importlib import resources

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from flask import current_app

_DUMMY_HASHES: dict[tuple[int, int, int], str] = {}


def _hasher() -> PasswordHasher:
    cfg = current_app.config
    return PasswordHasher(
        time_cost=cfg["ARGON2_TIME_COST"],
        memory_cost=cfg["ARGON2_MEMORY_COST"],
        parallelism=cfg["ARGON2_PARALLELISM"],
    )


def hash_password(password: str) -> str:
    return _hasher().hash(password)


def verify_password(stored_hash: str | None, password: str) -> bool:
    """True when `password` matches. With no stored hash, still spends the time of a
    real check so that unknown accounts cannot be told apart by timing."""
    hasher = _hasher()
    if not stored_hash:
        key = (hasher.time_cost, hasher.memory_cost, hasher.parallelism)
        if key not in _DUMMY_HASHES:
            _DUMMY_HASHES[key] = hasher.hash("not-a-real-password-for-timing")
        stored_hash = _DUMMY_HASHES[key]
        with contextlib.suppress(VerifyMismatchError, VerificationError, InvalidHashError):
            hasher.verify(stored_hash, password)
        return False
    try:
        return hasher.verify(stored_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def needs_rehash(stored_hash: str) -> bool:
    return _hasher().check_needs_rehash(stored_hash)


# Password rules ---------------------------------------------------------------
# 12 to 128 characters of any kind, no composition rules; refused when among the
# 10,000 most common passwords or when it contains the e-mail's local part.
MIN_LENGTH = 12
MAX_LENGTH = 128
# Shorter local parts ("al@...") would refuse half the dictionary without
# making anything safer.
MIN_LOCAL_PART = 3


@functools.cache
def common_passwords() -> frozenset[str]:
    text = resources.files("portal.data").joinpath("common-passwords.txt").read_text("utf-8")
    return frozenset(
        line.strip() for line in text.splitlines() if line.strip() and not line.startswith("#")
    )


def password_problem(password: str, email: str | None = None) -> str | None:
    """Why `password` is refused, or None when it is acceptable."""
    if len(password) < MIN_LENGTH:
        return f"Your password must be at least {MIN_LENGTH} characters long."
    if len(password) > MAX_LENGTH:
        return f"Your password must be at most {MAX_LENGTH} characters long."
    folded = password.casefold()
    if folded in common_passwords() or folded.strip() in common_passwords():
        return "That is one of the most commonly used passwords. Please choose another."
    local = (email or "").rpartition("@")[0].casefold()
    if len(local) >= MIN_LOCAL_PART and local in folded:
        return "Your password must not contain your e-mail address."
    return None
