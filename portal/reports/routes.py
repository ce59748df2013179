"""Leadership pages under /reports: leaders and admins only, read-only.

Unknown rounds, objectives and segments in a URL answer 404; filters that
would describe too few people show the suppressed view.
"""

from __future__ import annotations

from flask import Blueprint, Response, abort, redirect, render_template, request, url_for

from portal import charts, errors_http, privacy, segments
from portal.forms import choice_value
from portal.models import UPDATE_STATUS_LABELS, FeedbackRound
from portal.reports import (
    board,
    chartdata,
    comments,
    dashboard,
    drilldown,
    forms,
    heatmap,
    labels,
    methods,
    participation,
    pdf,
    queries,
    snapshots,
    summary,
    trends,
)
from portal.reports.tables import Table, to_csv, to_xlsx
from portal.security import leader_required

bp = Blueprint("reports", __name__, url_prefix="/reports")


@bp.before_request
@leader_required
def _leaders_only():
    """Every page of this blueprint is for leaders and admins (members get 403)."""
    return None


@bp.before_request
def _advance_snapshots():
    """Open-round figures come from snapshots; move them forward where enough members
    rated since (a short transaction of its own, cheap when nothing changed)."""
    snapshots.start_request()
    snapshots.advance_open_round()


# ---------------------------------------------------------------------------
# Argument parsing: anything unknown is a 404.


def _int_arg(name: str) -> int | None:
    raw = request.args.get(name)
    if raw in (None, ""):
        return None
    if not raw.isdigit():
        abort(404)
    return int(raw)


def _round(rounds: list[FeedbackRound], name: str = "round") -> FeedbackRound | None:
    rid = _int_arg(name)
    if rid is None:
        return queries.default_round(rounds)
    rnd = queries.get_round(rid)
    if rnd is None:
        abort(404)
    return rnd


def _dimension(name: str, default: str | None) -> str | None:
    key = request.args.get(name) or default
    if key is None:
        return None
    if segments.get(key) is None:
        abort(404)
    return key


def _round_choices(rounds: list[FeedbackRound]) -> list[tuple[str, str]]:
    return [(str(r.id), f"{r.name} ({r.status})") for r in rounds]


def _sort() -> tuple[str | None, str | None, bool]:
    """?sort=<table>.<column>&dir=asc|desc"""
    raw = request.args.get("sort", "")
    table, _, key = raw.partition(".")
    return (table or None), (key or None), request.args.get("dir", "desc") != "asc"


def _apply_sort(tables: dict[str, Table]) -> dict[str, Table]:
    name, key, desc = _sort()
    if name in tables:
        tables = dict(tables)
        tables[name] = tables[name].sorted_by(key, desc)
    return tables


def _reference() -> str:
    """?reference=midpoint|average: what priority labels compare with (404 otherwise)."""
    raw = request.args.get("reference") or labels.MIDPOINT
    if raw not in labels.REFERENCES:
        abort(404)
    return raw


def _dashboard(rnd: FeedbackRound) -> dashboard.Dashboard:
    """The dashboard with the participation rows withheld by the split rule saying so."""
    dash = dashboard.build(rnd, reference=_reference())
    participation.explain_withheld(dash.tables["participation"],
                                   *participation.participation(rnd.id))
    return dash


def _no_rounds():
    return render_template("reports/no_rounds.html")


# ---------------------------------------------------------------------------
# Pages


def _dashboard_page(page: str, shown_of):
    """A page of the chosen round's dashboard figures with the round picker;
    `shown_of(dash)` gives what the page shows of them."""
    rounds = queries.all_rounds()
    rnd = _round(rounds)
    if rnd is None:
        return _no_rounds()
    form = forms.PriorityForm(formdata=None, round=str(rnd.id), reference=_reference())
    form.round.choices = _round_choices(rounds)
    dash = _dashboard(rnd)
    return render_template(f"reports/{page}.html", dash=dash, rnd=rnd, form=form, page=page,
                           **shown_of(dash))


@bp.get("/", endpoint="summary")
def summary_view():
    """The headline cards a leader reads first, each linking to its evidence."""
    rounds = queries.all_rounds()
    rnd = _round(rounds)
    if rnd is None:
        return _no_rounds()
    form = forms.PriorityForm(formdata=None, round=str(rnd.id), reference=_reference())
    form.round.choices = _round_choices(rounds)
    result = summary.build(rnd, reference=_reference())
    return render_template("reports/summary.html", summary=result, dash=result.dash, rnd=rnd,
                           form=form, page="summary")


@bp.get("/methods", endpoint="methods")
def methods_view():
    """How every figure is made, for the board's analyst (portal/reports/methods.py)."""
    return render_template("reports/methods.html", m=methods.constants(), page="methods")


@bp.get("/priorities", endpoint="dashboard")
def dashboard_view():
    return _dashboard_page("dashboard", lambda dash: {"tables": _apply_sort(dash.tables)})


@bp.get("/charts", endpoint="charts")
def charts_view():
    return _dashboard_page("charts", lambda dash: {"charts": chartdata.all_charts(dash)})


@bp.get("/segments", endpoint="segments")
def segments_view():
    rounds = queries.all_rounds()
    rnd = _round(rounds)
    if rnd is None:
        return _no_rounds()
    dimension = _dimension("dimension", segments.KEYS[0])
    by = _dimension("by", None)
    if by == dimension:
        by = None
    measure = request.args.get("measure") or "importance_share"
    if measure not in heatmap.MEASURES:
        abort(404)
    hm = heatmap.build(rnd, dimension, by, measure)
    form = forms.HeatmapForm(formdata=None, round=str(rnd.id), dimension=dimension,
                             by=by or "", measure=measure)
    form.round.choices = _round_choices(rounds)
    tables = _apply_sort({"heatmap": hm.table})
    return render_template("reports/segments.html", hm=hm, rnd=rnd, form=form,
                           table=tables["heatmap"], page="segments",
                           kind=heatmap.MEASURES[measure][1])


@bp.get("/trends", endpoint="trends")
def trends_view():
    rounds = queries.all_rounds()
    rnd = _round(rounds)
    if rnd is None:
        return _no_rounds()
    compare_id = _int_arg("compare")
    if compare_id is None:
        compare = queries.previous_round(rnd, rounds)
    else:
        compare = queries.get_round(compare_id)
        if compare is None:
            abort(404)
    form = forms.TrendsForm(formdata=None, round=str(rnd.id),
                            compare=str(compare.id) if compare else "")
    form.round.choices = _round_choices(rounds)
    form.compare.choices = _round_choices(rounds)
    tr = None
    if compare is not None and compare.id != rnd.id:
        tr = trends.build(rnd, compare)
    return render_template("reports/trends.html", tr=tr, rnd=rnd, compare=compare, form=form,
                           tables=_apply_sort(tr.tables) if tr else {}, page="trends")


@bp.get("/objectives/<code>")
def objective(code: str):
    obj = queries.get_objective(code)
    if obj is None:
        abort(404)
    rounds = queries.all_rounds()
    rnd = _round(rounds)
    if rnd is None:
        return _no_rounds()
    dimension = _dimension("dimension", segments.KEYS[0])
    value = request.args.get("value")
    dim = segments.BY_KEY[dimension]
    if value is not None and value != "" and value not in dim.codes:
        abort(404)
    dd = drilldown.build(rnd, obj, dimension, value)
    form = forms.DrilldownForm(formdata=None, round=str(rnd.id), dimension=dimension)
    form.round.choices = _round_choices(rounds)
    return render_template("reports/objective.html", dd=dd, rnd=rnd, obj=obj, form=form,
                           tables=_apply_sort(dd.tables), page="objective")


def _comment_form(rounds) -> tuple[forms.CommentFilterForm, comments.CommentFilter, bool]:
    form = forms.CommentFilterForm(formdata=request.args)
    form.round.choices = [("", "All rounds"), *_round_choices(rounds)]
    domains = comments.domains()
    form.domain.choices = [("", "All domains")] + [(str(d.id), d.label) for d in domains]
    objectives = queries.report_objectives([r.id for r in rounds])
    form.objective.choices = [("", "All objectives")] + [
        (str(o.id), f"{o.code}. {o.text[:60]}") for o in objectives]
    flt = comments.CommentFilter()
    # Unknown ids in the URL are a 404 like everywhere else; other problems are
    # shown next to their field.
    for name in ("round", "domain", "objective"):
        raw = request.args.get(name, "")
        if raw and raw not in {v for v, _ in getattr(form, name).choices}:
            abort(404)
    # A segment the portal does not know is a 404 too, before anything is counted,
    # so a typo never reaches the decision about what may be shown.
    raw = request.args.get("segment", "")
    if raw and raw not in {choice_value(c) for c in form.segment.choices}:
        abort(404)
    valid = form.validate()
    if valid:
        flt.round_id = int(form.round.data) if form.round.data else None
        flt.domain_id = int(form.domain.data) if form.domain.data else None
        flt.objective_id = int(form.objective.data) if form.objective.data else None
        if form.segment.data:
            key, _, code = form.segment.data.partition(":")
            flt.dimension, flt.value = key, ("" if code == "-" else code)
        flt.keyword = (form.keyword.data or "").strip()
    return form, flt, valid


@bp.get("/comments", endpoint="comments")
def comments_view():
    rounds = queries.all_rounds()
    form, flt, valid = _comment_form(rounds)
    result = comments.search(flt, form.page.data or 1) if valid else None
    args = {k: v for k, v in request.args.items() if k != "page" and v}
    status = 200 if valid else 400
    return render_template("reports/comments.html", form=form, result=result, args=args,
                           page="comments", author_name=comments.author_name), status


@bp.get("/comments.csv")
def comments_csv():
    rounds = queries.all_rounds()
    _form, flt, valid = _comment_form(rounds)
    if not valid:
        abort(400)
    body = comments.export_csv(flt)
    if body is None:
        # The same answer for every withheld selection, whether nothing or a few match.
        return errors_http.render_error(404, comments.withheld_reason())
    return _download(body.encode("utf-8"), "comments.csv", "text/csv; charset=utf-8")


@bp.get("/board", endpoint="board")
def board_view():
    rounds = queries.all_rounds()
    rnd = _round(rounds)
    if rnd is None:
        return _no_rounds()
    report = board.build(rnd, reference=_reference())
    form = forms.PriorityForm(formdata=None, round=str(rnd.id), reference=_reference())
    form.round.choices = _round_choices(rounds)
    return render_template("reports/board.html", report=report, rnd=rnd, form=form,
                           page="board")


@bp.get("/board.pdf", endpoint="board_pdf")
def board_pdf_view():
    """The board report as a PDF made on the server (portal.reports.pdf)."""
    rounds = queries.all_rounds()
    rnd = _round(rounds)
    if rnd is None:
        abort(404)
    body = pdf.render(board.build(rnd, reference=_reference()))
    resp = Response(body, mimetype="application/pdf")
    resp.headers["Content-Disposition"] = f'inline; filename="board-report-round{rnd.id}.pdf"'
    return resp


# ---------------------------------------------------------------------------
# Exports: the same Table objects the pages render, so the same suppression.


def _page_tables(page: str) -> tuple[FeedbackRound, dict[str, Table]]:
    rounds = queries.all_rounds()
    rnd = _round(rounds)
    if rnd is None:
        abort(404)
    if page == "dashboard":
        return rnd, _dashboard(rnd).tables
    if page == "charts":
        return rnd, {c.table.name: c.table for c in chartdata.all_charts(
            dashboard.build(rnd, reference=_reference()))}
    if page == "segments":
        dimension = _dimension("dimension", segments.KEYS[0])
        by = _dimension("by", None)
        measure = request.args.get("measure") or "importance_share"
        if measure not in heatmap.MEASURES:
            abort(404)
        return rnd, {"heatmap": heatmap.build(rnd, dimension, None if by == dimension else by,
                                              measure).table}
    if page == "trends":
        compare_id = _int_arg("compare")
        compare = (queries.previous_round(rnd, rounds) if compare_id is None
                   else queries.get_round(compare_id))
        if compare is None or compare.id == rnd.id:
            abort(404)
        return rnd, trends.build(rnd, compare).tables
    if page.startswith("objective-"):
        obj = queries.get_objective(page.removeprefix("objective-"))
        if obj is None:
            abort(404)
        dimension = _dimension("dimension", segments.KEYS[0])
        return rnd, drilldown.build(rnd, obj, dimension).tables
    if page == "board":
        return rnd, board.build(rnd, reference=_reference()).tables
    abort(404)


@bp.get("/export/<page>/<table>.<fmt>")
def export(page: str, table: str, fmt: str):
    if fmt not in ("csv", "xlsx"):
        abort(404)
    rnd, tables = _page_tables(page)
    if table == "all" and fmt == "xlsx":
        chosen = list(tables.values())
    elif table in tables:
        chosen = [tables[table]]
    else:
        abort(404)
    stem = f"{page}-{table}-round{rnd.id}"
    if fmt == "csv":
        return _download(to_csv(chosen[0]).encode("utf-8"), f"{stem}.csv",
                         "text/csv; charset=utf-8")
    return _download(to_xlsx(chosen, f"{page} {rnd.name}"), f"{stem}.xlsx",
                     "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")


def _download(body: bytes, filename: str, mimetype: str) -> Response:
    resp = Response(body, mimetype=mimetype)
    resp.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    return resp


@bp.get("/segments/<dimension>", endpoint="segments_alias")
def segments_alias(dimension: str):
    """/reports/segments/<dimension> is a readable alias of ?dimension=."""
    if segments.get(dimension) is None:
        abort(404)
    return redirect(url_for("reports.segments", dimension=dimension, **{
        k: v for k, v in request.args.items() if k != "dimension"}))


# ---------------------------------------------------------------------------
# Template helpers: sortable headers and export links keep the page's arguments.

_EXPORT_ARGS = ("round", "dimension", "by", "measure", "compare", "reference")


def sort_state(table: str, key: str) -> str | None:
    name, current, desc = _sort()
    if name == table and current == key:
        return "descending" if desc else "ascending"
    return None


def sort_url(table: str, key: str, anchor: str | None = None) -> str:
    args = request.args.to_dict()
    state = sort_state(table, key)
    args["sort"] = f"{table}.{key}"
    args["dir"] = "asc" if state == "descending" else "desc"
    return url_for(request.endpoint, **(request.view_args or {}), **args,
                   _anchor=anchor)


def export_url(page: str, table: str, fmt: str) -> str:
    args = {k: v for k, v in request.args.items() if k in _EXPORT_ARGS and v}
    return url_for("reports.export", page=page, table=table, fmt=fmt, **args)


@bp.context_processor
def _template_helpers():
    return {"sort_url": sort_url, "sort_state": sort_state, "export_url": export_url,
            "privacy_min_n": privacy.min_n(), "privacy_min_comments": privacy.min_comments(),
            "charts": charts, "update_labels": UPDATE_STATUS_LABELS,
            "snapshot_as_of": snapshots.as_of,
            "shortfalls": labels.shortfalls, "short_name": labels.short_name,
            "base_description": participation.base_description,
            "suppressed_label": privacy.suppressed_label()}
