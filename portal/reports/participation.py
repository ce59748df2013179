"""Participation: raters against eligible members, overall and by segment.

`eligible_members()` is the one definition of the denominator. Today it is
every active member with a verified e-mail address; when a membership roster
exists, change this function (and only this one).
"""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa

from portal import privacy, segments
from portal.extensions import db
from portal.models import ReportRater, User
from portal.reports.aggregates import NOT_ANSWERED


def eligible_members() -> sa.Select:
    """Members who may rate: active accounts with a verified e-mail address."""
    return sa.select(User.id, *[getattr(User, k) for k in segments.KEYS]).where(
        User.active.is_(True), User.email_verified_at.is_not(None))


@dataclass(frozen=True)
class Participation:
    label: str
    eligible: int | None      # None = suppressed
    raters: int | None
    rate: float | None


def _rate(raters: int | None, eligible: int | None) -> float | None:
    if raters is None or eligible is None or not eligible:
        return None
    return raters / eligible


def participation(round_id: int) -> tuple[Participation, dict[str, list[Participation]]]:
    """Overall and per segment dimension, in one UNION ALL of GROUP BY queries."""
    members = eligible_members().subquery()
    rater = (sa.select(ReportRater.user_id)
             .where(ReportRater.round_id == round_id, ReportRater.n > 0).subquery())
    joined = members.outerjoin(rater, rater.c.user_id == members.c.id)
    selects = [sa.select(sa.literal("").label("dim"), sa.literal("").label("value"),
                         sa.func.count().label("eligible"),
                         sa.func.count(rater.c.user_id).label("raters")).select_from(joined)]
    for key in segments.KEYS:
        value = sa.func.coalesce(members.c[key], NOT_ANSWERED)
        selects.append(sa.select(sa.literal(key), value, sa.func.count(),
                                 sa.func.count(rater.c.user_id))
                       .select_from(joined).group_by(value))
    rows = db.session.execute(sa.union_all(*selects)).all()

    overall = Participation("All eligible members", 0, 0, None)
    by_dim: dict[str, dict[str, tuple[int, int]]] = {k: {} for k in segments.KEYS}
    for dim, value, eligible, raters in rows:
        if dim == "":
            e, r = privacy.suppress_total(eligible), privacy.suppress_total(raters)
            overall = Participation("All eligible members", e, r, _rate(r, e))
        else:
            by_dim[dim][value] = (int(eligible), int(raters))

    out: dict[str, list[Participation]] = {}
    for key in segments.KEYS:
        dim = segments.BY_KEY[key]
        counts = by_dim[key]
        order = [c for c in dim.codes if c in counts] + sorted(
            c for c in counts if c not in dim.codes)
        eligible = privacy.suppress_cells({c: counts[c][0] for c in order})
        raters = privacy.suppress_cells({c: counts[c][1] for c in order})
        out[key] = [Participation(dim.label_for(c or None), eligible[c], raters[c],
                                  _rate(raters[c], eligible[c])) for c in order]
    return overall, out
