"""The eligible base that participation and response rates are measured against,
described once for every page that names it (portal.reports.participation)."""

from __future__ import annotations

from portal.reports import participation


def base_description() -> str:
    """What "eligible members" means on the leadership pages right now."""
    return participation.base_description()
