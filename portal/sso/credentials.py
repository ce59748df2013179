"""Client secrets of identity providers: read from the environment or a file, never
from the database. A provider row only names where its secret is (`secret_ref`):

- ``env:SSO_NAME``: the environment variable SSO_NAME (the ``SSO_`` prefix keeps an
  admin from sending another setting, such as SECRET_KEY, to a provider);
- ``file:NAME``: the file NAME inside the SSO_SECRETS_DIR directory (no paths out of it).
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from flask import current_app

from portal.errors import PortalError

ENV_RE = re.compile(r"SSO_[A-Z0-9_]{1,60}")
FILE_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,99}")


class SecretUnavailable(PortalError):
    """The secret a provider names cannot be read."""


def resolve(ref: str) -> str | None:
    """The client secret named by `ref` ("" means a public client: None)."""
    ref = (ref or "").strip()
    if not ref:
        return None
    kind, _, name = ref.partition(":")
    if kind == "env":
        if not ENV_RE.fullmatch(name):
            raise SecretUnavailable(
                "An environment variable for a client secret must be named SSO_ followed by "
                "capital letters, digits or underscores (env:SSO_IMIS_SECRET).",
                field="secret_ref")
        value = os.environ.get(name, "").strip()
        if not value:
            raise SecretUnavailable(f"The environment variable {name} is not set or empty.",
                                    field="secret_ref")
        return value
    if kind == "file":
        folder = current_app.config.get("SSO_SECRETS_DIR") or ""
        if not FILE_RE.fullmatch(name) or not folder:
            raise SecretUnavailable(
                "A secret file is named by its file name inside the directory SSO_SECRETS_DIR "
                "(file:imis-client-secret); set SSO_SECRETS_DIR first.", field="secret_ref")
        path = Path(folder) / name
        try:
            value = path.read_text(encoding="utf-8").strip()
        except OSError:
            raise SecretUnavailable(f"The secret file {name} cannot be read in SSO_SECRETS_DIR.",
                                    field="secret_ref")
        if not value:
            raise SecretUnavailable(f"The secret file {name} is empty.", field="secret_ref")
        return value
    raise SecretUnavailable(
        "Name the client secret as env:SSO_NAME or file:NAME, or leave it empty for a "
        "public client.", field="secret_ref")
