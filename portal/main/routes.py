"""Home page, accessibility statement and the health check."""

from __future__ import annotations

import logging

import sqlalchemy as sa
from flask import Blueprint, jsonify, render_template

from portal.extensions import db, limiter
from portal.plan.queries import load_plan_overview

bp = Blueprint("main", __name__)
log = logging.getLogger("portal.health")


@bp.get("/")
def home():
    plan = load_plan_overview()
    return render_template("main/home.html", plan=plan)


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
