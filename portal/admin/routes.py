"""The admin console's landing page; the sections live in their own view modules."""

from __future__ import annotations

import sqlalchemy as sa
from flask import render_template

# The view modules attach their routes to the shared blueprint.
from portal.admin import (  # noqa: F401
    audit_views,
    campaign_views,
    plan_views,
    registration_views,
    sso_views,
    user_views,
)
from portal.admin.blueprint import bp
from portal.admin.roster import roster_size
from portal.auth.registration import MODES, get_mode
from portal.extensions import db
from portal.models import User


@bp.get("")
def index():
    counts = dict(db.session.execute(
        sa.select(User.role, sa.func.count()).group_by(User.role)).all())
    return render_template("admin/index.html", counts=counts, mode=MODES[get_mode()],
                           roster_size=roster_size())
