"""`flask reports verify`: recompute everything from the raw ratings and compare.

Two checks per round:
1. the summary tables equal a fresh GROUP BY over `ratings` (every non-zero
   count, the raters, nothing extra);
2. the figures the pages show (dashboard, every one-dimension heatmap, the
   trend against the previous round) equal the same figures computed from the
   raw ratings.
"""

from __future__ import annotations

import math
from collections.abc import Iterator

import sqlalchemy as sa

from portal import segments
from portal.extensions import db
from portal.models import FeedbackRound
from portal.reports import aggregates, dashboard, heatmap, participation, queries, trends

TOLERANCE = 1e-9


def _rows(select_list: list[sa.Select], key_len: int) -> dict[tuple, int]:
    out: dict[tuple, int] = {}
    for select in select_list:
        for row in db.session.execute(select):
            key, n = tuple(row[:key_len]), int(row[key_len])
            if n:
                out[key] = out.get(key, 0) + n
    return out


def _stored(table: sa.Table, key: tuple[str, ...], round_id: int) -> dict[tuple, int]:
    cols = [table.c[k] for k in key]
    stmt = sa.select(*cols, table.c.n).where(table.c.round_id == round_id, table.c.n != 0)
    return {tuple(r[:-1]): int(r[-1]) for r in db.session.execute(stmt)}


def _diff_counts(name: str, stored: dict, fresh: dict, limit: int = 10) -> list[str]:
    problems = []
    for key in sorted(set(stored) | set(fresh), key=repr):
        if stored.get(key, 0) != fresh.get(key, 0):
            problems.append(f"{name} {key}: stored {stored.get(key, 0)}, "
                            f"recomputed {fresh.get(key, 0)}")
            if len(problems) >= limit:
                problems.append(f"{name}: further differences not listed")
                break
    return problems


def _same(a, b) -> bool:
    if a is None or b is None:
        return a is b
    if isinstance(a, float) or isinstance(b, float):
        return math.isclose(a, b, rel_tol=TOLERANCE, abs_tol=TOLERANCE)
    return a == b


def _compare_figures(label: str, shown: dict, fresh: dict) -> Iterator[str]:
    for key in sorted(set(shown) | set(fresh)):
        if not _same(shown.get(key), fresh.get(key)):
            yield f"{label} {key}: page shows {shown.get(key)!r}, raw gives {fresh.get(key)!r}"


def check_summaries(rnd: FeedbackRound) -> list[str]:
    problems = []
    fresh = _rows(aggregates.raw_cell_selects(rnd.id), len(aggregates.CELL_KEY))
    problems += _diff_counts("report_cells", _stored(aggregates.CELLS, aggregates.CELL_KEY,
                                                     rnd.id), fresh)
    fresh = _rows(aggregates.raw_cross_selects(rnd.id), len(aggregates.CROSS_KEY))
    problems += _diff_counts("report_cross_cells", _stored(
        aggregates.CROSS, aggregates.CROSS_KEY, rnd.id), fresh)
    fresh = _rows([aggregates.raw_rater_select(rnd.id)], len(aggregates.RATER_KEY))
    problems += _diff_counts("report_raters", _stored(aggregates.RATERS, aggregates.RATER_KEY,
                                                      rnd.id), fresh)
    eligible_sel, part_sel = participation.raw_selects()
    problems += _diff_counts("report_eligible", _stored_plain(participation.ELIGIBLE, (
        "dimension", "value")), _rows([eligible_sel], 2))
    part = part_sel.subquery()
    problems += _diff_counts("report_participation", _stored(
        participation.PARTICIPATION, ("round_id", "dimension", "value"), rnd.id),
        _rows([sa.select(part).where(part.c.round_id == rnd.id)], 3))
    return problems


def _stored_plain(table: sa.Table, key: tuple[str, ...]) -> dict[tuple, int]:
    cols = [table.c[k] for k in key]
    return {tuple(r[:-1]): int(r[-1]) for r in db.session.execute(
        sa.select(*cols, table.c.n).where(table.c.n != 0))}


def check_pages(rnd: FeedbackRound) -> list[str]:
    problems: list[str] = []
    page, raw = dashboard.build(rnd, "live"), dashboard.build(rnd, "raw")
    for a, b in zip(page.rows, raw.rows, strict=True):
        problems += _compare_figures(f"dashboard {a.objective.code}", a.est.figures(),
                                     b.est.figures())
        if a.quadrant != b.quadrant:
            problems.append(f"dashboard {a.objective.code} quadrant: {a.quadrant} vs "
                            f"{b.quadrant}")
    tp, tr = page.tables["participation"], raw.tables["participation"]
    if tp.export_rows() != tr.export_rows():
        problems.append("participation: the page differs from a recomputation")
    for dim in segments.KEYS:
        hp, hr = heatmap.build(rnd, dim, source="live"), heatmap.build(rnd, dim, source="raw")
        if hp.columns != hr.columns:
            problems.append(f"heatmap {dim}: columns {hp.columns} vs {hr.columns}")
            continue
        for (obj, tp, cp), (_, tr, cr) in zip(hp.rows, hr.rows, strict=True):
            if not _same(tp, tr):
                problems.append(f"heatmap {dim} {obj.code} all members: {tp} vs {tr}")
            for key in hp.columns:
                a, b = cp[key], cr[key]
                for attr in ("n", "value", "diff", "q", "flagged"):
                    if not _same(getattr(a, attr), getattr(b, attr)):
                        problems.append(f"heatmap {dim} {obj.code} {key} {attr}: "
                                        f"{getattr(a, attr)!r} vs {getattr(b, attr)!r}")
    before = queries.previous_round(rnd, queries.all_rounds())
    if before is not None:
        tp, tr = trends.build(rnd, before, "live"), trends.build(rnd, before, "raw")
        for (obj, a), (_, b) in zip(tp.rows, tr.rows, strict=True):
            for attr in ("share", "performance", "gap"):
                da, db_ = getattr(a, attr), getattr(b, attr)
                for f in ("estimate", "lo", "hi", "p"):
                    if not _same(getattr(da, f), getattr(db_, f)):
                        problems.append(f"trends {obj.code} {attr}.{f}: {getattr(da, f)!r} "
                                        f"vs {getattr(db_, f)!r}")
    return problems


def verify(round_id: int | None = None) -> dict[str, list[str]]:
    """Problems per round name (empty lists when everything matches)."""
    rounds = queries.all_rounds()
    if round_id is not None:
        rounds = [r for r in rounds if r.id == round_id]
    return {r.name: check_summaries(r) + check_pages(r) for r in rounds}
