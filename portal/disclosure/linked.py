"""Linked tables: cells that sum to published totals, protected together.

A family of cells (a parent table and its children along one segment dimension,
the respondent counts of every selection with their margins ...) is one attacker's
problem: every shown cell is known exactly, every published relation (a total is
the sum of its parts, a part is at most its whole) holds, and each hidden cell must
keep its protection interval (`audit.protected`). `protect()` hides more cells,
siblings of an exposed cell first and the smallest first, until it does.

Decisions are pure functions of their inputs, so they are memoised on the exact
counts: a new response changes the inputs and with them the key.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Mapping
from functools import lru_cache

from portal.disclosure import audit

Key = Hashable
Sum = tuple[Key, tuple[Key, ...]]        # total == sum(parts)
AtMost = tuple[Key, Key]                 # small <= big


def problem(shown: Mapping[Key, int | None], sums: Iterable[Sum],
            at_most: Iterable[AtMost] = (), cap: int | None = None) -> audit.Problem:
    """The attacker's problem from what is shown (None = hidden) and the relations.

    `cap` bounds every cell: a cell nothing else bounds could be any size, which the
    solver reports as no answer at all; capped, its range simply reaches the cap."""
    p = audit.Problem()
    for key in shown:
        p.cell(key, upper=cap)
    for total, parts in sums:
        p.equal({total: 1.0, **_neg(parts)}, 0.0)
    for small, big in at_most:
        p.between({small: 1.0, big: -1.0}, None, 0.0)
    for key, value in shown.items():
        if value is not None:
            p.fix(key, value)
    return p


def _neg(parts: Iterable[Key]) -> dict[Key, float]:
    out: dict[Key, float] = {}
    for part in parts:
        out[part] = out.get(part, 0.0) - 1.0
    return out


def exposed_cells(values: Mapping[Key, int], hidden: Iterable[Key], sums: Iterable[Sum],
                  at_most: Iterable[AtMost], k: int) -> dict[Key, tuple[int, int]]:
    """The sensitive cells among `hidden` that the shown cells and relations narrow."""
    return _exposed(values, set(hidden), sensitive(values, k), sums, at_most, k)


def _exposed(values, hidden: set, small: set, sums, at_most, k: int) -> dict:
    shown = {key: (None if key in hidden else v) for key, v in values.items()}
    cap = 2 * max(values.values(), default=0) + 2 * k
    return audit.exposed(problem(shown, sums, at_most, cap),
                         [h for h in values if h in small], k)


def sensitive(values: Mapping[Key, int], k: int) -> set:
    """The cells that describe 1..k-1 people: the ones that must keep their interval.
    A cell hidden only as a complement may be worked out: it describes k or more."""
    return {key for key, v in values.items() if 0 < v < k}


def protect(values: Mapping[Key, int], sums: Iterable[Sum], hidden: Iterable[Key], k: int,
            at_most: Iterable[AtMost] = ()) -> frozenset:
    """A greedy extension of `hidden` after which no sensitive cell is exposed."""
    items = tuple(sorted(values.items(), key=repr))
    return _protect(items, tuple(sums), frozenset(hidden), k, tuple(at_most))


@lru_cache(maxsize=4096)
def _protect(items: tuple, sums: tuple, hidden: frozenset, k: int, at_most: tuple
             ) -> frozenset:
    values = dict(items)
    small = sensitive(values, k)
    hidden = set(hidden) | small
    if not hidden:
        return frozenset()
    order = {key: i for i, (key, _v) in enumerate(items)}
    # Hiding more only widens every range: a cell protected once stays protected, so
    # each round audits only the cells exposed in the round before.
    pending = set(small)
    while True:
        bad = _exposed(values, hidden, pending, sums, at_most, k)
        pending = set(bad)
        if not bad:
            return frozenset(hidden)
        # One complement for every exposed cell before auditing again: each audit is
        # two solver runs per sensitive cell, so fewer rounds are what keeps it fast.
        # A cell in a relation with a complement chosen this round may be fixed by it:
        # it waits for the next audit rather than hide more than needed.
        extras: set = set()
        touched: set = set()
        totals = {t for t, _parts in sums}
        # Inner cells first: a complement among them leaves the margins shown.
        for target in sorted(bad, key=lambda key: (key in totals, values[key], order[key])):
            if target in touched:
                continue
            extra = _complement(target, values, hidden | extras, sums, at_most, order)
            if extra is not None:
                extras.add(extra)
                touched |= _related(extra, sums, at_most)
        hidden |= extras
        if not extras:
            # No relation of an exposed cell has a shown cell left: the smallest shown
            # cell anywhere, and when nothing is left, everything.
            rest = [x for x in values if x not in hidden and values[x] > 0]
            if not rest:
                return frozenset(values)
            hidden.add(min(rest, key=lambda x: (values[x], order[x])))


def _complement(target: Key, values: Mapping[Key, int], hidden: set, sums: tuple,
                at_most: tuple, order: Mapping[Key, int]) -> Key | None:
    """Next cell to hide for `target`: a shown, non-zero sibling in a relation it is in
    (a part beside it, then the relation's total); None when there is none."""
    totals_of = {t for t, _parts in sums}

    def pick(keys):
        keys = [x for x in keys if x not in hidden and values.get(x, 0) > 0]
        return min(keys, key=lambda x: (x in totals_of, values[x], order[x])) if keys else None

    siblings, totals = [], []
    for total, parts in sums:
        if target in parts:
            siblings += parts
            totals.append(total)
        elif target == total:
            siblings += parts
    for small, big in at_most:
        if target == small:
            totals.append(big)
        elif target == big:
            siblings.append(small)
    return pick(siblings) or pick(totals)


def _related(key: Key, sums: tuple, at_most: tuple) -> set:
    """Every cell that shares a relation with `key`, and the cells sharing one with
    those (a complement in a row changes what the columns through it allow)."""
    def near(keys: set) -> set:
        out = set(keys)
        for total, parts in sums:
            group = {total, *parts}
            if group & keys:
                out |= group
        for small, big in at_most:
            if small in keys or big in keys:
                out |= {small, big}
        return out
    return near(near({key}))
