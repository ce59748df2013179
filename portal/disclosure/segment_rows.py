"""What may be published about the segment rows of one ratings table.

One table is one objective x round x segment dimension, for one measure: a row per
segment value (career stage "early", "mid", ..., "not answered") and the all-members
row they add up to, answer by answer. Whatever the rows publish, an attacker can set
them against each other and against the all-members row, so they are decided
together, here, with the all-members row's own decision fixed
(portal.disclosure.ratings.decide).

A row is published in one of three forms:

- **full**: every one of its seven cells (answers 1..5, "don't know", "not answered")
  holds no one or at least N people. Nothing in it needs protecting, so it keeps
  every figure at full precision (cells, mean, interval, shares).
- **grouped**: the row publishes the number of its members in groups of answers,
  1–2, 3 and 4–5, and with them the shares rating 4–5 and 1–2, but no mean: a mean
  would tell how the hidden answers split inside a group. Every group published
  holds no one or at least N people; a group of 1..N-1 is merged with its
  neighbour on the scale until none is left. The number of ratings is published
  only when it and "don't know or not answered" are no one or at least N.
- **hidden**: nothing about the measure (the number of ratings may still show, from
  the other measure).

Every cell of a grouped or hidden row that holds 1..N-1 people must keep its
protection interval (portal.disclosure.audit.protected) against everything the
table publishes. The check first looks for exchanges that keep every published
figure as it is: one member of the row moved from answer a to b inside a group,
and one member of another row moved from b to a (`_reach`). Such exchanges are
real alternative tables, so when they move a cell down to 0 and up to N, or over
N values, the cell is protected; no solver is needed. Cells the exchanges cannot
clear, and the all-members row's own hidden cells, go to the solver over the whole
table (`_exposed`). While any cell is exposed, its row is coarsened one step
(groups merged, then hidden); when only hidden rows are left and something is still
exposed, the full rows become grouped, and finally no row publishes its number of
ratings either, which leaves the all-members row alone, already audited.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass

from portal import privacy
from portal.disclosure import ratings
from portal.disclosure.audit import protected
from portal.disclosure.ratings import ANSWERS, SCALE, Decision

OFF = (0, -1)
FINEST = ((1, 2), (3,), (4, 5))
POOL = "\x00pool"          # the rows of fewer than N ratings, taken together


@dataclass
class _Row:
    hist: dict[int, int]
    groups: tuple[tuple[int, ...], ...] | None    # None: full row; (): hidden

    @property
    def full(self) -> bool:
        return self.groups is None

    @property
    def size(self) -> int:
        return sum(self.hist.values())

    def published_sums(self) -> list[tuple[int, ...]]:
        """The sums of answers the row publishes, its number of ratings aside."""
        return list(dict.fromkeys(_group_index(self.groups).values()))

    def compatible(self, a: int, b: int) -> bool:
        """Whether one member of the row may move between answers a and b keeping
        every figure the row publishes."""
        index = _group_index(self.groups)
        return index.get(a) == index.get(b)


@functools.lru_cache(maxsize=256)
def _group_index(groups: tuple[tuple[int, ...], ...] | None) -> dict[int, tuple[int, ...]]:
    """Answer -> the published sum it is in. A grouped row's "don't know or not
    answered" count is its number of ratings minus its answers on the scale."""
    if groups is None:
        return {a: (a,) for a in ANSWERS}
    if not groups:
        return {}
    return {a: g for g in (*groups, OFF) for a in g}


def _merge(groups: tuple[tuple[int, ...], ...], k: int, hist: dict[int, int],
           at: int | None = None) -> tuple[tuple[int, ...], ...]:
    """One step coarser: the group holding answer `at` (or the smallest group of
    1..N-1 people) merged with its smaller neighbour; () once one group is left."""
    sums = [sum(hist[a] for a in g) for g in groups]
    if at is None:
        small = [i for i, n in enumerate(sums) if 0 < n < k]
        if not small:
            return groups
        i = min(small, key=lambda j: sums[j])
    else:
        i = next(j for j, g in enumerate(groups) if at in g)
    if len(groups) == 1:
        return ()
    j = min((n for n in (i - 1, i + 1) if 0 <= n < len(groups)), key=lambda n: sums[n])
    lo, hi = sorted((i, j))
    return (*groups[:lo], groups[lo] + groups[hi], *groups[hi + 1:])


def _normalise(groups: tuple[tuple[int, ...], ...], hist: dict[int, int], k: int
               ) -> tuple[tuple[int, ...], ...]:
    """Merge groups of 1..N-1 people into their neighbours until none is left; ()
    when the row's answers on the scale are themselves 1..N-1."""
    while groups:
        merged = _merge(groups, k, hist)
        if merged == groups:
            return groups
        groups = merged
    return ()


def _at_risk(hist: Mapping[int, int], k: int) -> list[int]:
    return [a for a in ANSWERS if 0 < hist[a] < k]


class _Total:
    """The all-members row: which of its hidden cells may change together while
    every figure it publishes stays as it is."""

    def __init__(self, total: tuple[int, ...], d: Decision):
        self.hist = dict(zip(ANSWERS, total, strict=True))
        self.d = d
        self.pub = ratings.published(total, d)
        self.cache: dict[tuple[int, int], list[dict[int, int]]] = {}

    def shifted(self, a: int, b: int, t: int) -> dict[int, int] | None:
        """The all-members cells with t members moved from answer b to answer a
        (t < 0: from a to b), if that leaves every published figure as it is."""
        if t == 0:
            return self.hist
        if a not in self.d.hidden or b not in self.d.hidden:
            return None
        h = dict(self.hist)
        h[a] += t
        h[b] -= t
        if h[a] < 0 or h[b] < 0:
            return None
        return h if ratings.published(ratings._as_hist(h), self.d) == self.pub else None


def _table_exists(rows: dict[str, _Row], total: Mapping[int, int],
                  cell: tuple[str, int] | None = None, at_least: int = 0) -> bool:
    """Whether some table has these all-members cells, every row's published sums
    and number of ratings, and (with `cell`) that cell at 0 (at_least = 0) or at
    `at_least` or more: a flow from each row's sums to the answers' columns."""
    demand = {a: total[a] - sum(r.hist[a] for r in rows.values() if r.full) for a in ANSWERS}
    buckets: list[tuple[int, tuple[int, ...]]] = []
    for v, r in rows.items():
        if r.full:
            continue
        sums = r.published_sums() or [ANSWERS]
        for g in sums:
            cap = sum(r.hist[a] for a in g)
            answers = g
            if cell is not None and cell[0] == v and cell[1] in g:
                if at_least:
                    cap -= at_least
                    demand[cell[1]] -= at_least
                else:
                    answers = tuple(a for a in g if a != cell[1])
            if cap < 0:
                return False
            buckets.append((cap, answers))
    if any(d < 0 for d in demand.values()):
        return False
    need = sum(demand.values())
    if need != sum(cap for cap, _ in buckets):
        return False
    if need == 0:
        return True
    return _max_flow(buckets, demand) == need


def _max_flow(buckets: list[tuple[int, tuple[int, ...]]], demand: dict[int, int]) -> int:
    """Maximum flow from the buckets (capacity, answers it may go to) to the answers
    (capacity demand[a]): augmenting paths (Edmonds-Karp) on a graph of a few dozen
    nodes, where building a scipy graph would cost more than solving it."""
    flow = [dict.fromkeys(answers, 0) for _, answers in buckets]
    left = [cap for cap, _ in buckets]
    room = dict(demand)
    total = 0
    while True:
        # Breadth-first from buckets with capacity left, through answers (and back
        # along flow already sent to another bucket), to an answer with room.
        parent: dict = {}
        queue = []
        for i, cap in enumerate(left):
            if cap > 0:
                parent[("b", i)] = None
                queue.append(("b", i))
        end = None
        while queue and end is None:
            node = queue.pop(0)
            if node[0] == "b":
                for a in buckets[node[1]][1]:
                    if ("a", a) not in parent:
                        parent[("a", a)] = node
                        if room[a] > 0:
                            end = ("a", a)
                            break
                        queue.append(("a", a))
            else:
                a = node[1]
                for j, f in enumerate(flow):
                    if f.get(a, 0) > 0 and ("b", j) not in parent:
                        parent[("b", j)] = node
                        queue.append(("b", j))
        if end is None:
            return total
        path = [end]
        while parent[path[-1]] is not None:
            path.append(parent[path[-1]])
        path.reverse()
        amount = min(left[path[0][1]], room[end[1]])
        for x, y in zip(path, path[1:], strict=False):
            if x[0] == "a":          # back along flow from bucket y to answer x
                amount = min(amount, flow[y[1]][x[1]])
        for x, y in zip(path, path[1:], strict=False):
            if x[0] == "b":
                flow[x[1]][y[1]] += amount
            else:
                flow[y[1]][x[1]] -= amount
        left[path[0][1]] -= amount
        room[end[1]] -= amount
        total += amount


def _reach(rows: dict[str, _Row], v: str, a: int) -> tuple[int, int]:
    """How far cell (v, a) moves down and up by exchanges with other rows that keep
    every published figure (and every all-members cell) as it is: one member of the
    row from a to b, one member of another row from b to a."""
    row = rows[v]
    x = row.hist[a]
    down = 0
    up_pair = {b: 0 for b in ANSWERS if b != a and row.compatible(a, b)}
    for u, other in rows.items():
        if u == v or other.full:
            continue
        for b in up_pair:
            if other.compatible(a, b):
                down += other.hist[b]
                up_pair[b] += other.hist[a]
    up = max([0] + [min(row.hist[b], cap) for b, cap in up_pair.items()])
    return min(x, down), up


def _totals(total: _Total, a: int, reach: int) -> list[dict[int, int]]:
    """All-members cells consistent with what that row publishes, with answer a
    moved by up to `reach` (positive: more members on a) against one other answer."""
    if (a, reach) not in total.cache:
        total.cache[(a, reach)] = _shifts(total, a, reach)
    return total.cache[(a, reach)]


def _shifts(total: _Total, a: int, reach: int) -> list[dict[int, int]]:
    out = [total.hist]
    step = 1 if reach > 0 else -1
    for b in ANSWERS:
        if b == a or b not in total.d.hidden:
            continue
        for t in range(step, reach + step, step):
            h = total.shifted(a, b, t)
            if h is not None:
                out.append(h)
    return out


def _cell_ok(rows: dict[str, _Row], total: _Total, v: str, a: int, k: int) -> bool:
    """Whether cell (v, a) provably keeps its protection interval: by exchanges with
    other rows, or by a whole table found with it at 0 and one with it at N-1 or more
    (0..N-1 are N values), all-members cells shifted where that row allows."""
    x = rows[v].hist[a]
    down, up = _reach(rows, v, a)
    if protected(x - down, x + up, k):
        return True
    zero = down >= x or any(_table_exists(rows, t, (v, a)) for t in _totals(total, a, -x))
    if not zero:
        return False
    return x + up >= k - 1 or any(
        t[a] >= k - 1 and _table_exists(rows, t, (v, a), k - 1)
        for t in _totals(total, a, 2 * k))


def _total_cell_ok(rows: dict[str, _Row], total: _Total, a: int, k: int) -> bool:
    """The same for a hidden all-members cell of 1..N-1 people."""
    x = total.hist[a]
    zero = any(t[a] == 0 and _table_exists(rows, t) for t in _totals(total, a, -x))
    return zero and any(t[a] >= k - 1 and _table_exists(rows, t)
                        for t in _totals(total, a, 2 * k))


def _check(total: _Total, rows: dict[str, _Row], k: int) -> set[tuple]:
    """Every cell (row, answer) not shown to keep its protection interval;
    ("total", a) for an all-members cell."""
    bad = {(v, a) for v, row in rows.items() if not row.full
           for a in _at_risk(row.hist, k) if not _cell_ok(rows, total, v, a, k)}
    bad |= {("total", a) for a in total.d.hidden
            if 0 < total.hist[a] < k and not _total_cell_ok(rows, total, a, k)}
    return bad


def _coarsen(rows: dict[str, _Row], bad: set[tuple], k: int) -> bool:
    """One step less published for the rows behind `bad`; False when the rows
    already publish nothing but their number of ratings."""
    changed = False
    for v, a in sorted(bad, key=str):
        row = rows.get(v)
        if row is None or not row.groups:
            continue
        row.groups = (_normalise(_merge(row.groups, k, row.hist, at=a), row.hist, k)
                      if a in SCALE else ())
        changed = True
    if changed:
        return True
    # The cells at risk are in rows that publish nothing more, or in the all-members
    # row: the other rows' sums give them away by subtraction down a column. The
    # smallest row that still separates each such answer is coarsened.
    for a in sorted({a for _, a in bad}):
        grouped = [(r.size, u) for u, r in rows.items() if r.groups]
        if grouped:
            row = rows[min(grouped)[1]]
            row.groups = (_normalise(_merge(row.groups, k, row.hist, at=a), row.hist, k)
                          if a in SCALE else ())
            changed = True
    if changed:
        return True
    full = [r for r in rows.values() if r.full]
    for r in full:
        r.groups = _initial_groups(r.hist, k)
    return bool(full)


def _initial_groups(hist: dict[int, int], k: int) -> tuple[tuple[int, ...], ...]:
    off = sum(hist[a] for a in OFF)
    if 0 < off < k:
        return ()       # "don't know or not answered" would be a small group
    return _normalise(FINEST, hist, k)


def _pool(sizes: dict[str, int], k: int) -> set[str]:
    """Rows of 1..N-1 ratings are never shown on their own. Taken together (with
    the next smallest rows until there are at least N ratings in two rows or more)
    they are one row of the table, and the members inside can be any of them."""
    pool = {v for v, n in sizes.items() if 0 < n < k}
    if not pool:
        return pool
    rest = sorted((n, v) for v, n in sizes.items() if v not in pool and n)
    while (sum(sizes[v] for v in pool) < k or len(pool) < 2) and rest:
        pool.add(rest.pop(0)[1])
    return pool


def _decision(row: _Row, rows_known: bool) -> Decision:
    if row.full:
        return ratings.full_decision(ratings._as_hist(row.hist), rows_known)
    if not row.groups:
        return Decision(frozenset(ANSWERS), None, False, frozenset(),
                        ratings.FULL_SHARE_DIGITS, True, rows_hidden=not rows_known,
                        rows_known=rows_known, n_known=False)
    shares = frozenset(s for s, answers in ratings.SHARES.items()
                       if answers in row.groups and ratings._split_ok(
                           ratings._as_hist(row.hist), s))
    return Decision(frozenset(ANSWERS), None, False, shares, ratings.FULL_SHARE_DIGITS, True,
                    rows_known=rows_known, groups=row.groups)


@functools.lru_cache(maxsize=8192)
def _decide(totals: tuple[tuple[int, ...], ...], total_ds: tuple[Decision, ...],
            rows_in: tuple[tuple[str, tuple[tuple[int, ...], ...]], ...], k: int
            ) -> tuple[tuple[str, tuple[Decision, ...]], ...]:
    hists = {v: [dict(zip(ANSWERS, h, strict=True)) for h in hs] for v, hs in rows_in}
    pool = _pool({v: sum(hs[0]) for v, hs in rows_in}, k)
    gone = ratings.GONE
    tables: list[dict[str, _Row]] = []
    for i in range(len(totals)):
        table = {}
        for v, hs in hists.items():
            if v in pool:
                continue
            h = hs[i]
            table[v] = _Row(h, None if not _at_risk(h, k) else _initial_groups(h, k))
        if pool:
            h = {a: sum(hists[v][i][a] for v in pool) for a in ANSWERS}
            table[POOL] = _Row(h, ())
        tables.append(table)
    checks = [_Total(t, d) for t, d in zip(totals, total_ds, strict=True)]
    while True:
        bads = [_check(t, table, k) for t, table in zip(checks, tables, strict=True)]
        if not any(bads):
            break
        if not all(_coarsen(table, bad, k) for table, bad in zip(tables, bads, strict=True)
                   if bad):
            # Only the numbers of ratings are left, and even they give a cell away:
            # the table shows no segment row at all.
            return tuple((v, tuple(gone for _ in totals)) for v, _ in rows_in)
    return tuple((v, tuple(gone if v in pool else _decision(table[v], True)
                           for table in tables)) for v, _ in rows_in)


def decide(totals: Mapping[str, Mapping[int, int]],
           rows: Mapping[str, Mapping[str, Mapping[int, int]]],
           total_decisions: Mapping[str, Decision], k: int | None = None
           ) -> dict[str, dict[str, Decision]]:
    """Decisions for every segment row of one dimension, per measure: `totals` and
    `total_decisions` are the all-members row's histogram and decision per measure
    (which this never changes), `rows` each segment value's histogram per measure.
    Both measures are decided together because they share the rows' members."""
    k = privacy.min_n() if k is None else k
    measures = tuple(totals)
    key = tuple(sorted((v, tuple(ratings._as_hist(hs[m]) for m in measures))
                       for v, hs in rows.items()))
    out = _decide(tuple(ratings._as_hist(totals[m]) for m in measures),
                  tuple(total_decisions[m] for m in measures), key, k)
    return {v: dict(zip(measures, ds, strict=True)) for v, ds in out}
