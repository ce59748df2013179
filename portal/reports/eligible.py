"""The eligible base that participation and response rates are measured against,
described once for every page that names it."""

from __future__ import annotations

from portal.reports import participation


def base_description() -> str:
    """What "eligible members" means on the leadership pages."""
    return participation.BASE_DESCRIPTION
