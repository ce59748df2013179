"""Rate limits for sign-in, registration and password resets: per IP and per account.

The limits come from the configuration (RATELIMIT_AUTH_PER_IP,
RATELIMIT_AUTH_PER_ACCOUNT) and the counters live in RATELIMIT_STORAGE_URI, so
several workers or hosts sharing one Redis share the limits.
"""

from __future__ import annotations

import hashlib

from flask import current_app, request
from limits import parse_many

from portal.extensions import limiter
from portal.netaddr import client_ip


def _per_ip() -> str:
    return current_app.config["RATELIMIT_AUTH_PER_IP"]


def _per_account() -> str:
    return current_app.config["RATELIMIT_AUTH_PER_ACCOUNT"]


def account_key() -> str:
    """The account a request is about: the e-mail typed in, or the link's token.
    Hashed so the limiter's storage holds no addresses."""
    subject = (request.form.get("email") or "").strip().lower()[:254]
    if not subject:
        subject = "token:" + str((request.view_args or {}).get("token", ""))[:200]
    if not subject.strip(":") or subject == "token:":
        subject = "ip:" + client_ip()
    return "account:" + hashlib.sha256(subject.encode("utf-8", "replace")).hexdigest()[:32]


def auth_limits(view):
    """Per-IP and per-account limits on the POSTs of an account page."""
    view = limiter.limit(_per_account, key_func=account_key, methods=["POST"])(view)
    return limiter.limit(_per_ip, key_func=client_ip, methods=["POST"])(view)


def _signed_in_key() -> str:
    from flask_login import current_user

    subject = f"user:{current_user.get_id()}" if current_user.is_authenticated else (
        "ip:" + client_ip())
    return "resend:" + hashlib.sha256(subject.encode()).hexdigest()[:32]


def resend_limits(view):
    """The auth limits for a signed-in member's POST (a new verification link): per
    account, counted by the signed-in user rather than a typed address, and per IP."""
    view = limiter.limit(_per_account, key_func=_signed_in_key, methods=["POST"])(view)
    return limiter.limit(_per_ip, key_func=client_ip, methods=["POST"])(view)


# The sign-in page's endpoint: a sign-in typed on another page (a member form sent
# again after the session ran out) counts against the same buckets.
SIGNIN_SCOPE = "auth.login"


def within_signin_limits() -> bool:
    """Count one sign-in attempt against the sign-in page's per-IP and per-account
    limits; False when either is exhausted (the attempt must then not be tried)."""
    if not limiter.enabled or not current_app.config.get("RATELIMIT_ENABLED", True):
        return True
    prefix = [limiter._key_prefix] if limiter._key_prefix else []
    for spec, key in ((_per_ip(), client_ip()), (_per_account(), account_key())):
        for item in parse_many(spec):
            if not limiter.limiter.hit(item, *prefix, key, SIGNIN_SCOPE):
                return False
    return True
