"""Keeps the report summary tables in step with the ratings.

Three tables (portal/models/reports.py) hold counts derived from `ratings`:

- report_cells: per (round, objective, importance, performance) for all
  members and for each value of each segment dimension;
- report_cross_cells: per (round, objective, two crossed segment values,
  measure, score 1..5);
- report_raters: per (round, member), how many ratings they gave.

How they stay correct:

- The rating service (portal/feedback/services.py `save_ratings`) writes with a
  race-safe Core upsert: it locks the member (`portal.database.lock_for_write`),
  reads the old values of the ratings it is about to change, upserts them and
  calls `apply_rating_changes(pairs)` with every (old, new) pair at once: one
  statement per summary table, however many cells change.
- Every change to a Rating made through the ORM unit of work (add, change,
  delete, then flush) is applied automatically in the same transaction by a
  Session `after_flush` listener (`install_listeners`, called by the app
  factory). The old values come from the attribute history, so the ORM path
  is for tools and tests; concurrent web writes go through `save_ratings`.
- Other writes that bypass the unit of work (Core `insert(Rating)`/`update(Rating)`
  statements) must call `apply_rating_changes` with the old and new facts,
  bulk loaders `rebuild_round(round_id)` afterwards.
- Anonymising a deleted member's ratings (user_id set NULL) keeps their cells
  (the segments were copied into the rating) but removes the member's rater
  rows and participation (`forget_member`): a deleted account is no longer a
  member, exactly what `raw_rater_select` recomputes.
- `flask reports verify` recomputes everything from the raw ratings.

Keys never hold NULL: an unanswered segment is "" and an unanswered rating -1.
"""

from __future__ import annotations

import functools
import itertools
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.orm import Session

from portal import segments
from portal.extensions import db
from portal.models import Rating, ReportCell, ReportCrossCell, ReportRater

ALL = ""            # dimension of the all-members cells
NOT_ANSWERED = ""   # segment value of members who did not answer the question
NO_ANSWER = -1      # importance/performance not answered
MEASURES = ("importance", "performance")
PAIRS: tuple[tuple[str, str], ...] = tuple(itertools.combinations(segments.KEYS, 2))
FACT_FIELDS = ("round_id", "objective_id", "user_id", "importance", "performance",
               *segments.KEYS)

CELLS = ReportCell.__table__
CROSS = ReportCrossCell.__table__
RATERS = ReportRater.__table__
CELL_KEY = ("round_id", "dimension", "value", "objective_id", "importance", "performance")
CROSS_KEY = ("round_id", "dim_a", "dim_b", "measure", "value_a", "value_b", "objective_id",
             "score")
RATER_KEY = ("round_id", "user_id")


@dataclass(frozen=True)
class RatingFacts:
    """What the summaries need to know about one rating."""

    round_id: int
    objective_id: int
    user_id: int | None
    importance: int | None
    performance: int | None
    segments: tuple[str | None, ...]  # in segments.KEYS order

    def segment(self, key: str) -> str:
        return self.segments[segments.KEYS.index(key)] or NOT_ANSWERED


def facts(rating: Rating | RatingFacts | None) -> RatingFacts | None:
    """The current facts of a rating (take them BEFORE changing it, for `old`)."""
    if rating is None or isinstance(rating, RatingFacts):
        return rating
    return RatingFacts(rating.round_id, rating.objective_id, rating.user_id,
                       rating.importance, rating.performance,
                       tuple(getattr(rating, k) for k in segments.KEYS))


def facts_from_row(row: sa.Row | Mapping) -> RatingFacts:
    """The facts of a rating from a Core row (or values dict) holding FACT_FIELDS."""
    m = row._mapping if isinstance(row, sa.Row) else row
    return RatingFacts(m["round_id"], m["objective_id"], m["user_id"], m["importance"],
                       m["performance"], tuple(m[k] for k in segments.KEYS))


def _score(v: int | None) -> int:
    return NO_ANSWER if v is None else int(v)


def _cell_keys(f: RatingFacts) -> list[tuple]:
    imp, perf = _score(f.importance), _score(f.performance)
    keys = [(f.round_id, ALL, "", f.objective_id, imp, perf)]
    keys += [(f.round_id, key, f.segment(key), f.objective_id, imp, perf)
             for key in segments.KEYS]
    return keys


def _cross_keys(f: RatingFacts) -> list[tuple]:
    keys = []
    for measure, score in (("importance", f.importance), ("performance", f.performance)):
        if score is None or not 1 <= score <= 5:
            continue
        for a, b in PAIRS:
            keys.append((f.round_id, a, b, measure, f.segment(a), f.segment(b),
                         f.objective_id, int(score)))
    return keys


def _add_n(conn: sa.Connection, table: sa.Table, key: tuple[str, ...]):
    return _add_n_statement(conn.dialect.name, table, key)


@functools.cache
def _add_n_statement(dialect: str, table: sa.Table, key: tuple[str, ...]):
    # Built once per table: the counts go in as parameters, so the compiled SQL is reused.
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    stmt = insert(table)
    return stmt.on_conflict_do_update(index_elements=list(key),
                                      set_={"n": table.c.n + stmt.excluded.n})


def upsert_counts(conn: sa.Connection, table: sa.Table, key: tuple[str, ...],
            deltas: Mapping[tuple, int]) -> None:
    """Add each delta to the row `key` of `table` (insert when missing): one
    executemany, in key order so that concurrent writers lock rows in the same order."""
    rows = [dict(zip(key, k, strict=True), n=d) for k, d in sorted(deltas.items()) if d]
    if rows:
        conn.execute(_add_n(conn, table, key), rows)


def apply_rating_change(old: Rating | RatingFacts | None, new: Rating | RatingFacts | None,
                        connection: sa.Connection | None = None) -> None:
    """Move one rating's contribution in the summaries from `old` to `new` (see
    `apply_rating_changes`)."""
    apply_rating_changes([(old, new)], connection)


def apply_rating_changes(
        changes: Iterable[tuple[Rating | RatingFacts | None, Rating | RatingFacts | None]],
        connection: sa.Connection | None = None,
        members: Mapping[int, sa.Row] | None = None) -> None:
    """Move each rating's contribution in the summaries from `old` to `new`.

    `old` is None for a new rating, `new` None for a deleted one. All changes go
    into one statement per summary table. Runs in the caller's transaction (never
    commits). `members` may carry the rows `participation.lock_member` returned,
    which saves reading them again. For writes that bypass the ORM unit of work:
    ORM flushes are applied automatically.
    """
    cells: Counter = Counter()
    cross: Counter = Counter()
    raters: Counter = Counter()
    for old, new in changes:
        before, after = facts(old), facts(new)
        if before == after:
            continue
        for f, sign in ((before, -1), (after, +1)):
            if f is None:
                continue
            for k in _cell_keys(f):
                cells[k] += sign
            for k in _cross_keys(f):
                cross[k] += sign
            if f.user_id is not None:
                raters[(f.round_id, f.user_id)] += sign
    if not (any(cells.values()) or any(cross.values()) or any(raters.values())):
        return
    conn = connection or db.session.connection()
    upsert_counts(conn, CELLS, CELL_KEY, cells)
    upsert_counts(conn, CROSS, CROSS_KEY, cross)
    _apply_raters(conn, raters, members)


def _apply_raters(conn: sa.Connection, raters: Counter,
                  members: Mapping[int, sa.Row] | None = None) -> None:
    """Keep report_raters in step and tell participation about first/last ratings.

    The upsert returns each row's new count, so a first rating (count was 0) and a
    last one (count drops to 0) are known without reading the rows first."""
    deltas = {k: d for k, d in sorted(raters.items()) if d}
    if not deltas:
        return
    after: dict[tuple[int, int], int] = {}
    added = [{"round_id": r, "user_id": u, "n": d} for (r, u), d in deltas.items() if d > 0]
    if added:
        stmt = _add_n(conn, RATERS, RATER_KEY).returning(
            RATERS.c.round_id, RATERS.c.user_id, RATERS.c.n)
        after.update({(r, u): n for r, u, n in conn.execute(stmt, added)})
    for (round_id, user_id), d in deltas.items():
        if d < 0:  # only ORM deletions and moves; no row = the account is already gone
            row = conn.execute(
                RATERS.update().where(RATERS.c.round_id == round_id,
                                      RATERS.c.user_id == user_id)
                .values(n=RATERS.c.n + d).returning(RATERS.c.n)).first()
            if row is not None:
                after[(round_id, user_id)] = row.n
    created = [k for k, n in after.items() if n - deltas[k] <= 0 < n]
    removed = [k for k, n in after.items() if n <= 0 < n - deltas[k]]
    if removed:
        conn.execute(RATERS.delete().where(
            RATERS.c.n <= 0, sa.tuple_(RATERS.c.round_id, RATERS.c.user_id).in_(removed)))
    from portal.reports import participation

    participation.apply_rater_change(conn, created, removed, members)


def forget_member(conn: sa.Connection, user_id: int, member: sa.Row | None) -> None:
    """The member's ratings were unlinked (user_id NULL) before their account goes:
    drop their rater rows and their participation. Their cells stay: the ratings
    still count, anonymously. `member` is the row `participation.lock_member`
    returned (taken before unlinking, so no rating of theirs can slip in)."""
    gone = conn.execute(RATERS.delete().where(RATERS.c.user_id == user_id)
                        .returning(RATERS.c.round_id, RATERS.c.n)).all()
    rounds = [r for r, n in gone if n > 0]
    from portal.reports import participation

    members = {user_id: member} if member is not None else None
    participation.apply_rater_change(conn, [], [(r, user_id) for r in sorted(rounds)], members)


# ---------------------------------------------------------------------------
# Automatic maintenance for ORM writes


def _old_facts(rating: Rating) -> RatingFacts:
    """The facts as they were before this flush, from the attribute history."""
    state = sa.inspect(rating)
    values = {}
    for name in FACT_FIELDS:
        hist = state.attrs[name].history
        if hist.deleted:
            values[name] = hist.deleted[0]
        elif hist.unchanged:
            values[name] = hist.unchanged[0]
        else:
            values[name] = getattr(rating, name)
    return RatingFacts(values["round_id"], values["objective_id"], values["user_id"],
                       values["importance"], values["performance"],
                       tuple(values[k] for k in segments.KEYS))


def _after_flush(session: Session, _context) -> None:
    changes: list[tuple[RatingFacts | None, Rating | None]] = []
    for obj in session.new:
        if isinstance(obj, Rating):
            changes.append((None, obj))
    for obj in session.dirty:
        if isinstance(obj, Rating) and session.is_modified(obj, include_collections=False):
            changes.append((_old_facts(obj), obj))
    for obj in session.deleted:
        if isinstance(obj, Rating):
            changes.append((_old_facts(obj), None))
    if changes:
        apply_rating_changes(changes, session.connection())


def _keep_old_value(target, value, oldvalue, initiator):
    return value


def install_listeners() -> None:
    """Apply ORM rating and member changes to the summaries. Idempotent; called by
    create_app."""
    from portal.reports import participation

    participation.install_listeners()
    if sa.event.contains(Session, "after_flush", _after_flush):
        return
    for name in FACT_FIELDS:
        # Load the old value when an expired attribute is overwritten, so the
        # history always knows what to subtract.
        sa.event.listen(getattr(Rating, name), "set", _keep_old_value,
                        active_history=True, retval=True)
    sa.event.listen(Session, "after_flush", _after_flush)


# ---------------------------------------------------------------------------
# Recomputing from the raw ratings


def _coalesced(col: sa.ColumnElement, default) -> sa.ColumnElement:
    return sa.func.coalesce(col, default)


def raw_cell_selects(round_id: int) -> list[sa.Select]:
    """SELECTs of report_cells rows recomputed from the raw ratings of a round."""
    r = Rating.__table__
    imp = _coalesced(r.c.importance, NO_ANSWER)
    perf = _coalesced(r.c.performance, NO_ANSWER)
    selects = [
        sa.select(r.c.round_id, sa.literal(ALL).label("dimension"), sa.literal("").label("value"),
                  r.c.objective_id, imp.label("importance"), perf.label("performance"),
                  sa.func.count().label("n"))
        .where(r.c.round_id == round_id)
        .group_by(r.c.round_id, r.c.objective_id, imp, perf)
    ]
    for key in segments.KEYS:
        val = _coalesced(r.c[key], NOT_ANSWERED)
        selects.append(
            sa.select(r.c.round_id, sa.literal(key).label("dimension"), val.label("value"),
                      r.c.objective_id, imp.label("importance"), perf.label("performance"),
                      sa.func.count().label("n"))
            .where(r.c.round_id == round_id)
            .group_by(r.c.round_id, val, r.c.objective_id, imp, perf))
    return selects


def raw_cross_selects(round_id: int) -> list[sa.Select]:
    """SELECTs of report_cross_cells rows recomputed from the raw ratings of a round."""
    r = Rating.__table__
    selects = []
    for a, b in PAIRS:
        va, vb = _coalesced(r.c[a], NOT_ANSWERED), _coalesced(r.c[b], NOT_ANSWERED)
        for measure in MEASURES:
            score = r.c[measure]
            selects.append(
                sa.select(r.c.round_id, sa.literal(a).label("dim_a"),
                          sa.literal(b).label("dim_b"), sa.literal(measure).label("measure"),
                          va.label("value_a"), vb.label("value_b"), r.c.objective_id,
                          score.label("score"), sa.func.count().label("n"))
                .where(r.c.round_id == round_id, score.between(1, 5))
                .group_by(r.c.round_id, va, vb, r.c.objective_id, score))
    return selects


def raw_rater_select(round_id: int) -> sa.Select:
    r = Rating.__table__
    return (sa.select(r.c.round_id, r.c.user_id, sa.func.count().label("n"))
            .where(r.c.round_id == round_id, r.c.user_id.is_not(None))
            .group_by(r.c.round_id, r.c.user_id))


def rebuild_round(round_id: int) -> None:
    """Recompute the summaries of one round from its raw ratings (after bulk writes).

    Slow on a big round (one scan per grouping): a repair tool, not a page path.
    """
    clear_round(round_id)
    for table, selects in ((CELLS, raw_cell_selects(round_id)),
                           (CROSS, raw_cross_selects(round_id)),
                           (RATERS, [raw_rater_select(round_id)])):
        names = [c.name for c in selects[0].selected_columns]
        for select in selects:
            db.session.execute(table.insert().from_select(names, select))


def clear_round(round_id: int) -> None:
    for table in (CELLS, CROSS, RATERS):
        db.session.execute(table.delete().where(table.c.round_id == round_id))
