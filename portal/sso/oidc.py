"""OpenID Connect relying party: discovery, signing keys with rotation, the authorization
code flow with PKCE, `state` and `nonce`, and ID-token validation.

Authlib's OAuth2Session builds the authorization URL (S256 code challenge) and redeems
the code; joserfc (Authlib's JOSE library) verifies the ID token's signature; the claims
checks (issuer, audience, authorized party, expiry, issued-at, nonce) are made here,
explicitly, so that each refusal has its own reason and test.

Discovery documents and key sets are kept per process for SSO_METADATA_CACHE_SECONDS.
A token signed with a key id the cached set does not hold makes one fresh fetch of the
provider's keys: that is how a key rotation at the provider is followed.
"""

from __future__ import annotations

import base64
import hmac
import json
import secrets
import threading
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode, urlsplit

import requests
from authlib.integrations.base_client.errors import OAuthError
from authlib.integrations.requests_client import OAuth2Session
from authlib.oauth2.rfc6749.errors import OAuth2Error
from flask import current_app
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet

from portal.errors import PortalError

# Asymmetric signatures only: "none" is never accepted, and HMAC with the client secret
# is left out so that the secret cannot sign tokens the portal then trusts.
ALLOWED_ALGS = ("RS256", "RS384", "RS512", "PS256", "PS384", "PS512",
                "ES256", "ES384", "ES512", "EdDSA")
REQUIRED_METADATA = ("issuer", "authorization_endpoint", "token_endpoint", "jwks_uri")


class ProviderUnavailable(PortalError):
    """The provider cannot be reached or answers nonsense (a 502 page)."""

    status = 502


class TokenRejected(PortalError):
    """The provider's answer fails a check (a tampered, expired or misdirected token)."""

    status = 400


@dataclass(frozen=True)
class Metadata:
    issuer: str
    authorization_endpoint: str
    token_endpoint: str
    jwks_uri: str
    userinfo_endpoint: str | None
    end_session_endpoint: str | None
    claims_supported: list[str] | None
    algs: tuple[str, ...]


_lock = threading.Lock()
_metadata: dict[str, tuple[float, Metadata]] = {}
_keys: dict[str, tuple[float, KeySet]] = {}


def clear_caches() -> None:
    with _lock:
        _metadata.clear()
        _keys.clear()


def _timeout() -> float:
    return float(current_app.config["SSO_HTTP_TIMEOUT_SECONDS"])


def _get_json(url: str, what: str) -> dict:
    seconds = _timeout()
    try:
        response = requests.get(url, headers={"Accept": "application/json"}, timeout=seconds)
    except requests.RequestException:
        raise ProviderUnavailable(f"The {what} could not be fetched from {url}.")
    if response.status_code != 200:
        raise ProviderUnavailable(f"The {what} at {url} answered HTTP {response.status_code}.")
    try:
        data = response.json()
    except ValueError:
        raise ProviderUnavailable(f"The {what} at {url} is not JSON.")
    if not isinstance(data, dict):
        raise ProviderUnavailable(f"The {what} at {url} is not a JSON object.")
    return data


def _is_web_url(value: Any, allow_http: bool) -> bool:
    if not isinstance(value, str):
        return False
    parts = urlsplit(value)
    return bool(parts.netloc) and (parts.scheme == "https" or
                                   (allow_http and parts.scheme == "http"))


def _http_allowed(url: str) -> bool:
    """Plain http only for a provider on this machine (tests, the demo) or when allowed."""
    host = urlsplit(url).hostname or ""
    return current_app.config["SSO_ALLOW_HTTP"] or host in ("127.0.0.1", "localhost", "::1")


def fetch_metadata(discovery_url: str, *, fresh: bool = False) -> Metadata:
    """The provider's discovery document, checked: every endpoint an https URL (http only
    for 127.0.0.1), PKCE with S256 supported, an asymmetric signing algorithm offered."""
    now = time.monotonic()
    ttl = current_app.config["SSO_METADATA_CACHE_SECONDS"]
    with _lock:
        hit = _metadata.get(discovery_url)
    if hit and not fresh and now - hit[0] < ttl:
        return hit[1]
    allow_http = _http_allowed(discovery_url)
    if not _is_web_url(discovery_url, allow_http):
        raise ProviderUnavailable("The discovery URL must be an https:// address.")
    doc = _get_json(discovery_url, "discovery document")
    for name in REQUIRED_METADATA:
        if not _is_web_url(doc.get(name), allow_http):
            raise ProviderUnavailable(f'The discovery document has no usable "{name}".')
    expected = discovery_url.removesuffix("/.well-known/openid-configuration")
    if doc["issuer"].rstrip("/") != expected.rstrip("/"):
        raise ProviderUnavailable(f'The discovery document names the issuer "{doc["issuer"]}", '
                                  f"not {expected}.")
    methods = doc.get("code_challenge_methods_supported")
    if methods is not None and "S256" not in methods:
        raise ProviderUnavailable("The provider does not support PKCE with S256.")
    algs = tuple(a for a in doc.get("id_token_signing_alg_values_supported", ["RS256"])
                 if a in ALLOWED_ALGS)
    if not algs:
        raise ProviderUnavailable("The provider signs ID tokens with no algorithm the portal "
                                  f"accepts ({', '.join(ALLOWED_ALGS)}).")
    optional = {}
    for name in ("userinfo_endpoint", "end_session_endpoint"):
        optional[name] = doc.get(name) if _is_web_url(doc.get(name), allow_http) else None
    claims = doc.get("claims_supported")
    meta = Metadata(
        issuer=doc["issuer"], authorization_endpoint=doc["authorization_endpoint"],
        token_endpoint=doc["token_endpoint"], jwks_uri=doc["jwks_uri"],
        claims_supported=[c for c in claims if isinstance(c, str)]
        if isinstance(claims, list) else None, algs=algs, **optional)
    with _lock:
        _metadata[discovery_url] = (now, meta)
    return meta


def fetch_keys(meta: Metadata, *, fresh: bool = False) -> KeySet:
    now = time.monotonic()
    ttl = current_app.config["SSO_METADATA_CACHE_SECONDS"]
    with _lock:
        hit = _keys.get(meta.jwks_uri)
    if hit and not fresh and now - hit[0] < ttl:
        return hit[1]
    data = _get_json(meta.jwks_uri, "key set")
    usable = [k for k in data.get("keys", []) if isinstance(k, dict)
              and k.get("use", "sig") == "sig" and k.get("kty") in ("RSA", "EC", "OKP")]
    try:
        keyset = KeySet.import_key_set({"keys": usable})
    except (JoseError, ValueError, TypeError, KeyError):
        raise ProviderUnavailable("The provider's key set cannot be read.")
    if not keyset.keys:
        raise ProviderUnavailable("The provider publishes no signing keys.")
    with _lock:
        _keys[meta.jwks_uri] = (now, keyset)
    return keyset


def _header(raw: str) -> dict:
    try:
        part = raw.split(".")[0]
        header = json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))
    except (ValueError, IndexError):
        raise TokenRejected("The ID token is not a signed JWT.")
    if not isinstance(header, dict):
        raise TokenRejected("The ID token is not a signed JWT.")
    return header


def _key_for(meta: Metadata, kid: str | None):
    keyset = fetch_keys(meta)
    for attempt in range(2):
        matches = [k for k in keyset.keys if kid is None or k.kid == kid]
        if kid is None and len(keyset.keys) == 1:
            return keyset.keys[0]
        if kid is not None and matches:
            return matches[0]
        if attempt == 0:  # a key we have not seen yet: the provider may have rotated
            keyset = fetch_keys(meta, fresh=True)
    raise TokenRejected("The ID token is signed with a key the provider does not publish.")


def validate_id_token(raw: str, meta: Metadata, client_id: str, nonce: str,
                      now: float | None = None) -> dict[str, Any]:
    """Verify the ID token's signature with the provider's published keys and check its
    claims (OpenID Connect Core 3.1.3.7). Returns the claims; raises TokenRejected."""
    if not isinstance(raw, str) or raw.count(".") != 2:
        raise TokenRejected("The provider sent no signed ID token.")
    header = _header(raw)
    alg = header.get("alg")
    if alg not in meta.algs:
        raise TokenRejected(f"The ID token is signed with {alg!r}, which is not accepted.")
    key = _key_for(meta, header.get("kid"))
    try:
        token = jwt.decode(raw, key, algorithms=[alg])
    except JoseError:
        raise TokenRejected("The ID token's signature does not verify.")
    claims = token.claims
    now = time.time() if now is None else now
    leeway = current_app.config["SSO_CLOCK_SKEW_SECONDS"]
    if claims.get("iss") != meta.issuer:
        raise TokenRejected("The ID token was issued by someone else.")
    aud = claims.get("aud")
    audiences = aud if isinstance(aud, list) else [aud]
    if client_id not in audiences:
        raise TokenRejected("The ID token was issued for another application.")
    if len(audiences) > 1 and claims.get("azp") != client_id:
        raise TokenRejected("The ID token was issued for another application.")
    if "azp" in claims and claims["azp"] != client_id:
        raise TokenRejected("The ID token was issued for another application.")
    exp, iat = claims.get("exp"), claims.get("iat")
    if not isinstance(exp, int | float) or not isinstance(iat, int | float):
        raise TokenRejected("The ID token has no validity period.")
    if now > exp + leeway:
        raise TokenRejected("The ID token has expired.")
    if iat > now + leeway:
        raise TokenRejected("The ID token was issued in the future.")
    if not isinstance(claims.get("nonce"), str) or not hmac.compare_digest(
            claims["nonce"], nonce):
        raise TokenRejected("The ID token does not belong to this sign-in (nonce).")
    sub = claims.get("sub")
    if not isinstance(sub, str) or not sub or len(sub) > 255:
        raise TokenRejected("The ID token names nobody.")
    return dict(claims)


@dataclass
class Flow:
    """What the portal remembers (in the signed session) between redirect and callback."""

    provider_id: int
    state: str
    nonce: str
    verifier: str
    started: int
    next_url: str

    def as_dict(self) -> dict:
        return self.__dict__.copy()


def _session(client_id: str, secret: str | None, redirect_uri: str,
             scope: str) -> OAuth2Session:
    client = OAuth2Session(client_id, secret, scope=scope, redirect_uri=redirect_uri,
                           code_challenge_method="S256")
    return client


def start(meta: Metadata, client_id: str, scope: str, redirect_uri: str, provider_id: int,
          next_url: str) -> tuple[str, Flow]:
    """The authorization URL to send the browser to, and the flow to keep."""
    flow = Flow(provider_id=provider_id, state=secrets.token_urlsafe(32),
                nonce=secrets.token_urlsafe(32), verifier=secrets.token_urlsafe(64),
                started=int(time.time()), next_url=next_url)
    client = _session(client_id, None, redirect_uri, scope)
    url, _ = client.create_authorization_url(meta.authorization_endpoint, state=flow.state,
                                             code_verifier=flow.verifier, nonce=flow.nonce)
    return url, flow


def check_state(flow: Flow, state: str | None) -> None:
    if not state or not hmac.compare_digest(flow.state, state):
        raise TokenRejected("This answer from the provider does not belong to this sign-in.")
    if time.time() - flow.started > current_app.config["SSO_FLOW_MINUTES"] * 60:
        raise TokenRejected("The sign-in took too long.")


@dataclass
class Result:
    claims: dict[str, Any]  # ID-token claims, with UserInfo claims for the same subject
    id_token: str


def finish(meta: Metadata, client_id: str, secret: str | None, scope: str, redirect_uri: str,
           flow: Flow, code: str) -> Result:
    """Redeem the code (with the PKCE verifier), validate the ID token and add the
    UserInfo claims of the same subject."""
    client = _session(client_id, secret, redirect_uri, scope)
    try:
        token = client.fetch_token(meta.token_endpoint, code=code, code_verifier=flow.verifier,
                                   grant_type="authorization_code", timeout=_timeout())
    except (OAuth2Error, OAuthError):
        raise TokenRejected("The provider refused to complete this sign-in.")
    except requests.RequestException:
        raise ProviderUnavailable("The provider could not be reached to complete the sign-in.")
    except ValueError:
        raise ProviderUnavailable("The provider's token answer cannot be read.")
    raw = token.get("id_token")
    claims = validate_id_token(raw, meta, client_id, flow.nonce)
    if meta.userinfo_endpoint and token.get("access_token"):
        try:
            response = client.get(meta.userinfo_endpoint, timeout=_timeout())
            info = response.json() if response.status_code == 200 else None
        except (requests.RequestException, ValueError):
            info = None
        if info is None or not isinstance(info, dict):
            raise ProviderUnavailable("The provider's user information could not be fetched.")
        if info.get("sub") != claims["sub"]:
            raise TokenRejected("The provider's user information is about someone else.")
        claims = {**info, **claims}
    return Result(claims=claims, id_token=raw)


def logout_url(meta: Metadata, id_token: str | None, client_id: str,
               post_logout_redirect_uri: str) -> str | None:
    """RP-initiated logout at the provider, when it offers it."""
    if not meta.end_session_endpoint:
        return None
    params = {"client_id": client_id, "post_logout_redirect_uri": post_logout_redirect_uri}
    if id_token:
        params["id_token_hint"] = id_token
    sep = "&" if "?" in meta.end_session_endpoint else "?"
    return meta.end_session_endpoint + sep + urlencode(params)

