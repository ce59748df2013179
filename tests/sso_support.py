"""Helpers for the single sign-on tests: the local OpenID Connect provider and a person
who signs in there (plain HTTP against the provider, the test client for the portal)."""

from __future__ import annotations

import json
import re
import socket
from urllib.parse import urljoin, urlsplit

import pytest
import requests

from tools.sso_idp import LocalProvider, node_available

PORTAL = "http://localhost"
FORM_ACTION_RE = re.compile(r'<form method="post" action="([^"]+)"')

MAPPING = {
    "eligibility": {"claim": "membership_status", "values": ["active", "grace"]},
    "segments": {
        "membership_type": {"claim": "membership_type",
                            "values": {"Regular": "regular", "Student": "student"}},
        "career_stage": {"claim": "career_stage"},
        "library_type": {"claim": "library_type",
                         "values": {"Public Library": "public", "Academic Library": "academic"}},
    },
}

needs_node = pytest.mark.skipif(
    not node_available(), reason="node and node_modules/oidc-provider are needed (npm ci)")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def new_provider(slugs=("assoc",), base: str = PORTAL) -> LocalProvider:
    return LocalProvider(
        port=free_port(),
        redirect_uris=[f"{base}/sso/{slug}/callback" for slug in slugs],
        post_logout_redirect_uris=[f"{base}/sso/signed-out"])


def mapping_json(**changes) -> str:
    data = json.loads(json.dumps(MAPPING))
    data.update(changes)
    return json.dumps(data)


def sign_in_at_provider(authorize_url: str, login: str, password: str,
                        stop_at: str = PORTAL) -> str:
    """Follow the provider's pages as a browser would, sign in there, and return the URL
    it sends the browser back to (on the portal)."""
    browser = requests.Session()
    url = authorize_url
    for _ in range(12):
        response = browser.get(url, allow_redirects=False, timeout=10)
        if response.is_redirect:
            url = urljoin(url, response.headers["Location"])
            if url.startswith(stop_at):
                return url
            continue
        match = FORM_ACTION_RE.search(response.text)
        assert response.status_code == 200 and match, response.text[:500]
        response = browser.post(urljoin(url, match.group(1)),
                                data={"login": login, "password": password},
                                allow_redirects=False, timeout=10)
        assert response.is_redirect, response.text[:500]
        url = urljoin(url, response.headers["Location"])
        if url.startswith(stop_at):
            return url
    raise AssertionError("the provider never sent the browser back")


def portal_path(url: str) -> str:
    parts = urlsplit(url)
    return parts.path + ("?" + parts.query if parts.query else "")
