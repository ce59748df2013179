"""Segment values on anonymous responses that do not re-identify.

Someone holding the database knows every participant's segments (the users table
and `survey_participations`). A response's stored segment combination is then
only as anonymous as the number of participants the attacker can map to it.

The rule: the stored combination is a deterministic *recoding* of a participant's
combination, computed from the survey's participants at release time, such that
every recoded class is shared by at least `k` (PRIVACY_MIN_N) participants. Since
the attacker can compute the same recoding, the class is all that the response
says about who gave it: one of at least k.

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

import sqlalchemy as sa

from portal import segments
from portal.extensions import db
from portal.models import Survey, SurveyParticipation, User

G = segments.GENERALISED
Combo = tuple[str | None, ...]


def _level_of(combo: Combo, level: int) -> Combo:
    """Keep the first len(combo) - level values, generalise the rest."""
    keep = len(combo) - level
    return tuple(v if i < keep else G for i, v in enumerate(combo))


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
            smallest = min((c for c in sizes if c != everything), key=lambda c: (sizes[c], c))
            for combo in counts:
                if _level_of(combo, level[combo]) == smallest:
                    level[combo] = top
            continue
        return {combo: _level_of(combo, level[combo]) for combo in counts}


def participant_counts(survey: Survey, keys: Iterable[str]) -> Counter:
    """How many of the survey's participants have each combination (one GROUP BY)."""
    cols = [getattr(User, key) for key in keys]
    if not cols:
        return Counter()
    rows = db.session.execute(
        sa.select(*cols, sa.func.count())
        .join(SurveyParticipation, SurveyParticipation.user_id == User.id)
        .where(SurveyParticipation.survey_id == survey.id).group_by(*cols))
    return Counter({tuple(row[:-1]): row[-1] for row in rows})


class Recoder:
    """Recodes submitted combinations for one release of one survey."""

    def __init__(self, survey: Survey, k: int) -> None:
        self.keys = survey.breakdown_keys
        self.mapping = recoding(participant_counts(survey, self.keys), k, len(self.keys))

    def __call__(self, values: dict[str, str | None]) -> dict[str, str | None]:
        combo = tuple(values.get(key) for key in self.keys)
        # A member whose segments changed since submitting is not in the mapping:
        # nothing is known about their class, so nothing is stored.
        stored = self.mapping.get(combo, tuple([G] * len(self.keys)))
        return dict(zip(self.keys, stored, strict=True))


def stored_segments(values: dict[str, str | None], keys: Iterable[str]
                    ) -> dict[str, str | None]:
    """A full set of response columns: the breakdown keys' values, every other NULL."""
    keep = set(keys)
    return {key: (values.get(key) if key in keep else None) for key in segments.KEYS}
