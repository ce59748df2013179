"""Plan pages: a domain with its goal and objectives, an objective with its neighbours.

The feedback parts of both pages (rating, comments, leadership updates) are
built by portal.feedback.pages.
"""

from __future__ import annotations

from flask import Blueprint, abort

from portal.extensions import db
from portal.feedback import pages
from portal.pagecache import anonymous_page
from portal.plan import queries

bp = Blueprint("plan", __name__, url_prefix="/plan")


@bp.get("/domains/<code>")
@anonymous_page
def domain(code: str):
    dom = queries.get_domain(code.upper())
    if dom is None:
        abort(404)
    return pages.domain_page(dom)


@bp.get("/objectives/<code>")
@anonymous_page
def objective(code: str):
    obj = queries.get_objective(code.upper())
    if obj is None:
        abort(404)
    response = pages.objective_page(obj, record=True)
    db.session.commit()  # the member's visit, for "updated since your last visit"
    return response
