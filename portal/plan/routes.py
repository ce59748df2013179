"""Plan pages: a domain with its goal and objectives, an objective with its neighbours."""

from __future__ import annotations

from flask import Blueprint, abort, render_template

from portal.plan import queries

bp = Blueprint("plan", __name__, url_prefix="/plan")


@bp.get("/domains/<code>")
def domain(code: str):
    dom = queries.get_domain(code.upper())
    if dom is None:
        abort(404)
    return render_template("plan/domain.html", domain=dom)


@bp.get("/objectives/<code>")
def objective(code: str):
    obj = queries.get_objective(code.upper())
    if obj is None:
        abort(404)
    prev_obj, next_obj = queries.neighbours(obj)
    return render_template("plan/objective.html", objective=obj, prev_obj=prev_obj,
                           next_obj=next_obj)
