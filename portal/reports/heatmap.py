"""Segment heatmap: objectives x the values of one segment dimension (optionally
crossed with a second), share or mean, difference from all members, flags.

Privacy: a cell's base is the number of members in it who answered the measure
on the 1..5 scale. Cells are suppressed with `portal.privacy.suppress_cells`
per objective row; crossed tables also suppress along every row and column of
the grid, so a hidden crossed cell cannot be recovered from the one-dimension
view either.

A cell is flagged only when its difference from all members is at least 5
percentage points (0.2 on the 1-5 scale for means) and a test against the rest
of the members (two-proportion z, Fisher's exact test where an expected count is
under 5, or Welch for means) stays below 0.05 after a
Benjamini-Hochberg correction across every test in the table.
"""

from __future__ import annotations

from collections.abc import Hashable
from dataclasses import dataclass, field

from portal import numfmt, privacy, segments, stats
from portal.models import FeedbackRound, Objective
from portal.reports import queries
from portal.reports.aggregates import ALL
from portal.reports.estimates import estimate, published_scale, segment_estimates
from portal.reports.tables import Cell, Column, Table, empty_cell, suppressed_cell

MEASURES = {
    "importance_share": ("importance", "share", "Share rating importance 4–5"),
    "importance_mean": ("importance", "mean", "Mean importance (1–5)"),
    "performance_share": ("performance", "share", "Share rating performance 4–5"),
    "performance_mean": ("performance", "mean", "Mean performance (1–5)"),
}
SHARE_THRESHOLD = 0.05   # five percentage points
MEAN_THRESHOLD = 0.2     # a fifth of a scale point
ALPHA = 0.05


@dataclass
class HeatCell:
    n: int | None                  # after suppression
    value: float | None = None
    diff: float | None = None      # from all members
    p: float | None = None
    q: float | None = None
    flagged: bool = False
    # A share whose base is shown but one of whose sides is a small group.
    split_hidden: bool = False
    # The disclosure step withheld the figure (a segment mean over grouped answers).
    withheld: bool = False
    test: str = ""                 # "z" or "exact" (Fisher, small expected counts)


@dataclass
class Heatmap:
    round: FeedbackRound
    dimension: segments.Dimension
    by: segments.Dimension | None
    measure: str
    columns: list[tuple[str, ...]]          # value codes (one or two per column)
    rows: list[tuple[Objective, float | None, dict[tuple[str, ...], HeatCell]]]
    table: Table | None = None
    flags: list[dict] = field(default_factory=list)
    # Objectives whose all-members figure the disclosure step withheld.
    withheld: set[int] = field(default_factory=set)

    @property
    def empty(self) -> bool:
        """No ratings at all (suppressed cells still count as data)."""
        return not any(c.n is None or c.n > 0 for _, _, cells in self.rows
                       for c in cells.values())


def suppress_grid(counts: dict[tuple[str, str], int]) -> dict[tuple[str, str], int | None]:
    """Apply privacy.suppress_cells to the whole row of crossed cells, then along each
    value of either dimension, until nothing changes (hidden cells stay hidden)."""
    hidden: set[tuple[str, str]] = set()

    def run(keys: list[tuple[str, str]]) -> bool:
        # Already-hidden cells go in as 1 so the shared rule counts them as hidden.
        sub = {k: (1 if k in hidden and counts[k] else counts[k]) for k in keys}
        out = privacy.suppress_cells(sub)
        new = {k for k, v in out.items() if v is None} - hidden
        hidden.update(new)
        return bool(new)

    changed = run(list(counts))
    while changed:
        changed = False
        groups: dict[tuple[int, str], list[tuple[str, str]]] = {}
        for k in counts:
            groups.setdefault((0, k[0]), []).append(k)
            groups.setdefault((1, k[1]), []).append(k)
        for keys in groups.values():
            changed |= run(keys)
    return {k: (None if k in hidden else v) for k, v in counts.items()}


def _hist_minus(a: dict[int, int], b: dict[int, int]) -> dict[int, int]:
    return {k: a.get(k, 0) - b.get(k, 0) for k in stats.SCALE}


def _summarise(hist: dict[int, int], kind: str):
    """A crossed cell's figure as published: the scale histogram through the
    disclosure step on its own (portal.reports.estimates.published_scale)."""
    est, _audited = published_scale(hist, kind)
    return est


def _from_estimate(e, score_col: str, kind: str):
    if kind == "share":
        return e.imp_high if score_col == "importance" else e.perf_high
    return e.imp_mean if score_col == "importance" else e.perf_mean


def _rest(total, cell, kind: str):
    """All members but the cell's, from the two published figures only."""
    n = total.n - cell.n
    if kind == "share":
        k = max(0, min(n, total.k - cell.k))
        return stats.wilson(k, n) if n > 0 else None
    if n < 2 or total.mean is None or cell.mean is None:
        return None
    mean = (total.n * total.mean - cell.n * cell.mean) / n
    return stats.Mean(n, mean, total.sd, None, None)


def _value(est, kind: str) -> float | None:
    return est.p if kind == "share" else est.mean


def _split_hidden(est, kind: str) -> bool:
    """A share of k in n tells n - k too: hidden when either side is a small group."""
    return kind == "share" and not privacy.is_reportable_split(est.k, est.n)


def build(rnd: FeedbackRound, dimension: str, by: str | None = None,
          measure: str = "importance_share", source: str = "summary") -> Heatmap:
    dim = segments.BY_KEY[dimension]
    by_dim = segments.BY_KEY[by] if by else None
    score_col, kind, _label = MEASURES[measure]
    objectives = queries.report_objectives([rnd.id])
    totals = queries.load_counts(rnd.id, ALL, source)
    all_hist = {o.id: stats.scale_histogram(getattr(totals.get((o.id, ""), queries.Counts()),
                                                    score_col)) for o in objectives}

    # Histograms per objective per column key.
    per_obj: dict[int, dict[tuple[str, ...], dict[int, int]]] = {o.id: {} for o in objectives}
    # One dimension: each cell is a segment row, decided with the all-members row
    # exactly as the drill-down decides it (segment_estimates).
    published: dict[int, dict[tuple[str, ...], object]] = {o.id: {} for o in objectives}
    if by_dim is None:
        by_obj: dict[int, dict[str, queries.Counts]] = {o.id: {} for o in objectives}
        for (oid, value), c in queries.load_counts(rnd.id, dimension, source).items():
            if oid in per_obj:
                per_obj[oid][(value,)] = stats.scale_histogram(getattr(c, score_col))
                by_obj[oid][value] = c
        for oid, rows_ in by_obj.items():
            if rows_:
                for v, e in segment_estimates(totals.get((oid, "")), rows_).items():
                    published[oid][(v,)] = e
    else:
        a, b = queries.ordered_pair(dimension, by)
        swap = a != dimension
        for (oid, va, vb), hist in queries.load_cross_counts(rnd.id, a, b, score_col,
                                                             source).items():
            if oid in per_obj:
                key = (vb, va) if swap else (va, vb)
                per_obj[oid][key] = stats.scale_histogram(hist)

    columns = _column_order(dim, by_dim, {k for cells in per_obj.values() for k in cells})
    rows = []
    withheld: set[int] = set()
    tests: list[tuple[HeatCell, float | None]] = []
    for obj in objectives:
        hists = per_obj[obj.id]
        counts = {k: sum(hists.get(k, {}).values()) for k in columns}
        if by_dim is None:
            shown = privacy.suppress_cells(counts)
        else:
            shown = suppress_grid(counts)  # type: ignore[arg-type]
        t_est = estimate(totals.get((obj.id, "")))
        total_est = _from_estimate(t_est, score_col, kind)
        # The all-members share follows the dashboard's rule for shares (it must not
        # undo a cell the drill-down's distribution table hides).
        total_shown = (kind != "share" or t_est.show_share(
            "imp_high" if score_col == "importance" else "perf_high"))
        total_shown = total_shown and _value(total_est, kind) is not None
        total_val = (_value(total_est, kind)
                     if privacy.is_reportable(sum(all_hist[obj.id].values())) and total_shown
                     else None)
        if total_val is None and privacy.is_reportable(sum(all_hist[obj.id].values())):
            withheld.add(obj.id)
        cells: dict[tuple[str, ...], HeatCell] = {}
        for key in columns:
            n = shown[key]
            cell = HeatCell(n)
            cells[key] = cell
            if not n:
                continue
            hist = hists[key]
            seg = published[obj.id].get(key)
            if seg is not None:
                d = seg.decisions[score_col]
                if d.rows_hidden or not d.n_known:
                    cell.n = None
                    continue
                est = _from_estimate(seg, score_col, kind)
                exact = not (d.audited or t_est.decisions[score_col].audited)
                if kind == "share" and not seg.show_share(
                        "imp_high" if score_col == "importance" else "perf_high"):
                    cell.split_hidden = True
                    continue
            else:
                est, audited = published_scale(hist, kind)
                exact = not (audited or t_est.decisions[score_col].audited)
            if _value(est, kind) is None:
                if kind == "share":
                    cell.split_hidden = True
                else:
                    cell.withheld = True
                continue
            # The segments' shares add up to the objective's: where that one is hidden,
            # so are they (else their sum would give it back).
            if _split_hidden(est, kind) or (kind == "share" and not total_shown):
                cell.split_hidden = True
                continue
            cell.value = _value(est, kind)
            if total_val is not None and cell.value is not None:
                cell.diff = cell.value - total_val
            if exact:
                rest_hist = _hist_minus(all_hist[obj.id], hist)
                r = (stats.share_high(rest_hist) if kind == "share"
                     else stats.mean_from_histogram(rest_hist))
            else:
                # A hidden cell on either side: the test runs on published figures only.
                r = _rest(total_est, est, kind)
            if r is None:
                cell.p = None
            elif kind == "share":
                cell.test, cell.p = stats.share_test(est.k, est.n, r.k, r.n)
            elif est.sd is None or r.sd is None:
                cell.p = None
            else:
                cell.p = stats.welch_difference(est, r, bounds=stats.SCALE_BOUNDS).p
            tests.append((cell, cell.p))
        rows.append((obj, total_val, cells))

    if by_dim is not None:
        # Crossed tables are wide: leave out combinations nobody is in.
        keep = [k for k in columns if any(cells[k].n != 0 for _, _, cells in rows)]
        columns = keep
        rows = [(obj, total, {k: cells[k] for k in keep}) for obj, total, cells in rows]

    for (cell, _), q in zip(tests, stats.benjamini_hochberg([p for _, p in tests]),
                            strict=True):
        cell.q = q
        threshold = SHARE_THRESHOLD if kind == "share" else MEAN_THRESHOLD
        cell.flagged = (q is not None and q < ALPHA and cell.diff is not None
                        and abs(cell.diff) >= threshold - 1e-12)

    hm = Heatmap(rnd, dim, by_dim, measure, columns, rows, withheld=withheld)
    hm.table = _table(hm, kind)
    hm.flags = [
        {"objective": obj, "column": key, "label": column_label(dim, by_dim, key),
         "value": c.value, "diff": c.diff, "q": c.q, "n": c.n, "test": c.test,
         "code": key}
        for obj, _, cells in rows for key, c in cells.items() if c.flagged]
    hm.flags.sort(key=lambda f: -abs(f["diff"]))
    return hm


def _column_order(dim, by_dim, present: set[tuple[str, ...]]) -> list[tuple[str, ...]]:
    def codes(d):
        return [*d.codes, ""]
    if by_dim is None:
        keys = [(c,) for c in codes(dim)]
    else:
        keys = [(a, b) for a in codes(dim) for b in codes(by_dim)]
    ordered = [k for k in keys if k in present]
    extra = sorted(k for k in present if k not in set(keys))
    return ordered + extra


def column_label(dim, by_dim, key: tuple[str, ...]) -> str:
    first = dim.label_for(key[0] or None)
    if by_dim is None:
        return first
    return f"{first} · {by_dim.label_for(key[1] or None)}"


def fmt_value(v: float, kind: str) -> str:
    return numfmt.percent(v) if kind == "share" else numfmt.number(v)


def fmt_diff(d: float, kind: str) -> str:
    return numfmt.points(d) if kind == "share" else numfmt.signed(d)


def shade(diff: float | None, kind: str) -> str:
    """A class for the cell background: five steps on a diverging scale."""
    if diff is None:
        return "heat-na"
    step = 0.05 if kind == "share" else 0.2
    if diff <= -2 * step:
        return "heat-neg2"
    if diff <= -step:
        return "heat-neg1"
    if diff >= 2 * step:
        return "heat-pos2"
    if diff >= step:
        return "heat-pos1"
    return "heat-0"


def _table(hm: Heatmap, kind: str) -> Table:
    _, _, label = MEASURES[hm.measure]
    cols = [Column("objective", "Objective", numeric=False),
            Column("all", "All members", export_labels=("All members",))]
    keys: dict[Hashable, str] = {}
    for i, key in enumerate(hm.columns):
        name = column_label(hm.dimension, hm.by, key)
        ck = f"c{i}"
        keys[key] = ck
        cols.append(Column(ck, name, export_labels=(
            name, f"{name}: difference", f"{name}: adjusted p", f"{name}: flagged")))
    title = f"{label} by {hm.dimension.label.lower()}"
    if hm.by:
        title += f" and {hm.by.label.lower()}"
    table = Table("heatmap", f"{title}, {hm.round.name}", cols, row_header="objective",
                  note="Differences are from all members; ▲/▼ marks a difference of at least "
                       + ("5 percentage points" if kind == "share" else "0.2 points")
                       + " that a test against the rest of the members finds beyond chance "
                         "(Benjamini–Hochberg adjusted p < 0.05).")
    for obj, total, cells in hm.rows:
        row: dict[str, Cell] = {
            "objective": Cell(obj.code, (obj.code,), (obj.domain.position, obj.position),
                              sub=obj.text),
            "all": (Cell(fmt_value(total, kind), (_export_value(total, kind),), total)
                    if total is not None else suppressed_cell(
                        label=privacy.withheld_label() if obj.id in hm.withheld else None)),
        }
        for key, c in cells.items():
            ck = keys[key]
            if c.n is None:
                row[ck] = suppressed_cell(4)
            elif c.split_hidden:
                row[ck] = suppressed_cell(4, privacy.split_suppressed_label())
            elif c.withheld:
                row[ck] = suppressed_cell(4, privacy.withheld_label())
            elif not c.n or c.value is None:
                row[ck] = empty_cell(4)
            else:
                flag = ""
                if c.flagged:
                    flag = "▲ higher" if c.diff > 0 else "▼ lower"
                diff_text = fmt_diff(c.diff, kind) if c.diff is not None else ""
                row[ck] = Cell(
                    fmt_value(c.value, kind),
                    (_export_value(c.value, kind),
                     "" if c.diff is None else _export_value(c.diff, kind),
                     "" if c.q is None else round(c.q, 4), "yes" if c.flagged else "no"),
                    c.value, sub=diff_text, flag=flag, css=shade(c.diff, kind))
        table.rows.append(row)
    return table


def _export_value(v: float, kind: str) -> float:
    return round(100 * v, 1) if kind == "share" else round(v, 3)
