"""Sign-in throttling that slows password guessing but never locks the owner out.

Following OWASP's guidance on brute force (growing delays, device cookies):

- Failures slow down the pair (address typed, client). A client is its network
  (an IPv4 address, an IPv6 /64) or, when its device cookie vouches for the address,
  that device. After SIGNIN_FREE_FAILURES failures each attempt must wait
  SIGNIN_DELAY_BASE_SECONDS, doubling up to SIGNIN_DELAY_MAX_SECONDS.
- The address as a whole slows down only when SIGNIN_ACCOUNT_CLIENTS different
  clients have failed on it, growing up to a ceiling (SIGNIN_ACCOUNT_DELAY_MAX_SECONDS),
  and never for a device whose cookie vouches for it.
- A device that signed in before carries a signed device cookie; the owner also has
  a sign-in link by e-mail that no throttle stops.

Every row is keyed by an HMAC of the normalised address (and the client), so the
state exists alike for addresses with and without an account, and the answers and
the work are the same for both. Rows expire after SIGNIN_WINDOW_MINUTES.

Flush, never commit.
"""

from __future__ import annotations

import hashlib
import hmac
import math
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from flask import current_app, request
from itsdangerous import BadSignature, URLSafeTimedSerializer
from sqlalchemy.dialects import postgresql, sqlite

from portal import timeutil
from portal.auth.registration import normalise_email
from portal.extensions import db
from portal.models import SigninAccountFailures, SigninThrottle
from portal.netaddr import client_network

DEVICE_COOKIE = "portal_device"
# Addresses one device cookie vouches for (a shared family computer, a work and a
# private address); the oldest drops out first.
DEVICE_MAX_ADDRESSES = 5
# Failures since the last sign-in are remembered this long for the owner's notice.
ALERT_MEMORY = timedelta(days=30)
ALERT_INTERVAL = timedelta(days=1)


@dataclass(frozen=True)
class Client:
    """Who is trying: a network, or a device whose cookie vouches for the address."""

    network: str
    device: str | None = None

    @property
    def trusted(self) -> bool:
        return self.device is not None

    @property
    def label(self) -> str:
        return f"device:{self.device}" if self.device else f"net:{self.network}"


@dataclass(frozen=True)
class Failure:
    failures: int      # failures on the address since its last sign-in
    alert: bool        # this failure is the one that tells the owner (at most daily)


@dataclass(frozen=True)
class Earlier:
    """What happened on the address since its last sign-in (for the notice)."""

    failures: int = 0
    last_failure_at: datetime | None = None


# Keys -----------------------------------------------------------------------------

def _secret() -> bytes:
    key = current_app.config["SECRET_KEY"]
    raw = key.encode() if isinstance(key, str) else bytes(key)
    return hashlib.sha256(b"portal.signin-throttle\0" + raw).digest()


def _hmac(*parts: str) -> str:
    message = "\0".join(parts).encode("utf-8", "surrogatepass")
    return hmac.new(_secret(), message, hashlib.sha256).hexdigest()


def account_key(email: str) -> str:
    return _hmac("account", normalise_email(email)[:254])


def pair_key(email: str, client: Client) -> str:
    return _hmac("pair", normalise_email(email)[:254], client.label)


def _device_tag(email: str) -> str:
    return _hmac("device", normalise_email(email)[:254])[:32]


# Device cookies ---------------------------------------------------------------------

def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt="portal.device-cookie")


def _read_device() -> tuple[str, list[str]] | None:
    value = request.cookies.get(DEVICE_COOKIE) if request else None
    if not value or len(value) > 1024:
        return None
    try:
        data = _serializer().loads(value, max_age=current_app.config["DEVICE_COOKIE_DAYS"] * 86400)
    except BadSignature:
        return None
    nonce, tags = (data.get("d"), data.get("a")) if isinstance(data, dict) else (None, None)
    if not isinstance(nonce, str) or not isinstance(tags, list):
        return None
    return nonce, [t for t in tags if isinstance(t, str)][:DEVICE_MAX_ADDRESSES]


def client_for(email: str) -> Client:
    """The client of the current request as the throttle sees it for `email`."""
    network = client_network()
    device = _read_device()
    if device is not None and _device_tag(email) in device[1]:
        return Client(network=network, device=device[0])
    return Client(network=network)


def device_cookie_after_signin(email: str) -> str:
    """The device cookie to hand out after a successful sign-in to `email`: a fresh
    nonce (a stolen old cookie stops counting) that vouches for this address first."""
    earlier = _read_device()
    tag = _device_tag(email)
    tags = [tag] + [t for t in (earlier[1] if earlier else []) if t != tag]
    return _serializer().dumps({"d": secrets.token_urlsafe(16),
                                "a": tags[:DEVICE_MAX_ADDRESSES]})


def set_device_cookie(response, value: str) -> None:
    cfg = current_app.config
    response.set_cookie(DEVICE_COOKIE, value, max_age=cfg["DEVICE_COOKIE_DAYS"] * 86400,
                        httponly=True, samesite="Lax", secure=cfg["SESSION_COOKIE_SECURE"])


# Delays -----------------------------------------------------------------------------

def _growing(base: int, steps: int, ceiling: int) -> timedelta:
    if steps < 0:
        return timedelta(0)
    return timedelta(seconds=min(base * (2 ** min(steps, 30)), ceiling))


def pair_delay(failures: int) -> timedelta:
    """How long the pair waits after its `failures`-th failure."""
    cfg = current_app.config
    return _growing(cfg["SIGNIN_DELAY_BASE_SECONDS"],
                    failures - cfg["SIGNIN_FREE_FAILURES"] - 1, cfg["SIGNIN_DELAY_MAX_SECONDS"])


def account_delay(clients: int) -> timedelta:
    """How long clients without a device cookie wait once `clients` clients failed."""
    cfg = current_app.config
    return _growing(cfg["SIGNIN_DELAY_BASE_SECONDS"], clients - cfg["SIGNIN_ACCOUNT_CLIENTS"],
                    cfg["SIGNIN_ACCOUNT_DELAY_MAX_SECONDS"])


def _window() -> timedelta:
    return timedelta(minutes=current_app.config["SIGNIN_WINDOW_MINUTES"])


def wait_seconds(email: str, client: Client) -> int:
    """Seconds before `client` may try a password on `email` (0: now). The same
    statements run for every address, with or without an account."""
    now = timeutil.now_utc()
    cutoff = now - _window()
    until = now
    pair = db.session.execute(
        sa.select(SigninThrottle.failures, SigninThrottle.last_failure_at)
        .where(SigninThrottle.key == pair_key(email, client))).first()
    if pair is not None and pair.last_failure_at > cutoff:
        until = max(until, pair.last_failure_at + pair_delay(pair.failures))
    if not client.trusted:
        clients, latest = db.session.execute(
            sa.select(sa.func.count(), sa.func.max(SigninThrottle.last_failure_at))
            .where(SigninThrottle.account_key == account_key(email),
                   SigninThrottle.last_failure_at > cutoff)).one()
        if latest is not None:
            until = max(until, latest + account_delay(clients))
    return math.ceil((until - now).total_seconds())


# Recording ----------------------------------------------------------------------------

def _insert(model):
    if db.session.get_bind().dialect.name == "postgresql":
        return postgresql.insert(model)
    return sqlite.insert(model)


def record_failure(email: str, client: Client) -> Failure:
    """Count a failed sign-in of `client` on `email` (race-safe upserts)."""
    now = timeutil.now_utc()
    cutoff = now - _window()
    akey = account_key(email)
    t = SigninThrottle.__table__
    stale = t.c.last_failure_at <= cutoff
    stmt = _insert(SigninThrottle).values(
        key=pair_key(email, client), account_key=akey, failures=1, first_failure_at=now,
        last_failure_at=now, expires_at=now + _window())
    db.session.execute(stmt.on_conflict_do_update(index_elements=["key"], set_={
        "failures": sa.case((stale, 1), else_=t.c.failures + 1),
        "first_failure_at": sa.case((stale, now), else_=t.c.first_failure_at),
        "last_failure_at": now,
        "expires_at": now + _window(),
    }))
    a = SigninAccountFailures.__table__
    stmt = _insert(SigninAccountFailures).values(
        account_key=akey, failures=1, last_failure_at=now, alerted_at=None,
        expires_at=now + ALERT_MEMORY)
    db.session.execute(stmt.on_conflict_do_update(index_elements=["account_key"], set_={
        "failures": sa.case((a.c.expires_at <= now, 1), else_=a.c.failures + 1),
        "last_failure_at": now,
        "expires_at": now + ALERT_MEMORY,
    }))
    # One statement decides the alert, so two simultaneous failures send one e-mail.
    alerted = db.session.execute(
        sa.update(SigninAccountFailures)
        .where(SigninAccountFailures.account_key == akey,
               SigninAccountFailures.failures >= current_app.config["SIGNIN_ALERT_FAILURES"],
               sa.or_(SigninAccountFailures.alerted_at.is_(None),
                      SigninAccountFailures.alerted_at <= now - ALERT_INTERVAL))
        .values(alerted_at=now)
        .returning(SigninAccountFailures.failures)).first()
    failures = alerted[0] if alerted is not None else db.session.scalar(
        sa.select(SigninAccountFailures.failures)
        .where(SigninAccountFailures.account_key == akey))
    purge(now)
    db.session.flush()
    return Failure(failures=int(failures or 0), alert=alerted is not None)


def record_success(email: str, client: Client) -> Earlier:
    """A successful sign-in: this client's failures are forgiven, and the failures on
    the address since its last sign-in are handed back for the owner's notice."""
    now = timeutil.now_utc()
    db.session.execute(sa.delete(SigninThrottle).where(
        SigninThrottle.key == pair_key(email, client)))
    akey = account_key(email)
    row = db.session.execute(
        sa.select(SigninAccountFailures.failures, SigninAccountFailures.last_failure_at,
                  SigninAccountFailures.expires_at)
        .where(SigninAccountFailures.account_key == akey)).first()
    earlier = Earlier()
    if row is not None and row.expires_at > now and row.failures:
        earlier = Earlier(failures=row.failures, last_failure_at=row.last_failure_at)
        # alerted_at stays: a new burst the same day does not send a second e-mail.
        db.session.execute(sa.update(SigninAccountFailures)
                           .where(SigninAccountFailures.account_key == akey)
                           .values(failures=0))
    db.session.flush()
    return earlier


def forgive(email: str, client: Client) -> None:
    """Forget the failures of this client on `email` (its owner reset the password here)."""
    db.session.execute(sa.delete(SigninThrottle).where(
        SigninThrottle.key == pair_key(email, client)))


def purge(now: datetime | None = None) -> None:
    """Forget expired throttle rows."""
    now = now or timeutil.now_utc()
    db.session.execute(sa.delete(SigninThrottle).where(SigninThrottle.expires_at <= now))
    db.session.execute(sa.delete(SigninAccountFailures)
                       .where(SigninAccountFailures.expires_at <= now))


def failures_since_signin(email: str) -> int:
    """For the admin console: failed sign-ins on `email` since its last sign-in."""
    now = timeutil.now_utc()
    value = db.session.scalar(
        sa.select(SigninAccountFailures.failures)
        .where(SigninAccountFailures.account_key == account_key(email),
               SigninAccountFailures.expires_at > now))
    return int(value or 0)


def forget(email: str) -> None:
    """Drop what the throttle holds about `email` (the account is being deleted)."""
    akey = account_key(email)
    db.session.execute(sa.delete(SigninThrottle).where(SigninThrottle.account_key == akey))
    db.session.execute(sa.delete(SigninAccountFailures)
                       .where(SigninAccountFailures.account_key == akey))
