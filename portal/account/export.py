"""Download-my-data and account deletion, open to every area of the portal.

Each area that stores something about a member registers, for the application:

    register_exporter("ratings", fn)          # fn(user) -> JSON-able value
    register_deletion_hook("ratings", fn)     # fn(user) -> None; flush, never commit

Register from a blueprint so it happens once per application, e.g.

    bp.record_once(lambda state: register_exporter("ratings", export_ratings, app=state.app))

"Download my data" writes one key per exporter (sorted by name) next to the
profile. Deleting an account calls every hook before the user row goes: a hook
anonymises its rows (sets user_id NULL, drops names) so aggregate counts stay
intact. Registering the same name again replaces the earlier function.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Flask, current_app

from portal import segments
from portal.models import User
from portal.timeutil import now_utc

Exporter = Callable[[User], Any]
DeletionHook = Callable[[User], None]
FORMAT = "portal-account-export/1"


def _registry(app: Flask | None, kind: str) -> dict:
    app = app or current_app
    return app.extensions.setdefault(f"account_{kind}", {})


def register_exporter(name: str, fn: Exporter, app: Flask | None = None) -> None:
    if name in ("format", "exported_at", "profile"):
        raise ValueError(f"{name!r} is reserved in the export")
    _registry(app, "exporters")[name] = fn


def register_deletion_hook(name: str, fn: DeletionHook, app: Flask | None = None) -> None:
    _registry(app, "deletion_hooks")[name] = fn


def exporters(app: Flask | None = None) -> dict[str, Exporter]:
    return dict(_registry(app, "exporters"))


def deletion_hooks(app: Flask | None = None) -> dict[str, DeletionHook]:
    return dict(_registry(app, "deletion_hooks"))


def _iso(value) -> str | None:
    return value.isoformat() + "Z" if value else None


def profile_data(user: User) -> dict[str, Any]:
    return {
        "email": user.email,
        "display_name": user.display_name,
        "role": user.role,
        "member_number": user.member_number,
        "time_zone": user.time_zone,  # how times are shown; the times here are UTC
        "created_at": _iso(user.created_at),
        "email_verified_at": _iso(user.email_verified_at),
        "last_login_at": _iso(user.last_login_at),
        "segments": {
            dim.key: {"code": getattr(user, dim.key),
                      "label": dim.label_for(getattr(user, dim.key)) if getattr(user, dim.key)
                      else None}
            for dim in segments.DIMENSIONS
        },
    }


def export_user_data(user: User) -> dict[str, Any]:
    """Everything the portal holds about `user`, as one JSON-able document."""
    data: dict[str, Any] = {"format": FORMAT, "exported_at": _iso(now_utc()),
                            "profile": profile_data(user)}
    for name, fn in sorted(exporters().items()):
        data[name] = fn(user)
    return data


def run_deletion_hooks(user: User) -> None:
    for _name, fn in sorted(deletion_hooks().items()):
        fn(user)
