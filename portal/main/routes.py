"""Home page, accessibility statement and the health check."""

from __future__ import annotations

import logging

import sqlalchemy as sa
from flask import Blueprint, jsonify, render_template
from flask_login import current_user

from portal.extensions import db, limiter
from portal.feedback.queries import rating_overview
from portal.pagecache import anonymous_page
from portal.plan.queries import load_plan_overview, ordered_objectives
from portal.surveys.services import SUBMITTED, surveys_for

bp = Blueprint("main", __name__)
log = logging.getLogger("portal.health")


@bp.get("/")
@anonymous_page
def home():
    plan = load_plan_overview()
    user = current_user._get_current_object() if current_user.is_authenticated else None
    # Progress per domain for whoever can rate (no extra query for anyone else).
    ratings = rating_overview(user, ordered_objectives()) if user and user.is_verified else None
    return render_template("main/home.html", plan=plan, open_surveys=_open_surveys(),
                           ratings=ratings)


def _open_surveys() -> list:
    """Open surveys the signed-in, verified member has not submitted yet."""
    if not (current_user.is_authenticated and current_user.is_verified):
        return []
    return [listing for listing in surveys_for(current_user._get_current_object())
            if listing.state != SUBMITTED]


@bp.get("/accessibility")
def accessibility():
    return render_template("main/accessibility.html")


@bp.get("/healthz")
@limiter.exempt
def healthz():
    try:
        db.session.execute(sa.text("SELECT 1"))
    except Exception as exc:  # any failure to reach the database
        db.session.rollback()
        log.error("health check failed: %s", type(exc).__name__)
        return jsonify(status="unavailable", database="unreachable"), 503
    return jsonify(status="ok", database="ok")
