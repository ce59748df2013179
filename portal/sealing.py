"""Sealing: what waits in the database (drafts, the mixing pool) is ciphertext.

Survey drafts and the anonymous answers waiting in the mixing pool are sealed with
AES-256-GCM (`cryptography`'s AEAD) under keys derived by HKDF-SHA256 from the
anonymity key, which is NEVER stored in the database:

- `ANONYMITY_KEY` in the environment (32 random bytes, base64 or hex), or
- in development only, `instance/anonymity.key`, created on first use with mode 0600
  (a file next to the database, not inside it; production never creates one).

Every sealed value carries its context as associated data (which draft, which
survey and release epoch), so a sealed value copied into another row does not
open. The mixing pool uses a fresh derived key per survey and release epoch: the
epoch moves at each release, so one batch's ciphertexts open with one key only.

A wrong key must never be used to write: the database keeps a check value (an
HMAC of a fixed text under the key, which reveals nothing about the key) in
`site_settings`. `status()` compares it; when the key is missing or does not match,
anonymous surveys refuse answers (`AnonymityKeyUnavailable`, 503) and admins see
why. Nothing is ever stored in clear instead.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import os
import secrets
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from flask import current_app, g
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.exc import IntegrityError

from portal.errors import PortalError
from portal.extensions import db
from portal.models.accounts import SiteSetting
from portal.timeutil import now_utc

CHECK_KEY = "anonymity_key_check"
CHECK_TEXT = b"member-feedback-portal anonymity key check v1"
SEALED = b"\x01"     # version byte of a sealed value
PLAIN = b"\x00"      # an attributed survey's draft: nothing anonymous to protect
OK, MISSING, WRONG = "ok", "missing", "wrong"


class AnonymityKeyUnavailable(PortalError):
    """The anonymity key is missing or is not the one the stored answers were sealed with."""

    status = 503

    def __init__(self, state: str) -> None:
        self.state = state
        super().__init__(
            "Anonymous surveys cannot take answers at the moment. Nothing you entered "
            "has been stored in a readable form; the portal's staff can see why on the "
            "survey administration page. Please try again later.")


class SealError(PortalError):
    """A sealed value does not open with the current key (wrong key or tampering)."""

    status = 503


def _parse(text: str) -> bytes | None:
    text = text.strip()
    for decode in (bytes.fromhex, lambda t: base64.urlsafe_b64decode(t + "=" * (-len(t) % 4))):
        try:
            raw = decode(text)
        except (ValueError, binascii.Error):
            continue
        if len(raw) == 32:
            return raw
    return None


def master_key() -> bytes | None:
    """The anonymity key of this process, or None when none is configured."""
    cached = current_app.extensions.get("anonymity_key")
    if cached is not None:
        return cached or None
    configured = current_app.config.get("ANONYMITY_KEY") or ""
    key = _parse(configured) if configured else None
    if key is None and not configured and current_app.config.get("ANONYMITY_KEY_FILE"):
        key = _key_from_file(Path(current_app.config["ANONYMITY_KEY_FILE"]))
    current_app.extensions["anonymity_key"] = key or b""
    return key


def _key_from_file(path: Path) -> bytes | None:
    """Development only: a key file beside the database, created once (mode 0600)."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass  # another process created it first
        else:
            with os.fdopen(fd, "w") as fh:
                fh.write(secrets.token_hex(32) + "\n")
    return _parse(path.read_text())


def check_value(key: bytes) -> str:
    return hmac.new(key, CHECK_TEXT, hashlib.sha256).hexdigest()


def _stored_check() -> str | None:
    return db.session.scalar(sa.select(SiteSetting.value).where(SiteSetting.key == CHECK_KEY))


def status() -> str:
    """OK, MISSING (no key configured) or WRONG (not the key this database uses).

    Reads only: the check value is recorded by the first write that seals."""
    cached = g.get("anonymity_key_status")
    if cached:
        return cached
    key = master_key()
    if key is None:
        state = MISSING
    else:
        stored = _stored_check()
        state = OK if stored is None or hmac.compare_digest(stored, check_value(key)) else WRONG
        g.anonymity_key_recorded = stored is not None
    g.anonymity_key_status = state
    return state


def require_key() -> bytes:
    """The master key, or AnonymityKeyUnavailable. The first key that seals anything
    in a database records its check value (in the caller's transaction)."""
    state = status()
    if state != OK:
        raise AnonymityKeyUnavailable(state)
    key = master_key()
    if not g.get("anonymity_key_recorded"):
        if _stored_check() is None:
            _record_check(key)
        g.anonymity_key_recorded = True
    return key  # type: ignore[return-value]


def _record_check(key: bytes) -> None:
    """Store the key's check value once per database."""
    row = {"key": CHECK_KEY, "value": check_value(key), "updated_at": now_utc()}
    if db.engine.dialect.name == "postgresql":
        # On a connection of its own, committed at once: inside the caller's
        # transaction, a simultaneous first use would wait on this row until the
        # caller commits.
        stmt = pg_insert(SiteSetting.__table__).values(row).on_conflict_do_nothing()
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(stmt)
        return
    # SQLite has one writer at a time anyway: with the caller's transaction.
    try:
        with db.session.begin_nested():
            db.session.add(SiteSetting(**row))
    except IntegrityError:
        pass  # recorded by a simultaneous first use; compared from now on


def _derive(master: bytes, context: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None,
                info=b"portal-seal/" + context).derive(master)


def seal(value: Any, context: str) -> bytes:
    """JSON-encode `value` and seal it under the key for `context`."""
    return seal_with(require_key(), value, context)


def seal_with(master: bytes, value: Any, context: str) -> bytes:
    """`seal` under a given master key (migrations, which must not use the session)."""
    key = _derive(master, context.encode())
    nonce = secrets.token_bytes(12)
    data = json.dumps(value, separators=(",", ":"), sort_keys=True).encode()
    return SEALED + nonce + AESGCM(key).encrypt(nonce, data, context.encode())


def unseal(blob: bytes, context: str) -> Any:
    """Open a value made by `seal` (or a PLAIN one); SealError when it does not open."""
    if not blob:
        return None
    if blob[:1] == PLAIN:
        return json.loads(blob[1:])
    state = status()
    if state != OK:
        raise AnonymityKeyUnavailable(state)
    key = _derive(master_key(), context.encode())  # type: ignore[arg-type]
    try:
        data = AESGCM(key).decrypt(blob[1:13], blob[13:], context.encode())
    except InvalidTag:
        raise SealError("A sealed survey answer does not open with the anonymity key.")
    return json.loads(data)


def plain(value: Any) -> bytes:
    """An unsealed value in the same envelope (attributed surveys' drafts)."""
    return PLAIN + json.dumps(value, separators=(",", ":"), sort_keys=True).encode()


def draft_context(survey_id: int, user_id: int) -> str:
    return f"draft/{survey_id}/{user_id}"


def pool_context(survey_id: int, epoch: int) -> str:
    return f"pool/{survey_id}/{epoch}"


def admin_message(state: str) -> str | None:
    """What admins are told when anonymous surveys cannot take answers."""
    if state == MISSING:
        return ("Anonymous surveys cannot take answers: no anonymity key is configured. "
                "Set ANONYMITY_KEY in the environment to 32 random bytes (for example "
                "python -c \"import secrets; print(secrets.token_hex(32))\") and restart.")
    if state == WRONG:
        return ("Anonymous surveys cannot take answers: ANONYMITY_KEY is not the key this "
                "database's drafts and waiting answers were sealed with. Restore the "
                "previous key and restart; nothing is stored until then.")
    return None
