"""The mixing pool: anonymous answers are released in shuffled batches.

A submission to an anonymous survey is one transaction: the participation row
(THAT the member answered), a sealed pool entry (WHAT was answered) and the
deletion of the draft. Nothing readable pairs the two: the entry is ciphertext
under a key that is not in the database (`portal/sealing.py`).

`release(survey)` moves the pool into `survey_responses`, once a batch is full
(ANONYMOUS_BATCH_SIZE, at least PRIVACY_MIN_N), in ONE transaction of its own:

1. the entries are opened, their segment values recoded so that no stored
   combination is shared by fewer than PRIVACY_MIN_N members of the batch
   (`generalise.py`);
2. each becomes a response with a fresh random key and the release DATE (not the
   submission date), inserted with its answers in a shuffled order;
3. the entries are deleted and the survey's epoch moves on, so the next batch is
   sealed under another derived key.

Every response of a batch therefore shares one transaction id, one date and a
random position; participations, written one by one in earlier transactions, say
only that their member is one of the batch. When a survey closes with fewer than
PRIVACY_MIN_N entries waiting, the last batch is padded: randomly chosen earlier
responses (a uniform sample, never a run of neighbouring keys) are re-keyed and
re-inserted with it, so the batch is again at least PRIVACY_MIN_N rows that look
alike.

After a release the residue is scrubbed: SQLite runs with `secure_delete` (freed
content is zeroed) and its WAL is checkpointed and truncated; PostgreSQL rewrites
the pool and drafts tables with VACUUM FULL (and, after padding, the response
tables) so no dead row version survives in the pages. What the residue held was
ciphertext anyway.

A crash loses nothing: entries are durable until the release transaction commits,
and the release is retried by the next survey page (`release_due`), by
`flask surveys release` and when a survey closes.
"""

from __future__ import annotations

import logging
import random
import uuid
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from flask import current_app

from portal import sealing
from portal.database import lock_for_write
from portal.extensions import db
from portal.models import Survey, SurveyAnswer, SurveyPoolEntry, SurveyResponse, SurveyStatus
from portal.surveys import answers as ans
from portal.surveys.generalise import Recoder, stored_segments
from portal.timeutil import today_utc

log = logging.getLogger("portal.surveys")

SCRUB_LOCK_TIMEOUT_MS = 2000
ANSWER_CHUNK = 100  # responses per INSERT of their answers
# Replaced in tests by a seeded generator; secrets-grade randomness otherwise.
_rng: random.Random = random.SystemRandom()


def enter(survey: Survey, answers: dict[str, Any], segment_values: dict[str, Any]) -> None:
    """Add a sealed submission to the pool (the caller's transaction commits it)."""
    values = {k: segment_values.get(k) for k in survey.breakdown_keys}
    epoch = survey.pool_epoch
    db.session.add(SurveyPoolEntry(
        id=uuid.uuid4(), survey_id=survey.id, epoch=epoch,
        sealed=sealing.seal({"answers": answers, "segments": values},
                            sealing.pool_context(survey.id, epoch))))
    db.session.flush()


def waiting(survey_id: int) -> int:
    """How many submissions wait in the pool (a count, nothing about whose)."""
    return db.session.scalar(sa.select(sa.func.count()).select_from(SurveyPoolEntry)
                             .where(SurveyPoolEntry.survey_id == survey_id)) or 0


def batch_size() -> int:
    """Answers released together: ANONYMOUS_BATCH_SIZE, and never fewer than
    PRIVACY_MIN_N. Larger batches keep more segment detail (see generalise.py)."""
    cfg = current_app.config
    return max(1, int(cfg["PRIVACY_MIN_N"]), int(cfg.get("ANONYMOUS_BATCH_SIZE") or 0))


@dataclass
class Release:
    released: int = 0   # submissions moved into survey_responses
    padded: int = 0     # earlier responses re-keyed to pad a final batch


def release(survey_id: int, *, final: bool = False) -> Release:
    """Release the survey's pool as one shuffled batch if it is large enough (or if
    `final`, padded). Commits; scrubs the residue afterwards.

    Every row of the batch, padding included, gets the survey's next batch number
    (`survey_responses.batch`: 1, 2, ...). It adds nothing a release date did not
    already say: it numbers whole releases, never a response, so it tells only which
    release a row came with (as the date does, except between two releases on one
    day), and each release is at least PRIVACY_MIN_N shuffled rows recoded alike.
    Survey results of an open survey keep per-slice snapshots by it
    (`portal/survey_results/snapshots.py`)."""
    outcome = Release()
    try:
        outcome = _release(survey_id, final)
        db.session.commit()
    except Exception:
        db.session.rollback()
        raise
    if outcome.released:
        scrub(padded=bool(outcome.padded))
    return outcome


def _release(survey_id: int, final: bool) -> Release:
    # Serialise releases of one survey: the second waits, then finds the pool empty.
    if lock_for_write(db.session.connection(), Survey.__table__, survey_id,
                      touch="pool_epoch") is None:
        return Release()
    survey = db.session.scalar(sa.select(Survey).where(Survey.id == survey_id)
                               .execution_options(populate_existing=True))
    entries = list(db.session.scalars(sa.select(SurveyPoolEntry)
                                      .where(SurveyPoolEntry.survey_id == survey_id)))
    if not entries or (len(entries) < batch_size() and not final):
        return Release()
    k = int(current_app.config["PRIVACY_MIN_N"])
    payloads = [sealing.unseal(e.sealed, sealing.pool_context(survey_id, e.epoch))
                for e in entries]
    # Recoded within the batch: whoever knows which members a batch holds (their
    # participations' order, the WAL) still finds each stored class k times in it.
    recode = Recoder(survey.breakdown_keys, [p["segments"] for p in payloads], k)
    day = today_utc()
    batch: list[tuple[dict[str, Any], list[dict[str, Any]]]] = []
    for payload in payloads:
        response = {"id": uuid.uuid4(), "survey_id": survey_id, "submitted_on": day,
                    **stored_segments(recode(payload["segments"]), survey.breakdown_keys)}
        batch.append((response, answer_rows(survey, payload["answers"])))
    padded = _padding(survey_id, k - len(entries), day) if len(entries) < k else []
    batch += padded
    # One number for the whole batch, padding included (re-keyed rows must not keep
    # their old number, which would say which rows were re-keyed). Under the lock
    # above, so two releases never share a number.
    number = (db.session.scalar(sa.select(sa.func.max(SurveyResponse.batch))
                                .where(SurveyResponse.survey_id == survey_id)) or 0) + 1
    for response, _ in batch:
        response["batch"] = number
    _rng.shuffle(batch)
    db.session.execute(sa.insert(SurveyResponse), [r for r, _ in batch])
    # Multi-row INSERTs (the counting triggers run once per statement), cut between
    # responses so that no statement holds more parameters than a driver takes.
    for start in range(0, len(batch), ANSWER_CHUNK):
        rows = [{**row, "response_id": r["id"]}
                for r, answer_rows in batch[start:start + ANSWER_CHUNK] for row in answer_rows]
        if rows:
            db.session.execute(sa.insert(SurveyAnswer).values(rows))
    db.session.execute(sa.delete(SurveyPoolEntry).where(
        SurveyPoolEntry.id.in_([e.id for e in entries])))
    survey.pool_epoch = survey.pool_epoch + 1
    db.session.flush()
    log.info("survey %s: released a batch of %s (%s re-keyed to pad it)",
             survey_id, len(batch), len(padded))
    return Release(released=len(entries), padded=len(padded))


def answer_rows(survey: Survey, answers: dict[str, Any]) -> list[dict[str, Any]]:
    return [{**row, "question_id": q.id} for q in survey.ordered_questions()
            if q.code in answers for row in ans.to_rows(q, answers[q.code])]


def _padding(survey_id: int, wanted: int, day) -> list[tuple[dict[str, Any], list]]:
    """Re-key `wanted` uniformly chosen earlier responses: delete them and return them
    as new rows (fresh key, this batch's date), to be inserted with the batch."""
    ids = list(db.session.scalars(sa.select(SurveyResponse.id)
                                  .where(SurveyResponse.survey_id == survey_id)))
    chosen = _rng.sample(ids, min(wanted, len(ids)))
    if not chosen:
        return []
    seg_cols = [c for c in SurveyResponse.__table__.c if c.name not in
                ("id", "survey_id", "submitted_on")]
    old = {row.id: row for row in db.session.execute(
        sa.select(SurveyResponse.id, *seg_cols).where(SurveyResponse.id.in_(chosen)))}
    answers: dict[uuid.UUID, list[dict[str, Any]]] = {rid: [] for rid in chosen}
    for row in db.session.execute(
            sa.select(SurveyAnswer.response_id, SurveyAnswer.question_id, SurveyAnswer.item,
                      SurveyAnswer.num_value, SurveyAnswer.text_value)
            .where(SurveyAnswer.response_id.in_(chosen))):
        answers[row.response_id].append({"question_id": row.question_id, "item": row.item,
                                         "num_value": row.num_value,
                                         "text_value": row.text_value})
    db.session.execute(sa.delete(SurveyAnswer).where(SurveyAnswer.response_id.in_(chosen)))
    db.session.execute(sa.delete(SurveyResponse).where(SurveyResponse.id.in_(chosen)))
    out = []
    for rid in chosen:
        segs = {c.name: getattr(old[rid], c.name) for c in seg_cols}
        out.append(({"id": uuid.uuid4(), "survey_id": survey_id, "submitted_on": day, **segs},
                    answers[rid]))
    return out


def scrub(*, padded: bool = False) -> None:
    """Remove what a release left behind in the database files (best effort)."""
    engine = db.engine
    try:
        if engine.dialect.name == "sqlite":
            if engine.url.database not in (None, "", ":memory:"):
                with engine.connect() as conn:
                    conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
            return
        # VACUUM FULL writes the tables anew: a plain VACUUM frees dead row versions
        # but leaves their bytes in the pages' free space. The pool and the drafts
        # are small; the response tables are rewritten only after a padded (final)
        # batch, whose re-keyed rows' old versions would otherwise say which were
        # re-keyed.
        tables = ["survey_pool", "survey_drafts"]
        if padded:
            tables += ["survey_responses", "survey_answers"]
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            # VACUUM FULL needs the table to itself; it never queues for long behind
            # a transaction that still reads it (and so never stalls the readers
            # queued behind it): it gives up, and the next release scrubs again.
            conn.exec_driver_sql(f"SET lock_timeout = '{SCRUB_LOCK_TIMEOUT_MS}ms'")
            for table in tables:
                conn.exec_driver_sql(f"VACUUM FULL {table}")
    except Exception:
        # The residue is ciphertext; a failed scrub is retried after the next release.
        log.warning("scrubbing survey residue after a release failed", exc_info=True)


def release_due() -> int:
    """Release every pool that is ready: at least PRIVACY_MIN_N waiting, or a closed
    survey with anything waiting. Cheap when nothing is due. Commits."""
    k = batch_size()
    # On a short connection of its own: the request's transaction must not keep a
    # lock on the pool that a scrub (VACUUM FULL) would have to wait for.
    with db.engine.connect() as conn:
        due = conn.execute(
            sa.select(SurveyPoolEntry.survey_id, Survey.status, sa.func.count())
            .join(Survey, Survey.id == SurveyPoolEntry.survey_id)
            .group_by(SurveyPoolEntry.survey_id, Survey.status)).all()
    due = [(sid, status == SurveyStatus.CLOSED) for sid, status, n in due
           if n >= k or status == SurveyStatus.CLOSED]
    if not due:
        return 0
    if sealing.status() != sealing.OK:
        log.warning("survey answers wait in the pool but the anonymity key is unavailable")
        return 0
    done = 0
    for survey_id, final in due:
        try:
            done += release(survey_id, final=final).released
        except sealing.SealError:
            log.error("survey %s: a waiting answer does not open with the anonymity key",
                      survey_id)
    return done
