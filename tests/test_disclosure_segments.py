"""Linked tables: the segment rows of one dimension and the all-members row they add
up to are decided together (portal.disclosure.segment_rows), and the portal's own
solver over everything the table publishes (portal.disclosure.rounds.audit_table)
finds no hidden cell it can narrow below the threshold."""

from __future__ import annotations

import itertools
import random

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from portal.disclosure import ratings, segment_rows
from portal.disclosure.ratings import ANSWERS
from portal.disclosure.rounds import audit_table
from portal.reports.estimates import segment_estimates
from portal.reports.queries import Counts

K = 10  # the default PRIVACY_MIN_N, which every call here uses outside an app

# One objective of a demo round by work role, as the portal read it: the table the
# old line rules published with segment cells that subtraction gave back.
TOTAL = {1: 2, 2: 21, 3: 225, 4: 602, 5: 709, 0: 33, -1: 35}
ROWS = {
    "": {1: 0, 2: 0, 3: 1, 4: 3, 5: 5, 0: 0, -1: 0},
    "educator": {1: 1, 2: 1, 3: 19, 4: 43, 5: 54, 0: 4, -1: 1},
    "librarian": {1: 0, 2: 13, 3: 128, 4: 309, 5: 308, 0: 11, -1: 14},
    "manager": {1: 1, 2: 4, 3: 34, 4: 129, 5: 152, 0: 8, -1: 8},
    "other": {1: 0, 2: 1, 3: 15, 4: 32, 5: 44, 0: 1, -1: 2},
    "support": {1: 0, 2: 2, 3: 26, 4: 73, 5: 131, 0: 7, -1: 10},
    "undisclosed": {1: 0, 2: 0, 3: 2, 4: 13, 5: 15, 0: 2, -1: 0},
}


def _counts(imp: dict[int, int], perf: dict[int, int] | None = None) -> Counts:
    return Counts(importance=dict(imp), performance=dict(perf or imp))


def _table(rows: dict[str, dict[int, int]]):
    total = {a: sum(h[a] for h in rows.values()) for a in ANSWERS}
    return _counts(total), {v: _counts(h) for v, h in rows.items()}


def test_the_demo_table_passes_the_solver_and_still_shows_its_large_rows():
    total, rows = _counts(TOTAL), {v: _counts(h) for v, h in ROWS.items()}
    assert audit_table("work role", total, rows, K) == []
    ests = segment_estimates(total, rows)
    # A row with no small cell keeps everything; a row with small cells publishes
    # its groups of answers and the shares, never a mean that would split them.
    librarian = ests["librarian"].decisions["importance"]
    assert not librarian.audited and librarian.digits == ratings.FULL_DIGITS
    manager = ests["manager"]
    assert manager.decisions["importance"].groups is not None
    assert manager.imp_mean.mean is None
    assert manager.show_share("imp_high")
    assert manager.groups["importance"][(4, 5)] == 129 + 152
    # The nine raters of "not answered" are never shown on their own.
    assert ests[""].decisions["importance"].rows_hidden
    assert not ests[""].show_rows


def test_a_single_small_row_is_pooled_with_the_next_smallest():
    rows = {"big": {1: 20, 2: 30, 3: 100, 4: 200, 5: 150, 0: 20, -1: 10},
            "mid": {1: 10, 2: 12, 3: 40, 4: 60, 5: 50, 0: 10, -1: 10},
            "tiny": {1: 0, 2: 1, 3: 2, 4: 1, 5: 1, 0: 0, -1: 0}}
    total, counts = _table(rows)
    ests = segment_estimates(total, counts)
    # "tiny" alone would be given back as all members minus the others.
    assert ests["tiny"].decisions["importance"] is ratings.GONE
    assert ests["mid"].decisions["importance"] is ratings.GONE
    assert ests["big"].show_rows
    assert audit_table("pooled", total, counts, K) == []


def test_a_lone_small_cell_down_a_column_is_not_given_back_by_subtraction():
    # Only "b" has anyone answering 1, and the all-members count of 1s is shown.
    rows = {"a": {1: 0, 2: 40, 3: 100, 4: 200, 5: 150, 0: 20, -1: 10},
            "b": {1: 12, 2: 3, 3: 40, 4: 60, 5: 50, 0: 10, -1: 10},
            "c": {1: 0, 2: 30, 3: 60, 4: 90, 5: 80, 0: 12, -1: 11}}
    total, counts = _table(rows)
    assert audit_table("column", total, counts, K) == []
    d = segment_estimates(total, counts)["b"].decisions["importance"]
    assert d.audited and d.digits is None


def test_the_flow_agrees_with_enumerating_every_small_table():
    rng = random.Random(7)
    for _ in range(60):
        rows = {}
        for v in ("x", "y"):
            hist = dict.fromkeys(ANSWERS, 0)
            for a in rng.sample(ANSWERS, 3):
                hist[a] = rng.randint(0, 3)
            groups = rng.choice([None, (), ((1, 2), (3,), (4, 5)), ((1, 2, 3), (4, 5))])
            rows[v] = segment_rows._Row(hist, groups)
        total = {a: sum(r.hist[a] for r in rows.values()) + rng.randint(0, 1) for a in ANSWERS}
        got = segment_rows._table_exists(rows, total)
        assert got == _enumerate(rows, total)


def _enumerate(rows, total) -> bool:
    """Every pair of histograms with the rows' sizes: is one consistent?"""
    options = []
    for r in rows.values():
        size = r.size
        cands = []
        for split in _compositions(size, len(ANSWERS)):
            h = dict(zip(ANSWERS, split, strict=True))
            if all(sum(h[a] for a in g) == sum(r.hist[a] for a in g)
                   for g in r.published_sums()):
                cands.append(h)
        options.append(cands)
    for combo in itertools.product(*options):
        if all(sum(h[a] for h in combo) == total[a] for a in ANSWERS):
            return True
    return False


def _compositions(n: int, parts: int):
    """Every way of writing n as an ordered sum of `parts` non-negative integers."""
    if parts == 1:
        yield (n,)
        return
    for first in range(n + 1):
        for rest in _compositions(n - first, parts - 1):
            yield (first, *rest)


def _row_strategy():
    small = st.integers(0, 12)
    return st.fixed_dictionaries({
        1: small, 2: st.integers(0, 25), 3: st.integers(0, 60), 4: st.integers(0, 90),
        5: st.integers(0, 90), 0: small, -1: small})


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(_row_strategy(), min_size=2, max_size=5),
       st.lists(_row_strategy(), min_size=5, max_size=5))
def test_no_linked_table_leaves_a_hidden_cell_outside_its_interval(imp_rows, perf_rows):
    """Random segment mixes, both measures: the solver, given every figure the
    drill-down and its export publish for the table, narrows no hidden cell."""
    names = [f"s{i}" for i in range(len(imp_rows))]
    counts = {}
    for v, imp, perf in zip(names, imp_rows, perf_rows, strict=False):
        # Both measures count the same ratings: scale the performance row to the size.
        size = sum(imp.values())
        perf = _resize(perf, size)
        counts[v] = _counts(imp, perf)
    total = Counts(importance={a: sum(c.importance[a] for c in counts.values()) for a in ANSWERS},
                   performance={a: sum(c.performance[a] for c in counts.values())
                                for a in ANSWERS})
    assert audit_table("random", total, counts, K) == []
    ests = segment_estimates(total, counts)
    for e in ests.values():
        for d in e.decisions.values():
            assert d.digits is None or not d.audited, "a mean would split the groups"


def _resize(hist: dict[int, int], size: int) -> dict[int, int]:
    have = sum(hist.values())
    if have == 0:
        return {**dict.fromkeys(ANSWERS, 0), 3: size}
    out = {a: hist[a] * size // have for a in ANSWERS}
    out[4] += size - sum(out.values())
    return out
