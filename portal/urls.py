"""Safe redirects: `next` only ever points inside the site."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import request, url_for


def safe_next(default_endpoint: str = "main.home") -> str:
    target = request.args.get("next") or request.form.get("next") or ""
    if is_safe_path(target):
        return target
    return url_for(default_endpoint)


def is_safe_path(target: str) -> bool:
    """Only a local absolute path: no scheme, no host, no '//' or backslash tricks."""
    if not target or not target.startswith("/") or target.startswith("//"):
        return False
    if "\\" in target or any(ord(c) < 32 for c in target):
        return False
    parts = urlsplit(target)
    return not parts.scheme and not parts.netloc
