"""SAML 2.0 service provider (Web Browser SSO, SP-initiated) on pysaml2, with the
`xmlsec1` binary (Debian's xmlsec1) checking XML signatures.

- The IdP's metadata is fetched from its URL (https, or http on 127.0.0.1) and kept per
  process for SSO_METADATA_CACHE_SECONDS; it must carry a signing certificate that is
  valid now.
- Assertions must be signed by that certificate (want_assertions_signed); responses that
  are not answers to a request this browser made are refused (no unsolicited responses:
  InResponseTo must match the request id kept in the session).
- pysaml2 checks the audience (the portal's entity ID), the recipient and destination
  (this provider's ACS URL), NotBefore/NotOnOrAfter with SSO_CLOCK_SKEW_SECONDS.
- Replays: every accepted assertion id is stored (`saml_assertions`) until its
  NotOnOrAfter; a second use is refused, on any host.
- Single logout: the portal sends a LogoutRequest when the IdP has an SLO endpoint.
"""

from __future__ import annotations

import base64
import datetime as dt
import logging
import shutil
import threading
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import requests
import sqlalchemy as sa
from cryptography import x509
from flask import current_app
from saml2 import BINDING_HTTP_POST, BINDING_HTTP_REDIRECT, SAMLError
from saml2.client import Saml2Client
from saml2.config import SPConfig
from saml2.metadata import create_metadata_string
from saml2.saml import NAMEID_FORMAT_PERSISTENT

from portal.errors import PortalError
from portal.extensions import db
from portal.models import SamlAssertion
from portal.sso.oidc import ProviderUnavailable, TokenRejected
from portal.timeutil import now_utc

MD_NS = "{urn:oasis:names:tc:SAML:2.0:metadata}"
REJECTED = ("The identity provider's answer failed the portal's checks (signature, audience, "
            "recipient or validity period).")
DS_NS = "{http://www.w3.org/2000/09/xmldsig#}"

_lock = threading.Lock()
_metadata: dict[str, tuple[float, str, str]] = {}  # url -> (fetched, xml, entity id)


def quiet_library_logs() -> None:
    """pysaml2 logs whole messages (attributes included): nothing of it reaches the logs."""
    lib = logging.getLogger("saml2")
    lib.setLevel(logging.CRITICAL + 1)
    lib.propagate = False


def clear_caches() -> None:
    with _lock:
        _metadata.clear()


def xmlsec_binary() -> str:
    path = shutil.which("xmlsec1")
    if not path:
        raise ProviderUnavailable("The xmlsec1 program is not installed on the portal's server.")
    return path


def _http_allowed(url: str) -> bool:
    host = urlsplit(url).hostname or ""
    return current_app.config["SSO_ALLOW_HTTP"] or host in ("127.0.0.1", "localhost", "::1")


def fetch_metadata(url: str, *, fresh: bool = False) -> tuple[str, str]:
    """The IdP's metadata XML and entity ID, checked: one IdP, an SSO endpoint with the
    HTTP-Redirect binding, and a signing certificate valid now."""
    now = time.monotonic()
    with _lock:
        hit = _metadata.get(url)
    if hit and not fresh and now - hit[0] < current_app.config["SSO_METADATA_CACHE_SECONDS"]:
        return hit[1], hit[2]
    parts = urlsplit(url)
    if not parts.netloc or not (parts.scheme == "https" or
                                (parts.scheme == "http" and _http_allowed(url))):
        raise ProviderUnavailable("The metadata URL must be an https:// address.")
    seconds = float(current_app.config["SSO_HTTP_TIMEOUT_SECONDS"])
    try:
        response = requests.get(url, timeout=seconds)
    except requests.RequestException:
        raise ProviderUnavailable(f"The metadata could not be fetched from {url}.")
    if response.status_code != 200:
        raise ProviderUnavailable(f"The metadata at {url} answered HTTP {response.status_code}.")
    xml = response.text
    entity_id = _check_metadata(xml)
    with _lock:
        _metadata[url] = (now, xml, entity_id)
    return xml, entity_id


def _check_metadata(xml: str) -> str:
    from defusedxml import ElementTree

    try:
        root = ElementTree.fromstring(xml.encode())
    except Exception:  # noqa: BLE001 - any parse failure means unusable metadata
        raise ProviderUnavailable("The metadata is not SAML metadata (not XML).")
    if root.tag != f"{MD_NS}EntityDescriptor" or not root.get("entityID"):
        raise ProviderUnavailable("The metadata is not one SAML entity (EntityDescriptor).")
    idp = root.find(f"{MD_NS}IDPSSODescriptor")
    if idp is None:
        raise ProviderUnavailable("The metadata describes no identity provider.")
    redirect = [s for s in idp.findall(f"{MD_NS}SingleSignOnService")
                if s.get("Binding") == BINDING_HTTP_REDIRECT]
    if not redirect:
        raise ProviderUnavailable("The identity provider offers no HTTP-Redirect sign-in.")
    certs = []
    for kd in idp.findall(f"{MD_NS}KeyDescriptor"):
        if kd.get("use") not in (None, "signing"):
            continue
        for node in kd.iter(f"{DS_NS}X509Certificate"):
            certs.append("".join((node.text or "").split()))
    if not certs:
        raise ProviderUnavailable("The metadata has no signing certificate.")
    now = dt.datetime.now(dt.UTC)
    valid = False
    for text in certs:
        try:
            cert = x509.load_der_x509_certificate(base64.b64decode(text))
        except ValueError:
            raise ProviderUnavailable("The metadata's signing certificate cannot be read.")
        if cert.not_valid_before_utc <= now <= cert.not_valid_after_utc:
            valid = True
    if not valid:
        raise ProviderUnavailable("The metadata's signing certificate has expired or is not "
                                  "valid yet.")
    return root.get("entityID")


def offered_attributes(xml: str) -> list[str] | None:
    """The attribute names the IdP's metadata lists (saml:Attribute), or None when it lists
    none (many IdPs do not: the mapping's names cannot be checked then)."""
    from defusedxml import ElementTree

    root = ElementTree.fromstring(xml.encode())
    idp = root.find(f"{MD_NS}IDPSSODescriptor")
    names = [a.get("Name") for a in idp.iter("{urn:oasis:names:tc:SAML:2.0:assertion}Attribute")
             if a.get("Name")] if idp is not None else []
    return names or None


@dataclass(frozen=True)
class Endpoints:
    entity_id: str  # the portal as this provider's service provider
    acs: str
    slo: str


def _client(metadata_xml: str | None, ends: Endpoints) -> Saml2Client:
    config = SPConfig()
    config.load({
        "entityid": ends.entity_id,
        "xmlsec_binary": xmlsec_binary(),
        "metadata": {"inline": [metadata_xml]} if metadata_xml else {},
        "accepted_time_diff": current_app.config["SSO_CLOCK_SKEW_SECONDS"],
        "allow_unknown_attributes": True,
        "service": {"sp": {
            "endpoints": {
                "assertion_consumer_service": [(ends.acs, BINDING_HTTP_POST)],
                "single_logout_service": [(ends.slo, BINDING_HTTP_REDIRECT)],
            },
            "name_id_format": [NAMEID_FORMAT_PERSISTENT],
            "want_assertions_signed": True,
            "want_response_signed": False,
            "authn_requests_signed": False,
            "allow_unsolicited": False,
        }},
    })
    return Saml2Client(config)


def sp_metadata(ends: Endpoints) -> str:
    """The portal's SP metadata for this provider (for the IdP's administrators)."""
    client = _client(None, ends)
    return create_metadata_string(None, config=client.config, valid=None).decode()


def start(metadata_url: str, ends: Endpoints) -> tuple[str, str]:
    """The IdP URL to send the browser to (an AuthnRequest) and the request id to keep."""
    xml, entity_id = fetch_metadata(metadata_url)
    client = _client(xml, ends)
    try:
        request_id, info = client.prepare_for_authenticate(entityid=entity_id,
                                                           binding=BINDING_HTTP_REDIRECT)
    except SAMLError:
        raise ProviderUnavailable("The identity provider's metadata cannot be used.")
    location = dict(info["headers"])["Location"]
    return location, request_id


@dataclass
class Result:
    subject: str
    claims: dict[str, Any]
    session_index: str | None
    name_id: str


def finish(metadata_url: str, ends: Endpoints, saml_response: str, request_id: str,
           provider_id: int) -> Result:
    """Validate the IdP's response to our request `request_id` and return who it is
    about, with the attributes as claims (single values unwrapped)."""
    if not saml_response or len(saml_response) > 500_000:
        raise TokenRejected("The identity provider sent no sign-in answer.")
    xml, _ = fetch_metadata(metadata_url)
    client = _client(xml, ends)
    try:
        response = client.parse_authn_request_response(
            saml_response, BINDING_HTTP_POST, outstanding={request_id: "/"})
    except ProviderUnavailable:
        raise
    except Exception:  # noqa: BLE001 - pysaml2 raises many types for one meaning
        raise TokenRejected(REJECTED)
    # pysaml2 answers None, not an error, for some failed checks (a wrong destination).
    if response is None or response.assertion is None:
        raise TokenRejected(REJECTED)
    assertion = response.assertion
    _remember(assertion, provider_id)
    name_id = response.name_id
    subject = getattr(name_id, "text", None) or ""
    if not subject or len(subject) > 255:
        raise TokenRejected("The identity provider's answer names nobody.")
    claims: dict[str, Any] = {}
    for key, values in (response.ava or {}).items():
        claims[key] = values[0] if isinstance(values, list) and len(values) == 1 else values
    claims["sub"] = subject
    session_index = None
    if assertion.authn_statement:
        session_index = assertion.authn_statement[0].session_index
    return Result(subject=subject, claims=claims, session_index=session_index,
                  name_id=str(name_id))


def _not_on_or_after(assertion) -> dt.datetime:
    candidates = []
    for sc in getattr(assertion.subject, "subject_confirmation", []) or []:
        data = sc.subject_confirmation_data
        if data is not None and data.not_on_or_after:
            candidates.append(data.not_on_or_after)
    if assertion.conditions is not None and assertion.conditions.not_on_or_after:
        candidates.append(assertion.conditions.not_on_or_after)
    if not candidates:
        return now_utc() + dt.timedelta(hours=1)
    parsed = [dt.datetime.fromisoformat(c.replace("Z", "+00:00")).replace(tzinfo=None)
              for c in candidates]
    return max(parsed)


def _remember(assertion, provider_id: int) -> None:
    """Store the assertion id; a second use of the same assertion is a replay."""
    assertion_id = assertion.id or ""
    if not assertion_id or len(assertion_id) > 200:
        raise TokenRejected("The identity provider's assertion has no id.")
    now = now_utc()
    db.session.execute(sa.delete(SamlAssertion).where(SamlAssertion.expires_at < now))
    seen = db.session.get(SamlAssertion, assertion_id)
    if seen is not None:
        raise TokenRejected("This sign-in answer was already used.")
    db.session.add(SamlAssertion(assertion_id=assertion_id, provider_id=provider_id,
                                 expires_at=_not_on_or_after(assertion)
                                 + dt.timedelta(seconds=current_app.config[
                                     "SSO_CLOCK_SKEW_SECONDS"])))
    try:
        db.session.flush()
    except sa.exc.IntegrityError:
        raise TokenRejected("This sign-in answer was already used.")


def logout_url(metadata_url: str, ends: Endpoints, name_id: str | None,
               session_index: str | None) -> str | None:
    """A LogoutRequest to the IdP (HTTP-Redirect), when it offers single logout."""
    if not name_id:
        return None
    try:
        xml, entity_id = fetch_metadata(metadata_url)
    except PortalError:
        return None
    client = _client(xml, ends)
    try:
        slo = client.metadata.single_logout_service(entity_id, BINDING_HTTP_REDIRECT, "idpsso")
    except SAMLError:
        return None
    if not slo:
        return None
    from saml2.saml import NameID, name_id_from_string

    try:
        nid = name_id_from_string(name_id)
    except Exception:  # noqa: BLE001
        nid = None
    if not isinstance(nid, NameID):
        return None
    try:
        req_id, request = client.create_logout_request(
            slo[0]["location"], entity_id, name_id=nid,
            session_indexes=[session_index] if session_index else None)
        info = client.apply_binding(BINDING_HTTP_REDIRECT, str(request), slo[0]["location"],
                                    relay_state="")
    except SAMLError:
        return None
    return dict(info["headers"])["Location"]
