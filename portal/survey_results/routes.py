"""Survey results for leaders and admins: /reports/surveys."""

from __future__ import annotations

import sqlalchemy as sa
from flask import Blueprint, Response, abort, render_template, request, stream_with_context
from markupsafe import Markup

from portal import charts, privacy, stats
from portal.disclosure import surveys as disclosure
from portal.errors import NotFound
from portal.extensions import db
from portal.models import Survey, SurveyStatus
from portal.security import leader_required
from portal.survey_results import exports, queries, summaries, texts_view
from portal.survey_results.forms import CrosstabForm, FilterForm, TextSearchForm
from portal.surveys import definition, pool
from portal.surveys.lifecycle import sync_due_surveys
from portal.surveys.services import audience_label, with_structure

bp = Blueprint("survey_results", __name__, url_prefix="/reports/surveys")
PER_PAGE = 20


@bp.before_request
@leader_required
def _guard():
    sync_due_surveys()


def _survey(survey_id: int) -> Survey:
    survey = db.session.get(Survey, survey_id, options=[with_structure()])
    if survey is None or survey.is_draft:
        raise NotFound("There are no results for this survey.")
    return survey


def _filters(survey: Survey, form_class=FilterForm):
    form = form_class(formdata=request.args).setup(survey)
    if request.args and not form.validate():
        if form.segment.errors or form.answer.errors:
            # A filter value the portal does not offer: there is no such page.
            abort(404)
        return form, None
    where = form.slice()
    if not disclosure.selections(survey).known(where):
        abort(404)
    return form, where


@bp.get("/")
def index():
    surveys = db.session.scalars(sa.select(Survey).where(Survey.status != SurveyStatus.DRAFT)
                                 .order_by(Survey.id.desc())).all()
    counts = queries.response_counts([s.id for s in surveys])
    return render_template("survey_results/index.html", surveys=surveys,
                           counts={s.id: privacy.suppress_total(counts.get(s.id, 0))
                                   for s in surveys})


@bp.get("/<int:survey_id>")
def show(survey_id: int):
    survey = _survey(survey_id)
    form, where = _filters(survey)
    if where is None:
        return render_template("survey_results/show.html", survey=survey, form=form,
                               total=None, items=[], rate=None, charts={}), 400
    total, items = summaries.summarise(survey, where)
    refused = total is None
    eligible = queries.eligible_members(survey)
    overall = queries.count_responses(survey)
    taken_part = max(queries.participation_count(survey), overall)
    shown, why = disclosure.participation(taken_part, eligible.count)
    waiting = pool.waiting(survey.id) if survey.anonymous else 0
    rate = {"responses": privacy.suppress_total(overall),
            "eligible": eligible.count if shown else None,
            "pct": stats.percent(taken_part, eligible.count) if shown else None,
            "withheld": why, "explanation": eligible.explanation,
            # The waiting answers are a group of their own: a count only when it is large.
            "waiting": waiting, "waiting_shown": privacy.suppress_total(waiting),
            "batch": pool.batch_size(),
            "generalised": queries.generalised_count(survey) if survey.anonymous else 0}
    chart_map = {}
    for s in items:
        scale = _scale_chart(s)
        if scale is not None:
            chart_map[s.question.id] = scale
            continue
        # A matrix gets one chart per statement; other questions chart their first table
        # (the net promoter groups' table of a 0-10 question has its own figures).
        tables = s.tables if s.question.type == "likert_matrix" else s.tables[:1]
        if len(tables) > 1:
            # One sentence for the statements that cannot be drawn, not one each.
            drawn = [t for t in tables if any(r.pct is not None for r in t.rows)]
            left_out = [t.caption for t in tables if t not in drawn]
            chart_map[s.question.id] = Markup("").join(_bars(s, t) for t in drawn) + (
                Markup('<p class="chart-note">Not drawn, every figure hidden to protect '
                       "small groups: {}.</p>").format("; ".join(left_out))
                if left_out else Markup(""))
        elif tables:
            chart_map[s.question.id] = _bars(s, tables[0])
    return _committed(render_template(
        "survey_results/show.html", survey=survey, form=form, where=where, total=total,
        shown_total=None if refused else privacy.suppress_total(total), items=items,
        refused=refused, refused_reason=disclosure.REFUSED, rate=rate, charts=chart_map,
        audience=audience_label(survey), snapshot=queries.snapshot_of(survey, where)))


def _bars(s, table):
    return charts.bars(
        [charts.Bar(r.label, r.pct, _survey_cell(r.pct, "{:.0f}%")) for r in table.rows],
        f"{s.question.code.upper()}: {table.caption}",
        f"Bar chart of {s.question.prompt}: the percentage of {table.base} per answer. "
        "The table beside it gives the same numbers.", "hidden")


def _scale_chart(s):
    """A five-point Likert question, or a Likert matrix, as diverging bars: one bar per
    statement, from the published counts ("Not applicable" left out, as from the
    percentages). None for other questions, which keep the bar chart."""
    q = s.question
    if q.type not in ("likert", "likert_matrix") or not s.tables:
        return None
    tables = s.tables if q.type == "likert_matrix" else s.tables[:1]
    if any(len(t.rows) != 5 for t in tables):
        return None
    rows = [charts.Distribution(t.caption if q.type == "likert_matrix" else "Respondents",
                                {i + 1: r.count for i, r in enumerate(t.rows)})
            for t in tables]
    if not any(all(r.count is not None for r in t.rows) for t in tables):
        return None  # no statement can be drawn whole: the bar charts show what is shown
    first = tables[0].rows
    return charts.diverging(
        rows, f"{q.code.upper()}: {q.prompt}",
        f"Diverging bars of {q.prompt}: for each statement, the share of answers on the "
        "scale from the lowest (left) to the highest (right), centred on the middle "
        "answer. The table gives the same numbers.",
        {1: first[0].label, 3: first[2].label, 5: first[4].label})


def _committed(page):
    """Commit the snapshots this reading advanced (survey_results/snapshots.py): a
    slice's next reading must start from the figures this one showed."""
    db.session.commit()
    return page


@bp.get("/<int:survey_id>/questions/<code>/texts")
def texts(survey_id: int, code: str):
    survey = _survey(survey_id)
    question = survey.question_by_code(code)
    if question is None:
        abort(404)
    form, where = _filters(survey, TextSearchForm)
    if where is None:
        return render_template("survey_results/texts.html", survey=survey, question=question,
                               form=form, texts=[], total=None, available=False,
                               result=None), 400
    result = texts_view.decide(survey, question, where, form.search.data or "",
                               form.page.data or 1, PER_PAGE)
    return _committed(render_template(
        "survey_results/texts.html", survey=survey, question=question, form=form,
        where=where, result=result, texts=result.texts, total=result.total,
        page=result.page, pages=result.pages, available=result.available,
        snapshot=queries.snapshot_of(survey, where)))


@bp.get("/<int:survey_id>/crosstab")
def crosstab(survey_id: int):
    survey = _survey(survey_id)
    form, where = _filters(survey, CrosstabForm)
    table = None
    figures = None
    status = 200
    if where is None:
        status = 400
    elif form.question.data:
        question = survey.question_by_code(form.question.data)
        table = summaries.crosstab_table(survey, question, form.dimension.data, where)
        if table is None:
            table = False
        else:
            figures = summaries.crosstab_figures(survey, question, where, *table)
    snapshot = queries.snapshot_of(survey, where) if where is not None else None
    return _committed(render_template(
        "survey_results/crosstab.html", survey=survey, form=form, table=table, figures=figures,
        question=survey.question_by_code(form.question.data or ""),
        snapshot=snapshot)), status


def _download(body, mimetype: str, filename: str) -> Response:
    return Response(stream_with_context(body), mimetype=mimetype, headers={
        "Content-Disposition": f'attachment; filename="{filename}"',
        "X-Content-Type-Options": "nosniff"})


def _export_plan(survey_id: int):
    survey = _survey(survey_id)
    form, where = _filters(survey)
    if where is None:
        abort(400, description="The filter is not valid.")
    export_plan = exports.plan(survey, where)
    # The snapshots it advanced are kept before the rows stream (same cutoffs: the
    # request keeps them, see survey_results/snapshots.py).
    db.session.commit()
    return survey, export_plan


@bp.get("/<int:survey_id>/responses.csv")
def export_csv(survey_id: int):
    survey, plan = _export_plan(survey_id)
    return _download(exports.iter_csv(plan), "text/csv",
                     f"survey-{survey.id}-responses.csv")


@bp.get("/<int:survey_id>/codebook.csv")
def export_codebook(survey_id: int):
    survey, plan = _export_plan(survey_id)
    return _download(exports.iter_codebook_csv(plan), "text/csv",
                     f"survey-{survey.id}-codebook.csv")


@bp.get("/<int:survey_id>/responses.xlsx")
def export_xlsx(survey_id: int):
    survey, plan = _export_plan(survey_id)
    return _download(exports.iter_xlsx(plan),
                     "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                     f"survey-{survey.id}-responses.xlsx")


@bp.get("/<int:survey_id>/definition.json")
def export_definition(survey_id: int):
    survey = _survey(survey_id)
    return Response(definition.dumps(definition.export(survey)), mimetype="application/json",
                    headers={"Content-Disposition":
                             f'attachment; filename="survey-{survey.id}-definition.json"'})


@bp.app_template_filter("survey_cell")
def _survey_cell(value, fmt: str = "{}") -> str:
    """A table cell: the figure, or "hidden". A cell can be hidden because it is small or
    because it would give a small one away, so it never claims to be small."""
    return "hidden" if value is None else fmt.format(value)


@bp.app_template_filter("survey_figure")
def _survey_figure(value, fmt: str = "{}") -> str:
    """A figure, or "fewer than N" when privacy suppressed it (value None)."""
    return privacy.display(value, fmt=fmt)
