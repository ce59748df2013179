"""Snapshots of an open survey's results: each slice moves in steps of PRIVACY_MIN_N.

Anonymous responses arrive in batches of at least PRIVACY_MIN_N (`surveys/pool.py`),
but a filtered view could still gain a single respondent from one batch to the next:
a leader who reads "mid-career" before and after would learn that respondent's
answers by difference. So while a survey is open, every slice shows a snapshot:

- a slice is all respondents, one segment value, or a crossed pair of values, each
  optionally narrowed by an answer (its `slice_key`, e.g. "", "career_stage=mid",
  "career_stage=mid&region=west", "answer=12:34");
- its figures come from the responses of batches up to its `last_batch`
  (`survey_snapshots`), which moves to the newest batch only once at least
  PRIVACY_MIN_N responses of that slice have arrived since; a slice whose first
  snapshot is not taken yet shows nothing;
- advancing happens when results are read: one grouped query counts the slices'
  responses per batch, one statement advances those with enough new ones.

Once the survey closes, its final figures (every response) are shown. Attributed
surveys (responses written one by one and changed in place, `batch` NULL) are not
snapshotted. The table holds batch numbers and times per slice, nothing about a
response or a member. `portal/survey_results/queries.py` applies the cutoffs, in
one helper.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from datetime import datetime

import sqlalchemy as sa
from flask import has_request_context, request
from sqlalchemy.dialects import postgresql, sqlite

from portal import privacy, segments
from portal.extensions import db
from portal.models import Survey, SurveyAnswer, SurveyResponse, SurveySnapshot
from portal.timeutil import now_utc

NONE = "none"   # a NULL segment value, as Slice spells it


def governed(survey: Survey) -> bool:
    """Whether the survey's results are read from snapshots (open and anonymous)."""
    return bool(survey.anonymous and survey.is_open)


def slice_key(parts: dict[str, str], answer: tuple[int, int] | None = None) -> str:
    """The stored name of a slice: its segment values (by dimension) and answer filter."""
    key = "&".join(f"{dim}={value}" for dim, value in sorted(parts.items()))
    if answer:
        key += ("&" if key else "") + f"answer={answer[0]}:{answer[1]}"
    return key


@dataclass(frozen=True)
class Shown:
    """What a results page says about the snapshot it shows."""

    taken_at: datetime | None   # None: no snapshot of the slice yet

    @property
    def min_n(self) -> int:
        return privacy.min_n()


@dataclass
class State:
    """The snapshots of one family of slices (one answer filter, or none) as read now."""

    answer: tuple[int, int] | None
    latest: int = 0                                   # newest batch the read saw
    stored: dict[str, tuple[int, datetime]] = field(default_factory=dict)
    values: dict[str, set[str]] = field(default_factory=dict)   # values seen per dimension
    counts: dict[str, dict[int, int]] = field(default_factory=dict)  # per key: {batch: n}

    def count(self, parts: dict[str, str], upto: int) -> int:
        """Responses of the slice in batches up to `upto` (as the read saw them)."""
        hist = self.counts.get(slice_key(parts, self.answer), {})
        return sum(n for b, n in hist.items() if b <= upto)

    def cutoff(self, parts: dict[str, str]) -> int:
        """The last batch the slice shows (0: no snapshot yet, so nothing)."""
        return self.stored.get(slice_key(parts, self.answer), (0, None))[0]

    def taken_at(self, parts: dict[str, str]) -> datetime | None:
        return self.stored.get(slice_key(parts, self.answer), (0, None))[1]


def state(survey: Survey, dims: tuple[str, ...], answer: tuple[int, int] | None) -> State:
    """The snapshots of every slice over `dims` (up to two values crossed), advanced
    where at least PRIVACY_MIN_N responses arrived since; once per request (outside
    one, per transaction), so that every figure of a page uses the same cutoffs."""
    dims = tuple(sorted(set(dims)))
    cache = _cache()
    key = (survey.id, dims, answer)
    if key not in cache:
        cache[key] = _advance(survey, dims, answer)
    return cache[key]


def _cache() -> dict:
    if has_request_context():
        obj = request._get_current_object()
        if not hasattr(obj, "_survey_snapshots"):
            obj._survey_snapshots = {}
        return obj._survey_snapshots
    # Outside a request (CLI, tests): valid while the session's transaction lasts.
    session = db.session()
    txn = session.get_transaction()
    held = session.info.get("survey_snapshots")
    if held is None or held[0] is not txn:
        held = (txn, {})
        session.info["survey_snapshots"] = held
    return held[1]


def _advance(survey: Survey, dims: tuple[str, ...], answer) -> State:
    cols = [getattr(SurveyResponse, d) for d in dims]
    q = (sa.select(*cols, SurveyResponse.batch, sa.func.count())
         .where(SurveyResponse.survey_id == survey.id, SurveyResponse.batch.is_not(None)))
    if answer:
        q = q.where(sa.exists().where(SurveyAnswer.response_id == SurveyResponse.id,
                                      SurveyAnswer.question_id == answer[0],
                                      SurveyAnswer.item == answer[1]))
    rows = db.session.execute(q.group_by(*cols, SurveyResponse.batch)).all()

    st = State(answer=answer, values={d: set() for d in dims})
    st.stored = _stored(survey)
    # {slice key: {batch: responses}}: every slice a row belongs to, from one histogram.
    per_key = st.counts
    for row in rows:
        values = [NONE if v is None else v for v in row[:len(dims)]]
        batch, n = row[len(dims)], row[len(dims) + 1]
        st.latest = max(st.latest, batch)
        for d, v in zip(dims, values, strict=True):
            st.values[d].add(v)
        pairs = list(zip(dims, values, strict=True))
        for size in (0, 1, 2):
            for combo in itertools.combinations(pairs, size):
                hist = per_key.setdefault(slice_key(dict(combo), answer), {})
                hist[batch] = hist.get(batch, 0) + n

    k = privacy.min_n()
    now = now_utc()
    moves = []
    for key, hist in per_key.items():
        last = st.stored.get(key, (0, None))[0]
        if last < st.latest and sum(n for b, n in hist.items() if b > last) >= k:
            moves.append({"survey_id": survey.id, "slice_key": key, "last_batch": st.latest,
                          "previous_batch": last or None, "taken_at": now})
    if moves:
        done = db.session.execute(_upsert(), moves).all()
        for key, batch, taken in done:
            st.stored[key] = (batch, taken)
        if len(done) < len(moves):   # another reader advanced first: read what it kept
            st.stored = _stored(survey)
    return st


def _stored(survey: Survey) -> dict[str, tuple[int, datetime]]:
    rows = db.session.execute(
        sa.select(SurveySnapshot.slice_key, SurveySnapshot.last_batch, SurveySnapshot.taken_at)
        .where(SurveySnapshot.survey_id == survey.id))
    return {key: (batch, taken) for key, batch, taken in rows}


def _upsert():
    """INSERT a first snapshot, or move one forward only from the batch this read
    started from: of two readers advancing the same slice at once, the second
    changes nothing (its step might be shorter than PRIVACY_MIN_N) and re-reads."""
    table = SurveySnapshot.__table__
    dialect = db.session.get_bind().dialect.name
    stmt = (postgresql.insert(table) if dialect == "postgresql" else sqlite.insert(table))
    return stmt.on_conflict_do_update(
        index_elements=["survey_id", "slice_key"],
        set_={c: stmt.excluded[c] for c in ("last_batch", "previous_batch", "taken_at")},
        where=table.c.last_batch == stmt.excluded.previous_batch,
    ).returning(table.c.slice_key, table.c.last_batch, table.c.taken_at)


def segment_parts(segment: str | None, value: str | None) -> dict[str, str]:
    """A Slice's segment filter as slice-key parts (nothing for an unknown dimension)."""
    if segment and segments.get(segment):
        return {segment: value or NONE}
    return {}
