"""Results for members (/results) and leadership's choice of what they see.

Members see only rounds whose results leadership published: a draft round, an open
round not published early and a closed round kept back all answer 404, as an
unknown id does, so the page never tells which rounds exist.
"""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_login import current_user

from portal.errors import PortalError
from portal.extensions import db
from portal.forms import attach_error
from portal.models import RoundStatus
from portal.reports import snapshots
from portal.results import queries, services
from portal.results.forms import release_form, release_text
from portal.rounds.services import list_rounds, sync_rounds
from portal.security import leader_required

bp = Blueprint("results", __name__, url_prefix="/results")


def _page(rnd, rounds):
    # An open round published early reads the leadership snapshot: bring it forward
    # first, as the leadership pages do (a short transaction of its own).
    snapshots.start_request()
    if rnd.status == RoundStatus.OPEN:
        snapshots.advance_open_round()
    return render_template("results/show.html", results=queries.build(rnd), rounds=rounds)


@bp.get("/")
def index():
    """The latest round whose results are published, or a page saying there is none."""
    sync_rounds()
    rounds = queries.published_rounds()
    if not rounds:
        return render_template("results/none.html")
    return _page(rounds[0], rounds)


@bp.get("/<int:round_id>")
def show(round_id: int):
    sync_rounds()
    rnd = queries.published_round(round_id)
    if rnd is None:
        abort(404)
    return _page(rnd, queries.published_rounds())


# ---------------------------------------------------------------------------
# Leadership: what members see


def _forms(bound: dict | None = None) -> list[tuple]:
    rows = []
    for rnd in list_rounds():
        form = bound.get(rnd.id) if bound else None
        if form is None:
            form = release_form(rnd, formdata=None)
        rows.append((rnd, form))
    return rows


def _publishing_page(bound: dict | None = None, status: int = 200):
    return render_template("results/publishing.html", rows=_forms(bound),
                           release_text=release_text), status


@bp.get("/publishing")
@leader_required
def publishing():
    sync_rounds()
    return _publishing_page()


@bp.post("/publishing/<int:round_id>")
@leader_required
def publish(round_id: int):
    sync_rounds()
    try:
        rnd = services.get_round(round_id)
    except PortalError:
        abort(404)
    form = release_form(rnd)
    if not form.validate_on_submit():
        return _publishing_page({rnd.id: form}, 400)
    try:
        changed = services.set_results_release(current_user, rnd, form.release.data)
    except PortalError as exc:
        db.session.rollback()
        attach_error(form, exc)
        return _publishing_page({rnd.id: form}, exc.status)
    db.session.commit()
    flash(f"{'Saved' if changed else 'Nothing changed'} for '{rnd.name}'. "
          f"{release_text(rnd)}", "success")
    return redirect(url_for("results.publishing"))
