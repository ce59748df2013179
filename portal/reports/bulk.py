"""Summary rows for bulk loaders (demo data, benchmarks) that insert ratings with
Core statements: they count the arrays they are about to insert with numpy, so
loading a 50,000-member round does not need a full `rebuild_round` scan.

Never used by report pages; `flask reports verify` checks the result against a
recomputation from the raw ratings.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from portal import segments
from portal.reports import bulkload
from portal.reports.aggregates import (
    ALL,
    CELL_KEY,
    CELLS,
    CROSS,
    CROSS_KEY,
    MEASURES,
    PAIRS,
    RATER_KEY,
    RATERS,
)


def _index(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    uniq, inverse = np.unique(values, return_inverse=True)
    return uniq, inverse.reshape(-1)


def _group(parts: list[tuple[np.ndarray, np.ndarray]]) -> tuple[list[np.ndarray], np.ndarray]:
    """Count the combinations of several indexed columns: (decoded labels, counts)."""
    shape = tuple(len(labels) for labels, _ in parts)
    codes = np.ravel_multi_index([idx for _, idx in parts], shape)
    uniq, counts = np.unique(codes, return_counts=True)
    decoded = np.unravel_index(uniq, shape)
    return [labels[d] for (labels, _), d in zip(parts, decoded, strict=True)], counts


def summarise(round_id: int, objective_id: np.ndarray, user_id: np.ndarray,
              importance: np.ndarray, performance: np.ndarray,
              segment_values: Mapping[str, np.ndarray]) -> tuple[list, list, list]:
    """Rows for report_cells, report_cross_cells and report_raters from rating arrays.

    importance/performance hold -1 for "not answered" (0 = don't know, 1..5);
    segment arrays hold codes with "" for "not answered".
    """
    obj = _index(np.asarray(objective_id))
    imp = _index(np.asarray(importance))
    perf = _index(np.asarray(performance))
    segs = {k: _index(np.asarray(segment_values[k], dtype=object).astype(str))
            for k in segments.KEYS}

    cells: list[dict] = []
    labels, counts = _group([obj, imp, perf])
    cells += [{"round_id": round_id, "dimension": ALL, "value": "", "objective_id": int(o),
               "importance": int(i), "performance": int(p), "n": int(n)}
              for o, i, p, n in zip(*labels, counts, strict=True)]
    for key in segments.KEYS:
        labels, counts = _group([segs[key], obj, imp, perf])
        cells += [{"round_id": round_id, "dimension": key, "value": str(v),
                   "objective_id": int(o), "importance": int(i), "performance": int(p),
                   "n": int(n)}
                  for v, o, i, p, n in zip(*labels, counts, strict=True)]

    cross: list[dict] = []
    for measure, scores in zip(MEASURES, (np.asarray(importance), np.asarray(performance)),
                               strict=True):
        on_scale = (scores >= 1) & (scores <= 5)
        sub_obj = _index(np.asarray(objective_id)[on_scale])
        sub_score = _index(scores[on_scale])
        for a, b in PAIRS:
            la, ia = segs[a]
            lb, ib = segs[b]
            labels, counts = _group([(la, ia[on_scale]), (lb, ib[on_scale]), sub_obj, sub_score])
            cross += [{"round_id": round_id, "dim_a": a, "dim_b": b, "measure": measure,
                       "value_a": str(va), "value_b": str(vb), "objective_id": int(o),
                       "score": int(s), "n": int(n)}
                      for va, vb, o, s, n in zip(*labels, counts, strict=True)]

    users = np.asarray(user_id)
    uniq, counts = np.unique(users[users > 0], return_counts=True)
    raters = [{"round_id": round_id, "user_id": int(u), "n": int(n)}
              for u, n in zip(uniq, counts, strict=True)]
    return cells, cross, raters


def insert_summaries(cells: list[dict], cross: list[dict], raters: list[dict]) -> None:
    """Bulk-insert the rows `summarise` returned (the round's summaries must be empty)."""
    for table, key, rows in ((CELLS, CELL_KEY, cells), (CROSS, CROSS_KEY, cross),
                             (RATERS, RATER_KEY, raters)):
        columns = (*key, "n")
        bulkload.insert_rows(table, columns, (tuple(r[c] for c in columns) for r in rows))
