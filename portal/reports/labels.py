"""Priority labels an objective earns from its intervals, never from a point estimate.

An objective is "Concentrate here" only when its importance interval lies clearly
above the reference and its performance interval clearly below it, or when its gap
interval (performance minus importance) lies clearly below zero. The other three
classes need both intervals clear of the reference on their side (and "Keep up the
good work" a gap not clearly negative, which the first rule already ensures).
Everything else is "Not clearly different": a crosshair moved by 0.005 can no longer
flip a label, and nothing is "Concentrate here" just because something must be.

The reference is the scale midpoint (3 on the 1–5 scale) unless a leader chooses
the averages over objectives; every label carries the name of the reference used.
The intervals are the published ones (portal.reports.estimates): where the
disclosure step withheld an interval the label is "Not clearly different".
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from portal import stats
from portal.numfmt import number
from portal.reports.estimates import SliceEstimate, centres

NOT_CLEAR = "Not clearly different"
LABELS = (stats.CONCENTRATE, stats.KEEP_UP, stats.LOW_PRIORITY, stats.OVERKILL, NOT_CLEAR)
ORDER = {label: i for i, label in enumerate(LABELS)}
MIDPOINT_VALUE = 3.0

MIDPOINT = "midpoint"
AVERAGE = "average"
REFERENCES = {MIDPOINT: "Scale midpoint (3)", AVERAGE: "Averages over objectives"}


@dataclass(frozen=True)
class Reference:
    kind: str
    importance: float | None
    performance: float | None

    @property
    def known(self) -> bool:
        return self.importance is not None and self.performance is not None

    @property
    def text(self) -> str:
        """What the labels compare with, for the sentence beside every label."""
        if self.kind == MIDPOINT:
            return "the scale midpoint (3)"
        if not self.known:
            return "the averages over objectives (none yet)"
        return (f"the averages over objectives ({number(self.importance)} importance, "
                f"{number(self.performance)} performance)")

    @property
    def short(self) -> str:
        return "vs. scale midpoint" if self.kind == MIDPOINT else "vs. averages"


def reference(kind: str, estimates: list[SliceEstimate]) -> Reference:
    if kind == AVERAGE:
        return Reference(AVERAGE, *centres(estimates))
    return Reference(MIDPOINT, MIDPOINT_VALUE, MIDPOINT_VALUE)


def _side(m: stats.Mean, ref: float) -> int:
    """+1 when the interval lies clearly above ref, -1 clearly below, 0 otherwise."""
    if m.lo is None or m.hi is None or m.mean is None:
        return 0
    if m.lo > ref:
        return 1
    if m.hi < ref:
        return -1
    return 0


def gap_clearly_negative(e: SliceEstimate) -> bool:
    g = e.gap
    return (e.show_gap and g.mean is not None and g.hi is not None and g.hi < 0)


def classify(e: SliceEstimate, ref: Reference) -> str | None:
    """The label of one objective (None when its means are not shown at all)."""
    if not (e.show_importance and e.show_performance):
        return None
    if e.imp_mean.mean is None or e.perf_mean.mean is None:
        return None
    if gap_clearly_negative(e):
        return stats.CONCENTRATE
    if not ref.known:
        return NOT_CLEAR
    imp, perf = _side(e.imp_mean, ref.importance), _side(e.perf_mean, ref.performance)
    return {(1, -1): stats.CONCENTRATE, (1, 1): stats.KEEP_UP,
            (-1, -1): stats.LOW_PRIORITY, (-1, 1): stats.OVERKILL}.get((imp, perf), NOT_CLEAR)


def shortfalls(rows, key=lambda r: r.est):
    """Objectives whose gap interval lies below zero, largest shortfall first: the
    ranking by gap and the labels agree because each of these is "Concentrate here"."""
    out = [r for r in rows if gap_clearly_negative(key(r))]
    out.sort(key=lambda r: key(r).gap.mean)
    return out


_NUMBERING = re.compile(r"^\s*\d+[.)]\s*")


def short_name(text: str, limit: int = 48) -> str:
    """An objective's text cut to a readable name at a word boundary: its first
    sentence (or first clause of four words or more), at most `limit` characters."""
    text = _NUMBERING.sub("", text or "").strip()
    first = re.split(r"(?<=[a-z\"”])[.;:](?:\s|$)", text, maxsplit=1)[0].strip().rstrip(".")
    # A comma ends the name when what comes before already says something (4+ words).
    head, comma, _ = first.partition(", ")
    if comma and len(head.split()) >= 4:
        first = head
    if len(first) <= limit:
        return first
    cut = first[:limit].rsplit(" ", 1)[0].rstrip(",;:-")
    return f"{cut}…"
