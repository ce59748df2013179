"""Segment values on anonymous responses that do not re-identify.

Someone holding the database knows every participant's segments (the users table
and `survey_participations`). A response's stored segment combination is then
only as anonymous as the number of participants the attacker can map to it.

Someone who also holds the WAL, or reads the order of participations, knows which
members a release batch holds. So the rule is applied within each batch: the stored
combination is a deterministic *recoding* of the member's combination, computed
from the batch's own combinations, such that every recoded class is shared by at
least `k` (PRIVACY_MIN_N) members of the batch (and so by at least k of the survey's
participants). Since the attacker can compute the same recoding, the class is all
that the response says about who gave it: one of at least k in its batch. Larger
batches (ANONYMOUS_BATCH_SIZE) keep more detail.

Recoding is hierarchical over the survey's breakdown dimensions, in their order:
the full combination; then the first dimension kept and the rest "Other or not
shown" (`segments.GENERALISED`); then everything generalised. Combinations whose
class is smaller than k move one level up until every class reaches k. If the
fully generalised class is itself non-empty but smaller than k, the smallest
other class joins it, and so on. (With fewer than k participants in all, every
value is generalised; such a survey's results are suppressed anyway.)

Only the survey's breakdown dimensions (one or two) are ever stored.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable

from portal import segments

G = segments.GENERALISED
Combo = tuple[str | None, ...]


def _level_of(combo: Combo, level: int) -> Combo:
    """Keep the first len(combo) - level values, generalise the rest."""
    keep = len(combo) - level
    return tuple(v if i < keep else G for i, v in enumerate(combo))


def _sortable(combo: Combo) -> tuple[str, ...]:
    # "Not answered" is None: order it without comparing None with text.
    return tuple("" if v is None else str(v) for v in combo)


def recoding(counts: Counter, k: int, width: int) -> dict[Combo, Combo]:
    """{participant combination: stored class} with every non-empty class >= k."""
    level = dict.fromkeys(counts, 0)
    top = width  # the level where everything is generalised

    def classes() -> Counter:
        out: Counter = Counter()
        for combo, n in counts.items():
            out[_level_of(combo, level[combo])] += n
        return out

    while True:
        sizes = classes()
        small = [c for c, n in sizes.items() if 0 < n < k and any(v != G for v in c)]
        if small:
            for combo in counts:
                if _level_of(combo, level[combo]) in small and level[combo] < top:
                    level[combo] += 1
            continue
        everything = tuple([G] * width)
        if 0 < sizes.get(everything, 0) < k and len(sizes) > 1:
            # The catch-all class is too small: merge the smallest other class into it.
            smallest = min((c for c in sizes if c != everything),
                           key=lambda c: (sizes[c], _sortable(c)))
            for combo in counts:
                if _level_of(combo, level[combo]) == smallest:
                    level[combo] = top
            continue
        return {combo: _level_of(combo, level[combo]) for combo in counts}


class Recoder:
    """Recodes the submitted combinations of one release batch."""

    def __init__(self, keys: tuple[str, ...], batch: list[dict[str, str | None]],
                 k: int) -> None:
        self.keys = keys
        combos = Counter(tuple(values.get(key) for key in keys) for values in batch)
        self.mapping = recoding(combos, k, len(keys))

    def __call__(self, values: dict[str, str | None]) -> dict[str, str | None]:
        combo = tuple(values.get(key) for key in self.keys)
        return dict(zip(self.keys, self.mapping[combo], strict=True))


def stored_segments(values: dict[str, str | None], keys: Iterable[str]
                    ) -> dict[str, str | None]:
    """A full set of response columns: the breakdown keys' values, every other NULL."""
    keep = set(keys)
    return {key: (values.get(key) if key in keep else None) for key in segments.KEYS}
