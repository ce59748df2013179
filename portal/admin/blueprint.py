"""The admin blueprint object, shared by the admin view modules."""

from flask import Blueprint

from portal.security import admin_required

bp = Blueprint("admin", __name__, url_prefix="/admin")


@bp.before_request
@admin_required
def _admins_only():
    """Belt and braces: the app-wide guard already refuses /admin to non-admins."""
    return None
