"""Personal campaign links: an opaque token per recipient, never stored.

The token is an HMAC of the campaign id and the address under a key derived from
SECRET_KEY (nobody can reverse it to the address without that key):
the same link goes out in the invitation and in every reminder, it carries no
personal data, and the database stores only its SHA-256 (a copy of the database
hands out no working link). Rotating SECRET_KEY ends every campaign link.
"""

from __future__ import annotations

import base64
import hashlib
import hmac

from flask import current_app


def _key() -> bytes:
    secret = current_app.config["SECRET_KEY"].encode()
    return hashlib.sha256(b"portal campaign link v1\x00" + secret).digest()


def token_for(campaign_id: int, email: str, key: bytes | None = None) -> str:
    mac = hmac.new(key or _key(), f"{campaign_id}\x00{email}".encode(), hashlib.sha256)
    return base64.urlsafe_b64encode(mac.digest()[:24]).decode().rstrip("=")


def digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def key() -> bytes:
    return _key()
