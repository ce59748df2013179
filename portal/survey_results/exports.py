"""Exports of survey responses: CSV and XLSX, one row per response, with a codebook.

They stream: responses are read with a server-side cursor (`yield_per`) and
written out a few hundred rows at a time, so memory stays flat however many
responses there are (see bench/bench_exports.py). XLSX is written by
XlsxWriter in constant_memory mode to a temporary file, then sent in chunks.

Suppression follows the results pages: a slice of fewer than PRIVACY_MIN_N
responses is not exported at all; segment values describing too few people in
the slice are replaced by "suppressed" (with the complementary cell, by
privacy.suppress_cells); texts are withheld unless the question has at least
PRIVACY_MIN_COMMENTS texts in the slice; the submission date is given as a month.
"""

from __future__ import annotations

import csv
import io
import itertools
import os
import tempfile
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass

import sqlalchemy as sa
import xlsxwriter

from portal import privacy, segments
from portal.disclosure import surveys as disclosure
from portal.errors import PortalError
from portal.extensions import db
from portal.models import Survey, SurveyAnswer, SurveyQuestion, SurveyResponse
from portal.spreadsheet import formula_safe
from portal.survey_results import queries, summaries
from portal.survey_results.queries import ALL, Slice
from portal.surveys.answers import NA
from portal.surveys.generalise import recoding

SUPPRESSED = "suppressed"
WITHHELD = "withheld"
CHUNK_ROWS = 500


class ExportRefused(PortalError):
    status = 403


@dataclass
class Column:
    code: str
    label: str
    question: SurveyQuestion | None
    option_id: int | None
    kind: str   # id | segment | month | choice | multi | other | value | rank | text
    values: str = ""
    note: str = ""


def _fmt(v: float | None) -> str:
    if v is None:
        return ""
    return str(int(v)) if float(v).is_integer() else repr(float(v))


def columns(survey: Survey) -> list[Column]:
    """Stable column codes: response_id, segment keys, submitted_month, then per
    question q<code> or q<code>_<option code>."""
    cols = [Column("response_id", "Random response key", None, None, "id")]
    for dim in segments.DIMENSIONS:
        if dim.key not in survey.breakdown_keys:
            continue  # never stored for this survey
        cols.append(Column(dim.key, dim.label, None, None, "segment",
                           "; ".join(f"{c} = {label}" for c, label in dim.choices)
                           + "; empty = not answered"))
    cols.append(Column("submitted_month", "Month of submission (YYYY-MM)", None, None, "month"))
    for q in survey.ordered_questions():
        opts = "; ".join(f"{o.code} = {o.label}" for o in q.options)
        scale = "; ".join(f"{v} = {label}" for v, label in q.scale)
        if q.setting("allow_na"):
            scale += "; na = Not applicable"
        t = q.type
        if t == "single_choice":
            cols.append(Column(q.code, q.prompt, q, None, "choice", opts))
        elif t == "multiple_choice":
            for o in q.options:
                cols.append(Column(f"{q.code}_{o.code}", f"{q.prompt}: {o.label}", q, o.id,
                                   "multi", "1 = chosen; 0 = not chosen; empty = question "
                                            "not answered"))
        elif t == "likert":
            cols.append(Column(q.code, q.prompt, q, None, "value", scale))
        elif t == "likert_matrix":
            for o in q.options:
                cols.append(Column(f"{q.code}_{o.code}", f"{q.prompt}: {o.label}", q, o.id,
                                   "value", scale))
        elif t == "ranking":
            for o in q.options:
                cols.append(Column(f"{q.code}_{o.code}", f"{q.prompt}: {o.label}", q, o.id,
                                   "rank", "rank given (1 = first); empty = not ranked"))
        elif t == "rating_0_10":
            cols.append(Column(q.code, q.prompt, q, None, "value", "0 to 10"))
        elif t == "number":
            cols.append(Column(q.code, q.prompt, q, None, "value",
                               "whole number" if q.setting("integer", True) else "number"))
        else:
            cols.append(Column(q.code, q.prompt, q, None, "text",
                               "date YYYY-MM-DD" if t == "date" else "text"))
        if any(o.is_other for o in q.options):
            cols.append(Column(f"{q.code}_other", f"{q.prompt}: other, specified", q, None,
                               "other", "text"))
    return cols


@dataclass
class Plan:
    """What an export of one slice may contain."""

    survey: Survey
    where: Slice
    columns: list[Column]
    hidden_segments: dict[str, set]
    withheld_questions: set[int]
    total: int
    # {(segment values..., month): the same, with rare parts suppressed}
    recode: dict[tuple, tuple] | None = None
    generalised: int = 0  # rows with a part of their combination suppressed


def plan(survey: Survey, where: Slice = ALL) -> Plan:
    """Check the slice may be exported and work out what to suppress (a few grouped
    queries). Raises ExportRefused for a slice about too few people."""
    if disclosure.selections(survey).refuses(where):
        # The same answer for an empty and a small selection: neither is told apart.
        raise ExportRefused(f"This selection cannot be exported: {disclosure.REFUSED}")
    total = queries.count_responses(survey, where)
    if not privacy.is_reportable(total):
        raise ExportRefused(f"This selection has {privacy.suppressed_label()} responses, so "
                            "it cannot be exported.")
    hidden = {}
    for key in survey.breakdown_keys:
        counts = queries.segment_counts(survey, key, where)
        shown = privacy.suppress_cells(counts)
        hidden[key] = {k for k, v in shown.items() if v is None}
    recode, generalised = _combination_recoding(survey, where, hidden)
    texts = queries.text_counts(survey, where)
    withheld = {qid for qid in {q.id for q in survey.ordered_questions()}
                if 0 < texts.get(qid, 0) < privacy.min_comments()}
    cols = columns(survey)
    combined = (f"{generalised} row(s) where the combination of segments and month is "
                f"shared by fewer than {privacy.min_n()} rows: the rarest parts "
                "suppressed") if generalised else ""
    for col in cols:
        if col.kind == "segment" and hidden[col.code]:
            col.note = f"values describing {privacy.suppressed_label()} people: suppressed"
        if col.kind in ("segment", "month") and combined:
            col.note = "; ".join(filter(None, [col.note, combined]))
        if col.kind in ("text", "other") and col.question.id in withheld:
            col.note = (f"withheld: fewer than {privacy.min_comments()} written answers in "
                        "this selection")
    return Plan(survey, where, cols, hidden, withheld, total, recode, generalised)


def _combination_recoding(survey: Survey, where: Slice, hidden: dict[str, set]):
    """No exported combination of segment values and month may be shared by fewer
    than PRIVACY_MIN_N rows: the month goes first, then the later segments (the
    recoding of portal/surveys/generalise.py, over the rows of this export)."""
    keys = survey.breakdown_keys
    cols = [getattr(SurveyResponse, k) for k in keys]
    counts: Counter = Counter()
    for row in db.session.execute(
            sa.select(*cols, SurveyResponse.submitted_on, sa.func.count())
            .where(SurveyResponse.id.in_(queries.response_ids(survey, where)))
            .group_by(*cols, SurveyResponse.submitted_on)):
        counts[_combo(keys, row[:-2], row[-2], hidden)] += row[-1]
    mapping = recoding(counts, privacy.min_n(), len(keys) + 1)
    changed = sum(n for combo, n in counts.items() if mapping[combo] != combo)
    return mapping, changed


def _combo(keys, values, submitted, hidden) -> tuple:
    segs = tuple(SUPPRESSED if v in hidden[k] else v for k, v in zip(keys, values,
                                                                     strict=True))
    return (*segs, submitted.strftime("%Y-%m") if submitted else "")


def _rows(p: Plan) -> Iterator[list[str]]:
    """One list of cell texts per response, read through a server-side cursor."""
    seg_cols = [getattr(SurveyResponse, k) for k in segments.KEYS]
    stmt = (sa.select(SurveyResponse.id, *seg_cols, SurveyResponse.submitted_on,
                      SurveyAnswer.question_id, SurveyAnswer.item, SurveyAnswer.num_value,
                      SurveyAnswer.text_value)
            .select_from(SurveyResponse)
            .outerjoin(SurveyAnswer, SurveyAnswer.response_id == SurveyResponse.id)
            .where(SurveyResponse.id.in_(queries.response_ids(p.survey, p.where)))
            .order_by(SurveyResponse.id))
    result = db.session.execute(stmt, execution_options={"yield_per": 1000})
    n_seg = len(segments.KEYS)
    for rid, group in itertools.groupby(result, key=lambda r: r[0]):
        first = None
        by_q: dict[int, list] = {}
        for r in group:
            first = first or r
            if r[n_seg + 2] is not None:
                by_q.setdefault(r[n_seg + 2], []).append(r[n_seg + 3:])
        keys = p.survey.breakdown_keys
        raw = dict(zip(segments.KEYS, first[1:n_seg + 1], strict=True))
        combo = p.recode[_combo(keys, [raw[k] for k in keys], first[n_seg + 1],
                                p.hidden_segments)]
        segs = dict(zip(keys, combo[:-1], strict=True))
        yield [_cell(col, rid, segs, combo[-1], by_q, p) for col in p.columns]


def _cell(col: Column, rid, segs, submitted, by_q, p: Plan) -> str:
    if col.kind == "id":
        return str(rid)
    if col.kind == "segment":
        value = segs[col.code]
        return SUPPRESSED if value == segments.GENERALISED else (value or "")
    if col.kind == "month":
        return SUPPRESSED if submitted == segments.GENERALISED else submitted
    q = col.question
    rows = by_q.get(q.id, [])
    if col.kind == "multi":
        if not rows:
            return ""
        return "1" if any(item == col.option_id for item, _, _ in rows) else "0"
    if col.kind == "choice":
        codes = {o.id: o.code for o in q.options}
        return codes.get(rows[0][0], "") if rows else ""
    if col.kind in ("text", "other"):
        text = next((t for _, _, t in rows if t), None)
        if text is None:
            return ""
        return WITHHELD if q.id in p.withheld_questions else formula_safe(text)
    match = [(num, t) for item, num, t in rows
             if col.option_id is None or item == col.option_id]
    if not match:
        return ""
    num = match[0][0]
    if q.type in ("likert", "likert_matrix") and num == NA:
        return "na"
    return _fmt(num)


def iter_csv(p: Plan) -> Iterator[str]:
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow([c.code for c in p.columns])
    for i, row in enumerate(_rows(p), start=1):
        writer.writerow(row)
        if i % CHUNK_ROWS == 0:
            yield buf.getvalue()
            buf.seek(0)
            buf.truncate()
    yield buf.getvalue()


def codebook_rows(p: Plan) -> list[list[str]]:
    return [["column", "question", "text", "type", "values", "note"]] + [
        [c.code, c.question.code if c.question else "", c.label,
         c.question.type if c.question else c.kind, c.values, c.note] for c in p.columns]


def iter_codebook_csv(p: Plan) -> Iterator[str]:
    buf = io.StringIO()
    csv.writer(buf).writerows(codebook_rows(p))
    yield buf.getvalue()


def iter_xlsx(p: Plan, chunk_size: int = 64 * 1024) -> Iterator[bytes]:
    """Responses, Summary and Codebook sheets; written to a temporary file in
    constant-memory mode, then streamed and removed."""
    fd, path = tempfile.mkstemp(suffix=".xlsx", prefix="survey-export-")
    os.close(fd)
    try:
        _write_xlsx(p, path)
        with open(path, "rb") as fh:
            while chunk := fh.read(chunk_size):
                yield chunk
    finally:
        os.unlink(path)


def _write_xlsx(p: Plan, path: str) -> None:
    wb = xlsxwriter.Workbook(path, {"constant_memory": True, "strings_to_formulas": False,
                                    "strings_to_urls": False, "strings_to_numbers": False})
    try:
        bold = wb.add_format({"bold": True})
        ws = wb.add_worksheet("Responses")
        ws.write_row(0, 0, [c.code for c in p.columns], bold)
        numeric = [c.kind in ("value", "rank", "multi") for c in p.columns]
        for r, row in enumerate(_rows(p), start=1):
            for c, value in enumerate(row):
                if numeric[c] and value not in ("", "na"):
                    ws.write_number(r, c, float(value))
                else:
                    ws.write_string(r, c, value)
        _write_summary(wb.add_worksheet("Summary"), p, bold)
        cb = wb.add_worksheet("Codebook")
        for r, row in enumerate(codebook_rows(p)):
            cb.write_row(r, 0, row, bold if r == 0 else None)
    finally:
        wb.close()


def _write_summary(ws, p: Plan, bold) -> None:
    """The figures of the results page, exactly as the page shows them (the disclosure
    step decided them at that precision; nothing here has more decimals)."""
    total, items = summaries.summarise(p.survey, p.where)
    ws.write_row(0, 0, ["Survey", p.survey.label], bold)
    ws.write_row(1, 0, ["Responses in this selection",
                        total if total is not None else privacy.display(total)])
    r = 3
    for s in items:
        q = s.question
        ws.write_row(r, 0, [q.code, q.prompt], bold)
        r += 1
        ws.write_row(r, 0, ["Respondents", privacy.display(s.n)])
        r += 1
        descs = [("", s.description)] if s.description else s.descriptions
        for label, d in descs:
            if d is None:
                continue
            fmt = f"{{:.{d.decimals}f}}"
            ws.write_row(r, 0, [label or "Mean", fmt.format(d.mean), "Median",
                                "hidden" if d.median is None else f"{d.median:g}", "SD",
                                "hidden" if d.sd is None else fmt.format(d.sd),
                                "95% CI", _ci(d, fmt)])
            r += 1
        if s.nps is not None and not s.nps_hidden:
            ws.write_row(r, 0, ["Net promoter score", f"{s.nps.nps_score:+.0f}"]
                         + ([] if s.nps.nps_lo is None else
                            ["95% CI", f"{s.nps.nps_lo:+.0f} to {s.nps.nps_hi:+.0f}"]))
            r += 1
        for table in s.tables:
            ws.write_row(r, 0, [table.caption, "Count", "%", "95% CI"], bold)
            r += 1
            for row in table.rows:
                ci = "" if row.ci is None else f"{row.ci[0]:.1f} to {row.ci[1]:.1f}"
                ws.write_row(r, 0, [row.label, privacy.display(row.count),
                                    "" if row.pct is None else f"{row.pct:.1f}", ci])
                r += 1
            for row in table.apart:  # outside the percentages' base
                ws.write_row(r, 0, [row.label, privacy.display(row.count), "not in %"])
                r += 1
        for note in s.notes:
            ws.write_row(r, 0, [note])
            r += 1
        r += 1


def _ci(d, fmt: str) -> str:
    if d.lo is None:
        return "hidden"
    return f"{fmt.format(d.lo)} to {fmt.format(d.hi)}"
