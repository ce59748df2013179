"""What may be published about one measure (importance or performance) of one slice
of ratings, decided with the auditor.

A slice is one objective x round x segment value (or all members). For one measure
it is seven cells: the answers 1..5, "don't know" (0) and "not answered" (-1). Its
published figures are the cells a page shows, the number of ratings, the number
answering on the scale, the mean with its t-interval, and the shares rating 4–5 and
1–2 with their Wilson intervals.

`decide(hist, shown)` starts from the small-cell rule (portal.privacy.suppress_cells)
and, when any cell is hidden, solves the attacker's problem (portal.disclosure.audit)
for every hidden cell that holds 1..N-1 people. While one is exposed it withholds
more, least informative first:

1. the mean's second decimal and its interval (the mean then reads to one decimal);
2. the shares;
3. finally the mean itself and every cell on the scale: only counts remain.

The segment rows of one dimension are decided against the all-members row they add
up to in portal.disclosure.segment_rows; `coarse` is the fixed rule for the cells of
two crossed segments (heatmaps), which are too many for the solver on a page.

Rows with no hidden cell publish means to three decimals (exports) and shares to
one decimal: nothing is hidden in them to recover.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass

from portal import privacy, stats
from portal.disclosure.audit import Problem, exposed

ANSWERS = (1, 2, 3, 4, 5, 0, -1)
SCALE = (1, 2, 3, 4, 5)
SHARES = {"high": (4, 5), "low": (1, 2)}
FULL_DIGITS = 3          # what exports carry for a row with nothing hidden
FULL_SHARE_DIGITS = 1
AUDITED_SHARE_DIGITS = 0
# (mean digits, interval shown, shares shown), most to least informative.
LADDER = ((2, True, True), (1, False, True), (1, False, False))
WITHHELD_REASON = "withheld so that no small group can be worked out"


@dataclass(frozen=True)
class Decision:
    hidden: frozenset[int]            # answers whose cell is not published
    digits: int | None                # decimals of the mean and its interval; None = withheld
    interval: bool                    # the mean's t-interval is shown
    shares: frozenset[str]            # "high" / "low" shares that may be shown
    share_digits: int = FULL_SHARE_DIGITS
    audited: bool = False             # the auditor had a hidden cell to protect
    rows_hidden: bool = False         # not even the number of ratings is published
    rows_known: bool = True           # the number of ratings of the slice is published
    n_known: bool = True              # the number answering on the scale is published
    # A grouped segment row (portal.disclosure.segment_rows): the counts of these
    # groups of answers on the scale are published instead of the cells.
    groups: tuple[tuple[int, ...], ...] | None = None

    @property
    def reduced(self) -> bool:
        """Something beyond the small cells themselves was withheld."""
        return self.audited and (self.digits != 2 or not self.interval
                                 or self.shares != frozenset(SHARES))


def _as_hist(hist: Mapping[int, int]) -> tuple[int, ...]:
    return tuple(int(hist.get(a, 0) or 0) for a in ANSWERS)


def _split_ok(hist: tuple[int, ...], name: str) -> bool:
    h = dict(zip(ANSWERS, hist, strict=True))
    n = sum(h[a] for a in SCALE)
    k = sum(h[a] for a in SHARES[name])
    return n > 0 and privacy.is_reportable_split(k, n)


def published(hist: tuple[int, ...], d: Decision) -> dict:
    """The figures a page and export show for this measure, at their precision."""
    h = dict(zip(ANSWERS, hist, strict=True))
    scale = {a: h[a] for a in SCALE}
    n = sum(scale.values())
    out: dict = {"cells": {a: (None if a in d.hidden else h[a]) for a in ANSWERS},
                 "rows": sum(hist) if d.rows_known else None, "n": n if d.n_known else None,
                 "mean": None,
                 "shares": {}}
    if d.rows_hidden:
        return {"cells": dict.fromkeys(ANSWERS), "rows": None, "n": None, "mean": None,
                "shares": {}}
    if not d.n_known:
        return out
    if d.groups is not None:
        out["groups"] = {g: sum(h[a] for a in g) for g in d.groups}
    if n and d.digits is not None:
        m = stats.mean_from_histogram(scale)
        lo = hi = None
        if d.interval and m.lo is not None:
            lo, hi = round(m.lo, d.digits), round(m.hi, d.digits)
        out["mean"] = (round(m.mean, d.digits), lo, hi, d.digits)
    for name in d.shares:
        if n:
            p = stats.share(scale, SHARES[name])
            f = 10 ** (d.share_digits + 2)
            out["shares"][name] = (round(p.p * f) / f, round(p.lo * f) / f, round(p.hi * f) / f,
                                   d.share_digits)
    return out


def add_facts(problem: Problem, tag, pub: dict) -> dict[int, tuple]:
    """Everything in `pub` as facts about the cells (tag, answer); returns the keys."""
    keys = {a: problem.cell((tag, a)) for a in ANSWERS}
    for a, v in pub["cells"].items():
        if v is not None:
            problem.fix(keys[a], v)
    problem.equal({**dict.fromkeys(keys.values(), 1.0), problem.cell((tag, "rows")): -1.0}, 0)
    if pub["rows"] is not None:
        problem.total(keys.values(), pub["rows"])
    n = pub["n"]
    if n is None:
        return keys
    problem.total([keys[a] for a in SCALE], n)
    for g, count in pub.get("groups", {}).items():
        problem.total([keys[a] for a in g], count)
    if n and pub["mean"] is not None:
        mean, lo, hi, digits = pub["mean"]
        problem.t_interval({keys[a]: a for a in SCALE}, n, mean, lo, hi, digits,
                           bounds=stats.SCALE_BOUNDS)
    for name, (p, lo, hi, digits) in pub["shares"].items():
        problem.share([keys[a] for a in SHARES[name]], [keys[a] for a in SCALE], n, p, lo, hi,
                      digits)
    return keys


def _at_risk(hist: tuple[int, ...], d: Decision, k: int) -> list[int]:
    h = dict(zip(ANSWERS, hist, strict=True))
    return [a for a in d.hidden if 0 < h[a] < k]


def _passes(hist: tuple[int, ...], d: Decision, k: int) -> bool:
    risky = _at_risk(hist, d, k)
    if not risky:
        return True
    p = Problem()
    keys = add_facts(p, "r", published(hist, d))
    return not exposed(p, [keys[a] for a in risky], k)


def _first_hidden(hist: tuple[int, ...], shown: frozenset[int], k: int) -> frozenset[int]:
    pairs = zip(ANSWERS, hist, strict=True)
    cells = privacy.suppress_cells({a: v for a, v in pairs if a in shown}, k)
    return frozenset(a for a in ANSWERS if a not in shown or cells.get(a) is None)


def ladder(hist: tuple[int, ...], hidden: frozenset[int], rows_known: bool = True):
    """Every decision from most to least informative, starting with `hidden`."""
    # Three rungs and then nothing but counts: each rung costs a solve on the page
    # path, and a slice that fails the coarse rungs rarely passes a finer one with
    # one more cell hidden.
    for digits, interval, shares in LADDER:
        allowed = frozenset(s for s in SHARES if shares and _split_ok(hist, s))
        yield Decision(hidden, digits, interval, allowed, AUDITED_SHARE_DIGITS, True,
                       rows_known=rows_known)
    yield Decision(frozenset(ANSWERS), None, False, frozenset(), AUDITED_SHARE_DIGITS, True,
                   rows_known=rows_known)


def rows_publishable(hist: Mapping[int, int], k: int | None = None) -> bool:
    """The number of ratings and the number answering on the scale are both shown,
    so their difference (members who said "don't know" or skipped) is published
    too: the count of ratings is shown only when that group is 0 or >= N."""
    h = _as_hist(hist)
    off = h[ANSWERS.index(0)] + h[ANSWERS.index(-1)]
    return off == 0 or off >= (privacy.min_n() if k is None else k)


@functools.lru_cache(maxsize=65536)
def _decide(hist: tuple[int, ...], shown: frozenset[int], k: int,
            rows_known: bool = True) -> Decision:
    return _decide_hidden(hist, _first_hidden(hist, shown, k), k, rows_known)


@functools.lru_cache(maxsize=65536)
def _decide_hidden(hist: tuple[int, ...], hidden: frozenset[int], k: int,
                   rows_known: bool = True) -> Decision:
    n = sum(hist[ANSWERS.index(a)] for a in SCALE)
    rows_known = (rows_known and (sum(hist) == 0 or sum(hist) >= k)
                  and rows_publishable(dict(zip(ANSWERS, hist, strict=True)), k))
    if 0 < n < k:
        # Too few answers on the scale to describe: neither they nor their count is
        # published, only the cells that pass the small-cell rule.
        d = Decision(hidden | frozenset(SCALE), None, False, frozenset(), AUDITED_SHARE_DIGITS,
                     True, rows_known=rows_known, n_known=False)
        return d if _passes(hist, d, k) else Decision(
            frozenset(ANSWERS), None, False, frozenset(), AUDITED_SHARE_DIGITS, True,
            rows_known=rows_known, n_known=False)
    full = Decision(hidden, FULL_DIGITS, True,
                    frozenset(s for s in SHARES if _split_ok(hist, s)), rows_known=rows_known)
    if not _at_risk(hist, full, k):
        return full
    for d in ladder(hist, hidden, rows_known):
        if _passes(hist, d, k):
            return d
    raise AssertionError("the last rung publishes only counts and always passes")


def decide(hist: Mapping[int, int], shown: frozenset[int] = frozenset(ANSWERS),
           k: int | None = None, rows_known: bool = True) -> Decision:
    """The decision for one measure of one slice; `shown` = the answers whose cells the
    pages publish for it (others are hidden and protected all the same);
    `rows_known`: the slice's number of ratings is published (rows_publishable for
    both measures)."""
    return _decide(_as_hist(hist), frozenset(shown), privacy.min_n() if k is None else k,
                   rows_known)


# Nothing about a slice at all, not even its number of ratings.
GONE = Decision(frozenset(ANSWERS), None, False, frozenset(), AUDITED_SHARE_DIGITS, True,
                rows_hidden=True, rows_known=False, n_known=False)


def full_decision(hist: tuple[int, ...], rows_known: bool = True) -> Decision:
    """Everything at full precision: the decision for a slice with no cell of
    1..N-1 people to protect."""
    return Decision(frozenset(), FULL_DIGITS, True,
                    frozenset(s for s in SHARES if _split_ok(hist, s)), rows_known=rows_known)


def coarse(hist: tuple[int, ...], hidden: frozenset[int], k: int,
           rows_known: bool = True) -> Decision:
    """The fixed rule for a row decided without the solver: full precision when no
    hidden cell holds 1..N-1 people, else the mean to one decimal without interval,
    and only the shares that lie wholly inside or outside the hidden cells (nothing
    about the scale below N answers)."""
    n = sum(hist[ANSWERS.index(a)] for a in SCALE)
    rows_known = (rows_known and (sum(hist) == 0 or sum(hist) >= k)
                  and rows_publishable(dict(zip(ANSWERS, hist, strict=True)), k))
    full = Decision(hidden, FULL_DIGITS, True,
                    frozenset(s for s in SHARES if _split_ok(hist, s)), rows_known=rows_known)
    if not _at_risk(hist, full, k):
        return full
    if 0 < n < k:
        return Decision(hidden | frozenset(SCALE), None, False, frozenset(),
                        AUDITED_SHARE_DIGITS, True, rows_known=rows_known, n_known=False)
    # A share splits the hidden scale cells into those inside its answers and those
    # outside, and tells each side's sum: like a line of the table, each side must be
    # empty or hold at least two non-zero cells adding up to N or more.
    h = dict(zip(ANSWERS, hist, strict=True))

    def side_ok(cells: set[int]) -> bool:
        vals = [h[a] for a in cells if h[a] > 0]
        return not vals or (len(vals) >= 2 and sum(vals) >= k)

    on_scale = hidden & frozenset(SCALE)
    shares = frozenset(s for s in SHARES if _split_ok(hist, s)
                       and side_ok(on_scale & set(SHARES[s]))
                       and side_ok(on_scale - set(SHARES[s])))
    return Decision(hidden, 1, False, shares, AUDITED_SHARE_DIGITS, True,
                    rows_known=rows_known)
