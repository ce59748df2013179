"""Snapshots: leadership figures for an open round move in steps of PRIVACY_MIN_N people.

Reading the live summaries twice, before and after one member rated, would give that
member's ratings away. So while a round is open the pages read copies
(portal/models/report_snapshots.py), one per slice: all members, one segment value or
two crossed segment values, of one objective. A slice is copied again only when at
least PRIVACY_MIN_N distinct members have rated or changed a rating in it since its
copy, and a slice without a copy gets its first one once it holds PRIVACY_MIN_N raters
(until then it reads empty). Participation rows (raters per segment, derived from
report_raters) move when the live count is PRIVACY_MIN_N or more away from the copy.
After a round closes the pages read the live, final figures again and the copies of
that round are dropped.

`advance_open_round()` is a job in the house style: idempotent, race-safe (it takes
the round's snapshot-state row lock), cheap when no rating changed since its last
scan (one read, using the newest `updated_at`), committing its own short
transaction. It runs in the `before_request` of the reports blueprint (so every page
and export reads freshly advanced copies) and from `flask reports snapshots`.

Changed members are found from the ratings' own `updated_at` (index
`ix_ratings_round_updated`): each scan reads the ratings changed since the time of
the previous scan (less LATE_COMMIT, for transactions that committed late) and
records (slice, member) pairs in report_snapshot_changes, one row per member however
often they changed it. A rating counts for a slice only if it changed after the
slice's `changes_after` (the clock read after its copy, plus
REPORT_SNAPSHOT_SKEW_SECONDS for clock skew between hosts), so a change already in
the copy is never counted again; a change made just before that, or committed later
than LATE_COMMIT, goes uncounted, which only delays the next step.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import sqlalchemy as sa
from flask import current_app, g, has_app_context

from portal import privacy, segments
from portal.database import lock_for_write
from portal.extensions import db
from portal.models import (
    FeedbackRound,
    Rating,
    ReportCell,
    ReportCrossCell,
    ReportParticipation,
    ReportSnapshot,
    ReportSnapshotCell,
    ReportSnapshotChange,
    ReportSnapshotCrossCell,
    ReportSnapshotParticipation,
    ReportSnapshotRound,
    RoundStatus,
)
from portal.reports.aggregates import ALL, NOT_ANSWERED, PAIRS
from portal.timeutil import now_utc

LATE_COMMIT = timedelta(seconds=2)  # a scan reads again this far before the last one
NEVER = datetime(1970, 1, 1)

STATE = ReportSnapshotRound.__table__
SNAPS = ReportSnapshot.__table__
CHANGES = ReportSnapshotChange.__table__
CELLS = ReportCell.__table__
CROSS = ReportCrossCell.__table__
PARTICIPATION = ReportParticipation.__table__
SNAP_CELLS = ReportSnapshotCell.__table__
SNAP_CROSS = ReportSnapshotCrossCell.__table__
SNAP_PARTICIPATION = ReportSnapshotParticipation.__table__
SLICE_KEY = ("round_id", "dimension", "value", "dimension_b", "value_b", "objective_id")
TABLES = (SNAP_CELLS, SNAP_CROSS, SNAP_PARTICIPATION, CHANGES, SNAPS, STATE)


def _skew() -> timedelta:
    return timedelta(seconds=int(current_app.config.get("REPORT_SNAPSHOT_SKEW_SECONDS", 1)))


def is_snapshotted(round_id: int) -> bool:
    """Whether leadership reads this round from snapshots (it is open)."""
    rnd = db.session.get(FeedbackRound, round_id)
    return rnd is not None and rnd.status == RoundStatus.OPEN


def _insert(conn: sa.Connection, table: sa.Table):
    if conn.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    return insert(table)


def _specs() -> list[tuple[str, str]]:
    """Every kind of slice: (dimension, dimension_b)."""
    return [(ALL, ""), *((k, "") for k in segments.KEYS), *PAIRS]


def _changed_parts(round_id: int, since: datetime, copied: bool) -> sa.CompoundSelect:
    """(slice key, user_id) of every rating changed after `since`, one indexed range
    read of ratings per kind of slice, each joined to its snapshot row by primary key
    (`copied`: slices with a copy, the rating changed after it; else slices without)."""
    r = Rating.__table__.c
    s = SNAPS
    parts = []
    for a, b in _specs():
        va = sa.literal(NOT_ANSWERED) if a == ALL else sa.func.coalesce(r[a], NOT_ANSWERED)
        vb = sa.literal(NOT_ANSWERED) if not b else sa.func.coalesce(r[b], NOT_ANSWERED)
        key = (s.c.round_id == r.round_id, s.c.dimension == a, s.c.value == va,
               s.c.dimension_b == b, s.c.value_b == vb, s.c.objective_id == r.objective_id)
        cols = (r.round_id, sa.literal(a).label("dimension"), va.label("value"),
                sa.literal(b).label("dimension_b"), vb.label("value_b"), r.objective_id)
        where = [r.round_id == round_id, r.updated_at > since]
        if copied:
            parts.append(sa.select(*cols, r.user_id).select_from(
                Rating.__table__.join(s, sa.and_(*key)))
                .where(*where, r.user_id.is_not(None), r.updated_at > s.c.changes_after))
        else:
            parts.append(sa.select(*cols).where(*where, ~sa.exists().where(*key)))
    return sa.union_all(*parts)


def _record_changes(conn: sa.Connection, round_id: int, since: datetime) -> None:
    conn.execute(_insert(conn, CHANGES).from_select(
        [*SLICE_KEY, "user_id"], _changed_parts(round_id, since, copied=True))
        .on_conflict_do_nothing())


def _uncopied_touched(conn: sa.Connection, round_id: int, since: datetime) -> list[tuple]:
    """Slices without a copy that a rating changed since the last scan touched: the
    only ones that can have reached min_n raters since."""
    u = _changed_parts(round_id, since, copied=False).subquery()
    return [tuple(r) for r in conn.execute(sa.select(u).distinct())]


def _mark_due(conn: sa.Connection, round_id: int, now: datetime,
              candidates: list[tuple] | None = None) -> None:
    """Stamp `now` on every slice that moved enough (or reached min_n raters for a
    first copy); the copies below take exactly the stamped slices. `candidates`
    limits the first copies to those slices (None: look at every slice)."""
    limit = privacy.min_n()
    key = sa.tuple_(*(SNAPS.c[k] for k in SLICE_KEY))
    moved = (sa.select(*(CHANGES.c[k] for k in SLICE_KEY))
             .where(CHANGES.c.round_id == round_id)
             .group_by(*(CHANGES.c[k] for k in SLICE_KEY))
             .having(sa.func.count() >= limit))
    conn.execute(SNAPS.update().where(SNAPS.c.round_id == round_id, key.in_(moved))
                 .values(taken_at=now, changes_after=now))
    stamps = (sa.literal(now).label("taken_at"), sa.literal(now).label("changes_after"))
    # First copies. Each member rates an objective once, so the slice's rows are its raters.
    first = (sa.select(CELLS.c.round_id, CELLS.c.dimension, CELLS.c.value,
                       sa.literal("").label("dimension_b"), sa.literal("").label("value_b"),
                       CELLS.c.objective_id, *stamps)
             .where(CELLS.c.round_id == round_id)
             .group_by(CELLS.c.round_id, CELLS.c.dimension, CELLS.c.value, CELLS.c.objective_id)
             .having(sa.func.sum(CELLS.c.n) >= limit))
    cols = [*SLICE_KEY, "taken_at", "changes_after"]
    single = cross = None
    if candidates is not None:
        single = [(d, v, o) for _, d, v, db_, _vb, o in candidates if not db_]
        cross = [(d, v, db_, vb, o) for _, d, v, db_, vb, o in candidates if db_]
    if single is None or single:
        if single:
            first = first.where(sa.tuple_(CELLS.c.dimension, CELLS.c.value,
                                          CELLS.c.objective_id).in_(single))
        conn.execute(_insert(conn, SNAPS).from_select(cols, first).on_conflict_do_nothing())
    if cross is not None and not cross:
        return

    def answered(measure: str):
        return sa.func.sum(sa.case((CROSS.c.measure == measure, CROSS.c.n), else_=0))

    # Cross cells hold scale answers only: the larger measure is a lower bound of the raters.
    first_cross = (sa.select(CROSS.c.round_id, CROSS.c.dim_a, CROSS.c.value_a, CROSS.c.dim_b,
                             CROSS.c.value_b, CROSS.c.objective_id, *stamps)
                   .where(CROSS.c.round_id == round_id)
                   .group_by(CROSS.c.round_id, CROSS.c.dim_a, CROSS.c.value_a, CROSS.c.dim_b,
                             CROSS.c.value_b, CROSS.c.objective_id)
                   .having(sa.or_(answered("importance") >= limit,
                                  answered("performance") >= limit)))
    if cross:
        first_cross = first_cross.where(sa.tuple_(
            CROSS.c.dim_a, CROSS.c.value_a, CROSS.c.dim_b, CROSS.c.value_b,
            CROSS.c.objective_id).in_(cross))
    conn.execute(_insert(conn, SNAPS).from_select(cols, first_cross).on_conflict_do_nothing())


def _copy_due(conn: sa.Connection, round_id: int, now: datetime) -> None:
    """Copy the live rows of the slices stamped `now`: one DELETE and one INSERT ...
    SELECT per table, and forget the changes those copies now include."""
    due = SNAPS.alias("due")
    stamped = [due.c.round_id == round_id, due.c.taken_at == now]
    single = [*stamped, due.c.dimension_b == ""]
    crossed = [*stamped, due.c.dimension_b != ""]
    cell_key = sa.tuple_(SNAP_CELLS.c.dimension, SNAP_CELLS.c.value, SNAP_CELLS.c.objective_id)
    conn.execute(SNAP_CELLS.delete().where(
        SNAP_CELLS.c.round_id == round_id,
        cell_key.in_(sa.select(due.c.dimension, due.c.value, due.c.objective_id)
                     .where(*single))))
    names = [c.name for c in CELLS.columns]
    conn.execute(SNAP_CELLS.insert().from_select(names, sa.select(*CELLS.columns).select_from(
        CELLS.join(due, sa.and_(due.c.round_id == CELLS.c.round_id,
                                due.c.dimension == CELLS.c.dimension,
                                due.c.value == CELLS.c.value,
                                due.c.objective_id == CELLS.c.objective_id)))
        .where(*single, CELLS.c.n != 0)))
    cross_key = sa.tuple_(SNAP_CROSS.c.dim_a, SNAP_CROSS.c.value_a, SNAP_CROSS.c.dim_b,
                          SNAP_CROSS.c.value_b, SNAP_CROSS.c.objective_id)
    conn.execute(SNAP_CROSS.delete().where(
        SNAP_CROSS.c.round_id == round_id,
        cross_key.in_(sa.select(due.c.dimension, due.c.value, due.c.dimension_b,
                                due.c.value_b, due.c.objective_id).where(*crossed))))
    names = [c.name for c in CROSS.columns]
    conn.execute(SNAP_CROSS.insert().from_select(names, sa.select(*CROSS.columns).select_from(
        CROSS.join(due, sa.and_(due.c.round_id == CROSS.c.round_id,
                                due.c.dimension == CROSS.c.dim_a,
                                due.c.value == CROSS.c.value_a,
                                due.c.dimension_b == CROSS.c.dim_b,
                                due.c.value_b == CROSS.c.value_b,
                                due.c.objective_id == CROSS.c.objective_id)))
        .where(*crossed, CROSS.c.n != 0)))
    change_key = sa.tuple_(*(CHANGES.c[k] for k in SLICE_KEY))
    conn.execute(CHANGES.delete().where(
        CHANGES.c.round_id == round_id,
        change_key.in_(sa.select(*(due.c[k] for k in SLICE_KEY)).where(*stamped))))
    # Read the clock after the copies: every rating they hold changed before this.
    after = now_utc() + _skew()
    conn.execute(SNAPS.update().where(SNAPS.c.round_id == round_id, SNAPS.c.taken_at == now)
                 .values(changes_after=after))


def _participation_due(conn: sa.Connection, round_id: int) -> dict[tuple[str, str], int]:
    """Participation rows whose copy should move: new rows, and rows whose live count
    is min_n or more away from the copy."""
    live = {(d, v): int(n) for d, v, n in conn.execute(
        sa.select(PARTICIPATION.c.dimension, PARTICIPATION.c.value, PARTICIPATION.c.n)
        .where(PARTICIPATION.c.round_id == round_id))}
    copied = {(d, v): int(n) for d, v, n in conn.execute(
        sa.select(SNAP_PARTICIPATION.c.dimension, SNAP_PARTICIPATION.c.value,
                  SNAP_PARTICIPATION.c.n).where(SNAP_PARTICIPATION.c.round_id == round_id))}
    limit = privacy.min_n()
    due = {}
    for key in live.keys() | copied.keys():
        now_n, then_n = live.get(key, 0), copied.get(key)
        if then_n is None and now_n == 0:
            continue
        if then_n is None or abs(now_n - then_n) >= limit:
            due[key] = now_n
    return due


def _copy_participation(conn: sa.Connection, round_id: int, due: dict[tuple[str, str], int],
                        now: datetime) -> None:
    if not due:
        return
    rows = [{"round_id": round_id, "dimension": d, "value": v, "n": n, "taken_at": now}
            for (d, v), n in sorted(due.items())]
    stmt = _insert(conn, SNAP_PARTICIPATION)
    conn.execute(stmt.on_conflict_do_update(
        index_elements=["round_id", "dimension", "value"],
        set_={"n": stmt.excluded.n, "taken_at": stmt.excluded.taken_at}), rows)


def _latest_rating(round_id: int) -> sa.ScalarSelect:
    r = Rating.__table__.c
    return (sa.select(sa.func.max(r.updated_at)).where(r.round_id == round_id)
            .scalar_subquery())


def advance(conn: sa.Connection, round_id: int, now: datetime | None = None) -> bool:
    """Move the snapshots of one open round forward where enough members rated.

    Runs in the caller's transaction on `conn`; True when it scanned new ratings."""
    conn.execute(_insert(conn, STATE).values(round_id=round_id, scanned_to=NEVER)
                 .on_conflict_do_nothing())
    # Serialise advancing requests; read the scan position again under the lock.
    scanned = lock_for_write(conn, STATE, round_id, STATE.c.scanned_to,
                             touch="scanned_to").scanned_to
    latest = conn.execute(sa.select(_latest_rating(round_id))).scalar()
    if latest is None or latest <= scanned:
        return False
    now = now or now_utc()
    # The scan position is the time of this scan (a later rating passes the gate);
    # the next scan reads again from LATE_COMMIT before it.
    candidates = None
    if scanned > NEVER:  # before the first copies there is nothing to count against
        # Read again a little before the last scan: transactions that committed late.
        _record_changes(conn, round_id, scanned - LATE_COMMIT)
        candidates = _uncopied_touched(conn, round_id, scanned - LATE_COMMIT)
    _mark_due(conn, round_id, now, candidates)
    _copy_due(conn, round_id, now)
    # Participation moves with first ratings; profile changes alone wait for the next.
    _copy_participation(conn, round_id, _participation_due(conn, round_id), now)
    conn.execute(STATE.update().where(STATE.c.round_id == round_id)
                 .values(scanned_to=now))
    return True


def drop_closed(conn: sa.Connection, round_ids: list[int]) -> None:
    """Drop the snapshots of rounds that are no longer open (their pages read the final
    live figures, and the change rows name members)."""
    for table in TABLES:
        conn.execute(table.delete().where(table.c.round_id.in_(round_ids)))


def advance_open_round() -> bool:
    """Advance the open round's snapshots (and drop those of closed rounds) in a short
    transaction of its own. One read when no rating changed since the last scan."""
    rounds = FeedbackRound.__table__
    is_open = rounds.c.status == RoundStatus.OPEN.value
    latest = (sa.select(sa.func.max(Rating.__table__.c.updated_at))
              .where(Rating.__table__.c.round_id == rounds.c.id).scalar_subquery())
    with db.engine.connect() as conn:
        rows = conn.execute(
            sa.select(rounds.c.id, is_open.label("open"), STATE.c.scanned_to,
                      sa.case((is_open, latest), else_=None).label("latest"))
            .select_from(rounds.outerjoin(STATE, STATE.c.round_id == rounds.c.id))
            .where(sa.or_(is_open, STATE.c.round_id.is_not(None)))).all()
        conn.rollback()
    due = [r.id for r in rows if r.open and r.latest is not None
           and (r.scanned_to is None or r.latest > r.scanned_to)]
    closed = [r.id for r in rows if not r.open]
    if not due and not closed:
        return False
    with db.engine.begin() as conn:
        if closed:
            drop_closed(conn, closed)
        for round_id in due:
            advance(conn, round_id)
    return True


# ---------------------------------------------------------------------------
# Reading the copies


def _at_most(n, limit):
    return sa.case((n > limit, limit), else_=n)


def _small_unsnapped_cells(round_id: int, dimension: str) -> sa.Select:
    """Live rows of slices with no copy yet and fewer than min_n raters.

    Every figure about them is suppressed anyway; the pages still need to know that a
    small group exists, or they would stop hiding its complement, and the small group
    could be worked out as all members minus the others."""
    live = CELLS.alias("live")
    small = (sa.select(live.c.objective_id, live.c.value)
             .where(live.c.round_id == round_id, live.c.dimension == dimension)
             .group_by(live.c.objective_id, live.c.value)
             .having(sa.func.sum(live.c.n) < privacy.min_n()))
    s = SNAPS
    copied = sa.exists().where(s.c.round_id == CELLS.c.round_id,
                               s.c.dimension == CELLS.c.dimension, s.c.value == CELLS.c.value,
                               s.c.dimension_b == "", s.c.value_b == "",
                               s.c.objective_id == CELLS.c.objective_id)
    return (sa.select(CELLS.c.round_id, CELLS.c.dimension, CELLS.c.value,
                      CELLS.c.objective_id, CELLS.c.importance, CELLS.c.performance,
                      CELLS.c.n)
            .where(CELLS.c.round_id == round_id, CELLS.c.dimension == dimension,
                   sa.tuple_(CELLS.c.objective_id, CELLS.c.value).in_(small), ~copied))


def cells(round_id: int, dimension: str) -> sa.Subquery:
    """report_snapshot_cells of one round and dimension, shaped like report_cells, plus
    the live rows of small slices not copied yet (`_small_unsnapped_cells`).

    A segment slice may be older than the all-members slice it belongs to; where one
    of its cells then holds more ratings than the all-members cell, it shows the
    all-members count (a function of two published figures, so nothing new), and
    "the rest of the members" (all minus the segment) never goes negative."""
    c = SNAP_CELLS.alias("seg")
    if dimension == ALL:
        copied = sa.select(c).where(c.c.round_id == round_id, c.c.dimension == ALL)
    else:
        t = SNAP_CELLS.alias("total")
        match = sa.and_(t.c.round_id == c.c.round_id, t.c.dimension == ALL,
                        t.c.value == NOT_ANSWERED, t.c.objective_id == c.c.objective_id,
                        t.c.importance == c.c.importance, t.c.performance == c.c.performance)
        n = _at_most(c.c.n, sa.func.coalesce(t.c.n, 0)).label("n")
        copied = (sa.select(c.c.round_id, c.c.dimension, c.c.value, c.c.objective_id,
                            c.c.importance, c.c.performance, n)
                  .select_from(c.outerjoin(t, match))
                  .where(c.c.round_id == round_id, c.c.dimension == dimension))
    return sa.union_all(copied, _small_unsnapped_cells(round_id, dimension)).subquery()


def cross_cells(round_id: int, dim_a: str, dim_b: str, measure: str) -> sa.Select:
    """(objective, value_a, value_b, score, n) from the crossed copies, each held to at
    most the all-members count of that score (see `cells`), plus the live rows of
    small crossed slices not copied yet."""
    c = SNAP_CROSS
    t = SNAP_CELLS
    score = t.c[measure]
    totals = (sa.select(t.c.objective_id, score.label("score"), sa.func.sum(t.c.n).label("n"))
              .where(t.c.round_id == round_id, t.c.dimension == ALL)
              .group_by(t.c.objective_id, score).subquery("total"))
    n = _at_most(c.c.n, sa.func.coalesce(totals.c.n, 0))
    copied = (sa.select(c.c.objective_id, c.c.value_a, c.c.value_b, c.c.score, n.label("n"))
              .select_from(c.outerjoin(totals, sa.and_(
                  totals.c.objective_id == c.c.objective_id, totals.c.score == c.c.score)))
              .where(c.c.round_id == round_id, c.c.dim_a == dim_a, c.c.dim_b == dim_b,
                     c.c.measure == measure, c.c.n != 0))
    live = CROSS.alias("live")
    where = [live.c.round_id == round_id, live.c.dim_a == dim_a, live.c.dim_b == dim_b]
    small = (sa.select(live.c.objective_id, live.c.value_a, live.c.value_b).where(*where)
             .group_by(live.c.objective_id, live.c.value_a, live.c.value_b, live.c.measure)
             .having(sa.func.sum(live.c.n) < privacy.min_n()))
    s = SNAPS
    x = CROSS
    unsnapped = ~sa.exists().where(
        s.c.round_id == x.c.round_id, s.c.dimension == x.c.dim_a, s.c.value == x.c.value_a,
        s.c.dimension_b == x.c.dim_b, s.c.value_b == x.c.value_b,
        s.c.objective_id == x.c.objective_id)
    rest = (sa.select(x.c.objective_id, x.c.value_a, x.c.value_b, x.c.score, x.c.n)
            .where(x.c.round_id == round_id, x.c.dim_a == dim_a, x.c.dim_b == dim_b,
                   x.c.measure == measure, x.c.n != 0, unsnapped,
                   sa.tuple_(x.c.objective_id, x.c.value_a, x.c.value_b).in_(small)))
    return sa.union_all(copied, rest)


# ---------------------------------------------------------------------------
# Reading: what the page says about its snapshots


def start_request() -> None:
    """Forget what an earlier request read (tests keep one app context, hence one g)."""
    g.pop("report_snapshots", None)
    g.pop("report_participation", None)


def note_read(round_id: int, dimension: str = ALL, dimension_b: str = "",
              objective_id: int | None = None) -> None:
    """Remember the oldest snapshot the page read (for `as_of()`): one small query."""
    if not has_app_context():
        return
    cond = [SNAPS.c.round_id == round_id, SNAPS.c.dimension == dimension,
            SNAPS.c.dimension_b == dimension_b]
    if objective_id is not None:
        cond.append(SNAPS.c.objective_id == objective_id)
    oldest = db.session.execute(sa.select(sa.func.min(SNAPS.c.taken_at)).where(*cond)).scalar()
    _note(oldest)


def note_participation_read(round_id: int) -> None:
    if not has_app_context():
        return
    _note(db.session.execute(sa.select(sa.func.min(SNAP_PARTICIPATION.c.taken_at)).where(
        SNAP_PARTICIPATION.c.round_id == round_id)).scalar())


def _note(oldest: datetime | None) -> None:
    seen = g.setdefault("report_snapshots", {"read": False, "oldest": None})
    seen["read"] = True
    if oldest is not None and (seen["oldest"] is None or oldest < seen["oldest"]):
        seen["oldest"] = oldest


def as_of() -> dict | None:
    """{"oldest": datetime | None, "min_n": int} when this request read snapshots."""
    if not has_app_context():
        return None
    seen = g.get("report_snapshots")
    if not seen or not seen["read"]:
        return None
    return {"oldest": seen["oldest"], "min_n": privacy.min_n()}
