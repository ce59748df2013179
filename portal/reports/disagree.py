"""Where segments disagree: the segment differences a board can act on.

From the segment heatmaps of the share rating importance 4–5 (one per dimension,
figures already through the disclosure step), the flagged cells: a difference of at
least five points from all members that survives the Benjamini–Hochberg correction
(Fisher's exact test where an expected count is under 5). "Prefer not to say" and
"Not answered" are left out: nobody can act on them. The list is ranked by size and
adjusted significance together: the difference in points times the strength of the
evidence, -log10 of the adjusted p (capped at 6, so a tiny p cannot outrank a large
difference on its own).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from portal import segments
from portal.models import FeedbackRound, Objective
from portal.reports import heatmap

NOT_ACTIONABLE = frozenset({segments.PREFER_NOT, ""})
EVIDENCE_CAP = 6.0


@dataclass(frozen=True)
class Disagreement:
    objective: Objective
    dimension: segments.Dimension
    code: str
    label: str
    n: int
    value: float          # the segment's share rating it important
    diff: float           # from all members
    q: float              # adjusted p
    test: str             # "z" or "exact"

    @property
    def score(self) -> float:
        evidence = min(EVIDENCE_CAP, -math.log10(max(self.q, 1e-300)))
        return abs(self.diff) * evidence

    @property
    def direction(self) -> str:
        return "more" if self.diff > 0 else "fewer"


def find(rnd: FeedbackRound, measure: str = "importance_share",
         heatmaps: dict[str, heatmap.Heatmap] | None = None) -> list[Disagreement]:
    """Every actionable flagged segment difference of the round, strongest first."""
    out: list[Disagreement] = []
    for dim in segments.DIMENSIONS:
        hm = (heatmaps or {}).get(dim.key) or heatmap.build(rnd, dim.key, None, measure)
        for f in hm.flags:
            (code,) = f["code"]
            if code in NOT_ACTIONABLE or f["q"] is None or f["n"] is None:
                continue
            out.append(Disagreement(f["objective"], dim, code, f["label"], f["n"],
                                    f["value"], f["diff"], f["q"], f["test"]))
    out.sort(key=lambda d: (-d.score, d.q, d.objective.code))
    return out
