"""Participation: raters against eligible members, overall and by segment.

Eligibility is defined once here, in two forms that must agree: the SQL
`eligible_members()` (used to rebuild and verify) and the Python twin
`is_eligible()` (used when a single member changes): an active member account
(not a leader's or admin's staff account) with a verified e-mail address. When a
membership roster is imported, the eligible base is the roster instead
(`roster_eligible()`), on every page: participation here and survey response
rates (portal.survey_results.queries). A rate is never above 100% and never over
a zero base (`_rate`); a roster smaller than the members who already rated or
responded is refused at import (portal.admin.roster).

The counts live in report_eligible and report_participation and are kept in
step incrementally: ORM changes to a User (joining, verifying, changing
segments, deactivation, deletion) through a before_flush listener, and a
member's first or last rating in a round through `aggregates`. Writes that
bypass the ORM call `rebuild_participation()` (`flask reports rebuild`).

Both sides take the member's row lock (`lock_member`) before reading what the
other side writes, so a profile change racing a first rating cannot count the
member under segments they no longer have.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass

import sqlalchemy as sa
from flask import g, has_request_context
from sqlalchemy.orm import Session

from portal import privacy, segments
from portal.database import lock_for_write
from portal.extensions import db
from portal.models import ReportEligible, ReportParticipation, ReportRater, RosterEntry, User

ELIGIBLE = ReportEligible.__table__
PARTICIPATION = ReportParticipation.__table__
NOT_ANSWERED = ""
_MEMBER_FIELDS = ("active", "email_verified_at", "role", *segments.KEYS)
MEMBER_ROLE = "member"

ACCOUNTS_BASE = ("active member accounts with a verified e-mail address (leaders' and "
                 "admins' accounts left out)")
ROSTER_BASE = "the members on the imported roster"


def eligible_members() -> sa.Select:
    """Members who may rate: active member accounts with a verified e-mail address
    (staff accounts, leaders and admins, are not part of the base)."""
    return sa.select(User.id, *[getattr(User, k) for k in segments.KEYS]).where(
        User.active.is_(True), User.email_verified_at.is_not(None),
        sa.func.coalesce(User.role, MEMBER_ROLE) == MEMBER_ROLE)


def is_eligible(active: bool | None, email_verified_at, role: str | None = MEMBER_ROLE
                ) -> bool:
    """The same rule as `eligible_members()`, for one member's values."""
    return bool(active) and email_verified_at is not None and (role or MEMBER_ROLE) == MEMBER_ROLE


def roster_size() -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(RosterEntry)) or 0


def base_description() -> str:
    """What "eligible members" means right now, for the sentence beside every rate."""
    return ROSTER_BASE if roster_size() else ACCOUNTS_BASE


def roster_eligible() -> dict[tuple[str, str], int]:
    """(dimension, value) -> roster members, in one statement; dimensions the roster
    does not record (every value empty) are left out, so their segment rows show no
    rate rather than a rate over a base nobody described."""
    parts = [sa.select(sa.literal("").label("dimension"), sa.literal("").label("value"),
                       sa.func.count().label("n")).select_from(RosterEntry)]
    for key in segments.KEYS:
        col = getattr(RosterEntry, key)
        value = sa.func.coalesce(col, NOT_ANSWERED)
        parts.append(sa.select(sa.literal(key), value, sa.func.count())
                     .select_from(RosterEntry).group_by(value))
    rows = db.session.execute(sa.union_all(*parts)).all()
    recorded = {d for d, v, n in rows if d and v != NOT_ANSWERED and n}
    return {(d, v): int(n) for d, v, n in rows if not d or d in recorded}


# ---------------------------------------------------------------------------
# Incremental maintenance


def _keys(values: dict[str, str | None]) -> list[tuple[str, str]]:
    return [("", ""), *((k, values.get(k) or NOT_ANSWERED) for k in segments.KEYS)]


def _upsert(conn: sa.Connection, table: sa.Table, key: tuple[str, ...],
            deltas: Counter) -> None:
    from portal.reports.aggregates import upsert_counts

    upsert_counts(conn, table, key, deltas)


def lock_member(conn: sa.Connection, user_id: int) -> sa.Row | None:
    """Lock the member's row for this transaction (portal.database.lock_for_write)
    and return what participation needs of it: id, active, email_verified_at and
    the segments, as committed now. None when the account no longer exists."""
    users = User.__table__
    return lock_for_write(conn, users, user_id, *[users.c[f] for f in ("id", *_MEMBER_FIELDS)],
                          touch="active")


def apply_rater_change(conn: sa.Connection, created: list[tuple[int, int]],
                       removed: list[tuple[int, int]],
                       members: Mapping[int, sa.Row] | None = None) -> None:
    """A member gave their first rating in a round (created) or withdrew their last.

    `members` may hold the members' rows already read under their lock; the others
    are read here."""
    if not created and not removed:
        return
    users = dict(members or {})
    missing = {u for _, u in created + removed} - set(users)
    if missing:
        cols = [User.__table__.c[f] for f in ("id", *_MEMBER_FIELDS)]
        users.update({row.id: row for row in conn.execute(sa.select(*cols).where(
            User.__table__.c.id.in_(missing)))})
    deltas: Counter = Counter()
    for (round_id, user_id), sign in [(k, 1) for k in created] + [(k, -1) for k in removed]:
        row = users.get(user_id)
        if row is None or not is_eligible(row.active, row.email_verified_at, row.role):
            continue
        values = {k: getattr(row, k) for k in segments.KEYS}
        for dim, value in _keys(values):
            deltas[(round_id, dim, value)] += sign
    _upsert(conn, PARTICIPATION, ("round_id", "dimension", "value"), deltas)


@dataclass(frozen=True)
class MemberFacts:
    eligible: bool
    values: tuple[str | None, ...]


def _facts(values: dict) -> MemberFacts:
    return MemberFacts(is_eligible(values["active"], values["email_verified_at"],
                                   values.get("role")),
                       tuple(values[k] for k in segments.KEYS))


def _old_values(user: User) -> dict:
    state = sa.inspect(user)
    out = {}
    for name in _MEMBER_FIELDS:
        hist = state.attrs[name].history
        out[name] = hist.deleted[0] if hist.deleted else getattr(user, name)
    return out


def apply_member_change(conn: sa.Connection, user_id: int | None, old: MemberFacts | None,
                        new: MemberFacts | None) -> None:
    """Move one member between eligibility and segment cells (and their rounds).

    Participation before eligibility: every writer touches the two tables in this
    order (a first rating only touches participation), so they cannot deadlock."""
    if old == new:
        return
    eligible: Counter = Counter()
    for facts, sign in ((old, -1), (new, 1)):
        if facts is not None and facts.eligible:
            for key in _keys(dict(zip(segments.KEYS, facts.values, strict=True))):
                eligible[key] += sign
    if user_id is not None:
        rounds = list(conn.execute(sa.select(ReportRater.__table__.c.round_id).where(
            ReportRater.__table__.c.user_id == user_id,
            ReportRater.__table__.c.n > 0)).scalars())
        deltas: Counter = Counter()
        for round_id in rounds:
            for (dim, value), d in eligible.items():
                deltas[(round_id, dim, value)] += d
        _upsert(conn, PARTICIPATION, ("round_id", "dimension", "value"), deltas)
    _upsert(conn, ELIGIBLE, ("dimension", "value"), eligible)


def _stored_facts(conn: sa.Connection, user: User, fallback: MemberFacts) -> MemberFacts:
    """The member's facts as committed, read under their row lock: the history in the
    session may predate a concurrent change, and the rounds they rated must not
    change between this read and our commit."""
    row = lock_member(conn, user.id)
    return fallback if row is None else _facts(row._mapping)


def _before_flush(session: Session, _context, _instances) -> None:
    conn = None
    for obj in list(session.new):
        if isinstance(obj, User):
            conn = conn or session.connection()
            values = {k: getattr(obj, k) for k in _MEMBER_FIELDS}
            values["active"] = True if values["active"] is None else values["active"]
            apply_member_change(conn, None, None, _facts(values))
    for obj in list(session.dirty):
        if isinstance(obj, User) and session.is_modified(obj, include_collections=False):
            new = _facts({k: getattr(obj, k) for k in _MEMBER_FIELDS})
            old = _facts(_old_values(obj))
            if old == new:
                continue  # e.g. a sign-in time: nothing participation counts
            conn = conn or session.connection()
            apply_member_change(conn, obj.id, _stored_facts(conn, obj, old), new)
    for obj in list(session.deleted):
        if isinstance(obj, User):
            conn = conn or session.connection()
            old = _stored_facts(conn, obj, _facts(_old_values(obj)))
            apply_member_change(conn, obj.id, old, None)


def _keep(target, value, oldvalue, initiator):
    return value


def install_listeners() -> None:
    if sa.event.contains(Session, "before_flush", _before_flush):
        return
    for name in _MEMBER_FIELDS:
        sa.event.listen(getattr(User, name), "set", _keep, active_history=True, retval=True)
    sa.event.listen(Session, "before_flush", _before_flush)


# ---------------------------------------------------------------------------
# Recomputing from scratch


def raw_selects() -> tuple[sa.Select, sa.Select]:
    """(eligible, participation) rows recomputed from users and report_raters."""
    members = eligible_members().subquery()
    raters = ReportRater.__table__
    eligible_parts = [sa.select(sa.literal("").label("dimension"), sa.literal("").label("value"),
                                sa.func.count().label("n")).select_from(members)]
    part_parts = [sa.select(raters.c.round_id, sa.literal("").label("dimension"),
                            sa.literal("").label("value"), sa.func.count().label("n"))
                  .select_from(members.join(raters, raters.c.user_id == members.c.id))
                  .where(raters.c.n > 0).group_by(raters.c.round_id)]
    for key in segments.KEYS:
        value = sa.func.coalesce(members.c[key], NOT_ANSWERED)
        eligible_parts.append(sa.select(sa.literal(key), value, sa.func.count())
                              .select_from(members).group_by(value))
        part_parts.append(sa.select(raters.c.round_id, sa.literal(key), value, sa.func.count())
                          .select_from(members.join(raters, raters.c.user_id == members.c.id))
                          .where(raters.c.n > 0).group_by(raters.c.round_id, value))
    return sa.union_all(*eligible_parts).subquery().select(), sa.union_all(
        *part_parts).subquery().select()


def rebuild_participation() -> None:
    """Recompute report_eligible and report_participation (after bulk writes)."""
    eligible, part = raw_selects()
    db.session.execute(ELIGIBLE.delete())
    db.session.execute(PARTICIPATION.delete())
    db.session.execute(ELIGIBLE.insert().from_select(["dimension", "value", "n"], eligible))
    db.session.execute(PARTICIPATION.insert().from_select(
        ["round_id", "dimension", "value", "n"], part))


# ---------------------------------------------------------------------------
# Reading


@dataclass(frozen=True)
class Participation:
    label: str
    eligible: int | None      # None = suppressed
    raters: int | None
    rate: float | None
    reason: str = ""          # why raters and rate are withheld although not small


def _rate(raters: int | None, eligible: int | None) -> float | None:
    """raters / eligible, or None: never over a zero base and never above 100%."""
    if raters is None or eligible is None or eligible <= 0 or not 0 <= raters <= eligible:
        return None
    return raters / eligible


def counts(round_id: int, source: str = "summary") -> dict[tuple[str, str], tuple[int, int]]:
    """(dimension, value) -> (eligible, raters); dimension "" is everyone.

    `summary` reads the raters of an open round from their snapshot
    (portal/reports/snapshots.py) and those of a closed round live; `live` always
    reads the live rows; `raw` recomputes. Eligibility is always current."""
    if source in ("summary", "live"):
        from portal.reports import snapshots

        eligible = {(d, v): int(n) for d, v, n in db.session.execute(
            sa.select(ELIGIBLE.c.dimension, ELIGIBLE.c.value, ELIGIBLE.c.n))}
        part = PARTICIPATION
        if source == "summary" and snapshots.is_snapshotted(round_id):
            part = snapshots.SNAP_PARTICIPATION
            snapshots.note_participation_read(round_id)
        raters = {(d, v): int(n) for d, v, n in db.session.execute(
            sa.select(part.c.dimension, part.c.value, part.c.n)
            .where(part.c.round_id == round_id))}
    elif source == "raw":
        e_sel, p_sel = raw_selects()
        eligible = {(d, v): int(n) for d, v, n in db.session.execute(e_sel)}
        p = p_sel.subquery()
        raters = {(d, v): int(n) for _, d, v, n in db.session.execute(
            sa.select(p).where(p.c.round_id == round_id))}
    else:
        raise ValueError(source)
    if roster_size():
        # The roster is the base; segments it does not record get no rate (_rate).
        eligible = roster_eligible()
    keys = {k for k, v in eligible.items() if v} | {k for k, v in raters.items() if v}
    return {k: (eligible.get(k, 0), raters.get(k, 0)) for k in keys}


def _split_ok(raters: int, eligible: int) -> bool:
    """"k of n eligible" tells n - k too: both sides must be reportable (and k <= n:
    a snapshot of raters can outlast members who left)."""
    return raters <= eligible and privacy.is_reportable_split(raters, eligible)


def _withhold_raters(pairs: dict[str, tuple[int, int]], everything: bool
                     ) -> tuple[dict[str, int | None], set[str]]:
    """Raters per segment value after small-cell suppression and the split rule.

    Returns the shown counts and the values withheld by the split rule alone. A
    withheld split needs a complement like a small cell: the values of a dimension add
    up to the overall raters, so one hidden value alone could be recovered."""
    raters = {c: r for c, (_, r) in pairs.items()}
    shown = privacy.suppress_cells(raters)
    split = {c for c, (e, r) in pairs.items() if (everything and r) or not _split_ok(r, e)}
    hidden = {c for c, v in shown.items() if v is None} | split
    if len(hidden) == 1:
        rest = sorted((r, i, c) for i, (c, r) in enumerate(raters.items())
                      if c not in hidden and r > 0)
        if rest:
            split.add(rest[0][2])
            hidden.add(rest[0][2])
    return ({c: (None if c in hidden else v) for c, v in shown.items()},
            {c for c in split if shown[c] is not None})


def participation(round_id: int, source: str = "summary"
                  ) -> tuple[Participation, dict[str, list[Participation]]]:
    """Overall and per segment dimension, suppressed through portal.privacy.

    "k of n eligible" is shown only when neither the k who rated nor the n - k who
    did not is a group of 1 to PRIVACY_MIN_N - 1 (`privacy.is_reportable_split`);
    otherwise raters and rate are withheld with `reason`. When the overall split is
    withheld, so are the raters of every segment (each dimension adds up to it)."""
    # A page asks twice (its table, then the reasons): decided once per request.
    cache = g.setdefault("report_participation", {}) if has_request_context() else {}
    if (round_id, source) not in cache:
        cache[(round_id, source)] = _participation(round_id, source)
    return cache[(round_id, source)]


def _participation(round_id: int, source: str
                   ) -> tuple[Participation, dict[str, list[Participation]]]:
    data = counts(round_id, source)
    reason = privacy.split_suppressed_label()
    e_all, r_all = data.get(("", ""), (0, 0))
    e, r = privacy.suppress_total(e_all), privacy.suppress_total(r_all)
    overall_split = r is not None and e is not None and not _split_ok(r_all, e_all)
    if overall_split:
        overall = Participation("All eligible members", e, None, None, reason)
    else:
        overall = Participation("All eligible members", e, r, _rate(r, e))
    out: dict[str, list[Participation]] = {}
    for key in segments.KEYS:
        dim = segments.BY_KEY[key]
        present = {v for (d, v) in data if d == key}
        order = [c for c in [*dim.codes, NOT_ANSWERED] if c in present] + sorted(
            present - {*dim.codes, NOT_ANSWERED})
        eligible = privacy.suppress_cells({c: data[(key, c)][0] for c in order})
        raters, split = _withhold_raters({c: data[(key, c)] for c in order}, overall_split)
        out[key] = [Participation(dim.label_for(c or None), eligible[c], raters[c],
                                  _rate(raters[c], eligible[c]),
                                  reason if c in split else "") for c in order]
    return overall, out


def explain_withheld(table, overall: Participation,
                     by_dimension: dict[str, list[Participation]]) -> None:
    """Give the dashboard's participation rows whose raters were withheld by the split
    rule that reason, instead of "fewer than N" (which would be untrue there)."""
    from portal.reports.tables import suppressed_cell

    reasons = {("All", overall.label): overall.reason}
    for key, parts in by_dimension.items():
        label = segments.BY_KEY[key].label
        reasons.update({(label, p.label): p.reason for p in parts})
    for row in table.rows:
        reason = reasons.get(tuple(row["segment"].values))
        if reason:
            row["raters"] = suppressed_cell(label=reason)
            row["rate"] = suppressed_cell(label=reason)
