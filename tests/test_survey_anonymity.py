"""Anonymous answers cannot be tied to a member: the attacks of someone holding the
database, its files and the logs, run over many submissions, succeed no better than
chance. Plus the schema, the one-transaction submission, races and failures."""

from __future__ import annotations

import logging
import random
import threading
import time
import uuid
from collections import Counter
from pathlib import Path

import pytest
import sqlalchemy as sa
from scipy.stats import binom

from portal import segments
from portal.errors import Conflict
from portal.extensions import db
from portal.models import (
    AuditEvent,
    Survey,
    SurveyAnswer,
    SurveyAttribution,
    SurveyDraft,
    SurveyParticipation,
    SurveyPoolEntry,
    SurveyResponse,
    User,
)
from portal.surveys import pool, services, submission
from tests import factories
from tests.conftest import postgres_admin_url
from tests.test_surveys_taking import take_survey

LINKING_WORDS = {"user", "member", "account", "session", "ip", "addr", "agent", "browser",
                 "seq", "sequence", "serial", "time", "timestamp", "at", "created", "updated",
                 "email", "token", "draft", "participation"}
needs_postgres = pytest.mark.skipif(not postgres_admin_url(),
                                    reason="TEST_DATABASE_URL is not a PostgreSQL URL")
# Each attack's successes must stay below this quantile of what blind guessing
# among a batch gives: a broken scheme links nearly every submission.
CHANCE_QUANTILE = 0.9999
CAREERS = [c for c, _ in segments.BY_KEY["career_stage"].values]
LIBRARIES = [c for c, _ in segments.BY_KEY["library_type"].values]


@pytest.fixture
def survey(app):
    return factories.make_survey()


def _columns(table: str) -> set[str]:
    return {c["name"] for c in sa.inspect(db.engine).get_columns(table)}


def _count(model) -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(model))


def _ready_draft(survey: Survey, user: User, value: int, text: str | None = None) -> None:
    """A complete draft, as if the member had gone through every section."""
    answers = {"q1": {"option": "no", "other": None}, "q4": value % 11, "q5": value}
    if text:
        answers["q10"] = text
    page_sections = [s.id for s in survey.sections if s.show_if is None]
    db.session.add(SurveyDraft(survey_id=survey.id, user_id=user.id, answers=answers,
                               completed_sections=page_sections))
    db.session.commit()


def _members(n: int, rng: random.Random) -> list[User]:
    """n members with a realistic spread of segments, a few of them rare."""
    out = []
    for i in range(n):
        career = rng.choice(CAREERS[:3]) if i % 9 else rng.choice(CAREERS)
        library = rng.choice(LIBRARIES[:2]) if i % 7 else rng.choice(LIBRARIES)
        out.append(factories.make_user(career_stage=career, library_type=library,
                                       work_role=rng.choice(["librarian", "manager"]),
                                       region=rng.choice(["south", "west", "midwest"])))
    return out


def _submit_many(survey: Survey, n: int, *, close: bool = True, seed: int = 1,
                 texts: bool = False) -> dict[int, uuid.UUID]:
    """n known members submit one after the other, then (if `close`) the survey closes
    and its last batch is released. Returns {user id: their response id}, known only
    to the test from the value each member gave."""
    users = _members(n, random.Random(seed))
    for i, user in enumerate(users):
        _ready_draft(survey, user, i, f"canary-{survey.id}-{i}-x" if texts else None)
        submission.submit(db.session.get(Survey, survey.id), db.session.get(User, user.id))
    if close:
        s = db.session.get(Survey, survey.id)
        s.close()
        db.session.commit()
        pool.release_due()
    q5 = survey.question_by_code("q5").id
    by_value = dict(db.session.execute(sa.select(SurveyAnswer.num_value,
                                                 SurveyAnswer.response_id)
                                       .where(SurveyAnswer.question_id == q5)).all())
    return {user.id: by_value.get(float(i)) for i, user in enumerate(users)}


def _correct(pairs, truth: dict[int, uuid.UUID]) -> int:
    return sum(1 for uid, rid in pairs if rid is not None and truth.get(uid) == rid)


def _chance_bound(n: int, k: int) -> int:
    """Successes that blind guessing among batches of k exceeds with probability 1e-4."""
    return int(binom.ppf(CHANCE_QUANTILE, n, 1 / k))


# Schema -------------------------------------------------------------------------------

def test_schema_has_no_link_from_answers_to_members(app):
    insp = sa.inspect(db.engine)
    for table in ("survey_responses", "survey_answers", "survey_pool"):
        for col in _columns(table):
            assert not set(col.lower().split("_")) & LINKING_WORDS, (table, col)
        targets = {fk["referred_table"] for fk in insp.get_foreign_keys(table)}
        assert "users" not in targets and "survey_participations" not in targets
    assert _columns("survey_pool") == {"id", "survey_id", "epoch", "sealed"}
    assert _columns("survey_responses") == {
        "id", "survey_id", "submitted_on", "batch", "career_stage", "library_type", "work_role",
        "region", "membership_type"}
    assert isinstance(SurveyResponse.__table__.c.id.type, sa.Uuid)
    assert isinstance(SurveyResponse.__table__.c.submitted_on.type, sa.Date)
    assert insp.get_pk_constraint("survey_answers")["constrained_columns"] == [
        "response_id", "question_id", "item"]
    assert _columns("survey_participations") == {"survey_id", "user_id"}
    assert "answers" not in _columns("survey_drafts")  # only sealed_answers


def test_sqlite_tables_have_no_rowid_revealing_insertion_order(app):
    if db.engine.dialect.name != "sqlite":
        pytest.skip("SQLite only")
    for table in ("survey_responses", "survey_answers", "survey_participations",
                  "survey_pool"):
        with pytest.raises(sa.exc.OperationalError):
            db.session.execute(sa.text(f"SELECT rowid FROM {table}"))  # noqa: S608
        db.session.rollback()
    assert db.session.execute(sa.text("PRAGMA secure_delete")).scalar() == 1


# The submission ---------------------------------------------------------------------

def test_submission_is_one_transaction_into_the_sealed_pool(client, login, member, survey,
                                                            caplog):
    login(member)
    caplog.set_level(logging.DEBUG)
    audit_before = _count(AuditEvent)
    assert take_survey(client, survey).status_code == 200
    assert db.session.get(SurveyParticipation, (survey.id, member.id)) is not None
    assert _count(SurveyDraft) == 0 and _count(SurveyResponse) == 0
    assert _count(SurveyAttribution) == 0
    entry = db.session.scalar(sa.select(SurveyPoolEntry))
    # Ciphertext: none of the answers and no segment value in clear.
    assert b"Lead a team" not in entry.sealed and b"career" not in entry.sealed
    assert _count(AuditEvent) == audit_before
    # The member cannot see their anonymous answers again.
    page = client.get(f"/surveys/{survey.id}").get_data(as_text=True)
    assert "Lead a team." not in page and "What is kept, and what is not" in page
    assert "cannot be changed" in page


def test_drafts_of_anonymous_surveys_are_sealed(client, login, member, survey):
    login(member)
    client.post_form(f"/surveys/{survey.id}/start")
    client.post_form(f"/surveys/{survey.id}/sections/1",
                     {"q-q1": "yes", "q-q3": "2", "action": "save"})
    raw = db.session.scalar(sa.select(SurveyDraft.sealed_answers))
    assert raw[:1] == b"\x01" and b'"q3"' not in raw
    assert db.session.scalar(sa.select(SurveyDraft)).answers["q3"] == 2
    named = factories.make_survey(anonymous=False)
    client.post_form(f"/surveys/{named.id}/start")
    client.post_form(f"/surveys/{named.id}/sections/1",
                     {"q-q1": "yes", "q-q3": "2", "action": "save"})
    plain = db.session.scalar(sa.select(SurveyDraft.sealed_answers)
                              .where(SurveyDraft.survey_id == named.id))
    assert plain[:1] == b"\x00"  # attributed: nothing anonymous to protect


def test_member_data_export_gives_only_participation_for_anonymous(client, login, member,
                                                                   survey):
    attributed = factories.make_survey(anonymous=False)
    attributed.title = "Named"
    db.session.commit()
    login(member)
    take_survey(client, survey)
    take_survey(client, attributed)
    data = services.export_member_surveys(member)
    by_title = {item["survey"]: item for item in data["surveys"]}
    anon = by_title["Every type"]
    assert anon["submitted"] and "answers" not in anon and "not linked" in anon["note"]
    named = by_title["Named"]
    assert {"question": "Career goals?", "answer": "Lead a team."} in named["answers"]


def test_a_batch_is_released_at_the_threshold_in_one_shuffled_transaction(app, survey,
                                                                          monkeypatch):
    app.config["PRIVACY_MIN_N"] = 4
    monkeypatch.setattr(pool, "_rng", random.Random(5))
    inserts: list[int] = []

    def record(conn, cursor, statement, parameters, context, executemany):
        if statement.lstrip().upper().startswith("INSERT INTO SURVEY_RESPONSES"):
            inserts.append(len(parameters) if executemany else 1)

    sa.event.listen(db.engine, "before_cursor_execute", record)
    try:
        _submit_many(survey, 3, close=False)
        assert _count(SurveyResponse) == 0 and pool.waiting(survey.id) == 3
        _submit_many(survey, 1, close=False, seed=2)
    finally:
        sa.event.remove(db.engine, "before_cursor_execute", record)
    assert _count(SurveyResponse) == 4 and pool.waiting(survey.id) == 0
    assert sum(inserts) == 4 and len(inserts) <= 2  # one executemany (or one per row batch)
    dates = set(db.session.scalars(sa.select(SurveyResponse.submitted_on)))
    assert len(dates) == 1  # the release date, not each submission's
    assert db.session.get(Survey, survey.id).pool_epoch == 1


def test_closing_pads_the_last_batch_with_random_earlier_responses(app, survey, monkeypatch):
    app.config["PRIVACY_MIN_N"] = 5
    monkeypatch.setattr(pool, "_rng", random.Random(9))
    _submit_many(survey, 12, close=False)
    before = set(db.session.scalars(sa.select(SurveyResponse.id)))
    assert len(before) == 10 and pool.waiting(survey.id) == 2
    survey = db.session.get(Survey, survey.id)
    survey.close()
    db.session.commit()
    assert pool.release_due() == 2
    after = set(db.session.scalars(sa.select(SurveyResponse.id)))
    # 12 responses; 3 earlier ones were re-keyed with the 2 new ones (5 new keys).
    assert len(after) == 12 and len(after - before) == 5 and len(before - after) == 3
    # Every answer still there exactly once.
    q5 = survey.question_by_code("q5").id
    values = sorted(db.session.scalars(sa.select(SurveyAnswer.num_value)
                                       .where(SurveyAnswer.question_id == q5)))
    assert values == [float(i) for i in range(12)]


def test_a_release_failure_loses_nothing_and_is_retried(app, client, login, member, survey,
                                                        monkeypatch):
    app.config["PRIVACY_MIN_N"] = 1
    calls = {"n": 0}
    real = pool._release

    def failing(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 1:
            raise RuntimeError("database went away")
        return real(*args, **kwargs)

    monkeypatch.setattr(pool, "_release", failing)
    login(member)
    resp = take_survey(client, survey)
    assert resp.status_code == 200 and "answers are received" in resp.get_data(as_text=True)
    assert _count(SurveyResponse) == 0 and pool.waiting(survey.id) == 1
    # Sent again, the form only thanks again (issue 18: a reload is not a 409).
    again = client.post_form(f"/surveys/{survey.id}/submit")
    assert again.status_code == 200 and "already submitted" in again.get_data(as_text=True)
    assert client.get("/surveys/").status_code == 200  # the next page retries
    assert _count(SurveyResponse) == 1 and pool.waiting(survey.id) == 0


def test_release_command_releases_waiting_answers(app, runner, survey):
    _submit_many(survey, 3, close=False)
    result = runner.invoke(args=["surveys", "release"])
    assert "0 waiting answers released; 3 still wait" in result.output
    s = db.session.get(Survey, survey.id)
    s.close()
    db.session.commit()
    result = runner.invoke(args=["surveys", "release"])
    assert "3 waiting answers released; 0 still wait" in result.output
    assert _count(SurveyResponse) == 3


def test_two_simultaneous_submissions_store_one(app, survey, member):
    _ready_draft(survey, member, 5)
    survey_id, user_id = survey.id, member.id
    barrier = threading.Barrier(2, timeout=20)
    outcomes: list[str] = []

    def submit() -> None:
        with app.app_context():
            s = db.session.get(Survey, survey_id)
            u = db.session.get(User, user_id)
            barrier.wait()
            try:
                submission.submit(s, u)
                outcomes.append("stored")
            except Conflict:
                outcomes.append("conflict")
            finally:
                db.session.remove()

    threads = [threading.Thread(target=submit) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert sorted(outcomes) == ["conflict", "stored"]
    assert _count(SurveyParticipation) == 1 and pool.waiting(survey_id) == 1
    assert _count(SurveyDraft) == 0


def test_one_response_per_member_is_a_database_rule(app, survey, member):
    db.session.add(SurveyParticipation(survey_id=survey.id, user_id=member.id))
    db.session.commit()
    db.session.add(SurveyParticipation(survey_id=survey.id, user_id=member.id))
    with pytest.raises(sa.exc.IntegrityError):
        db.session.commit()
    db.session.rollback()


# The anonymity key ------------------------------------------------------------------

def test_a_missing_key_stops_anonymous_surveys_and_stores_nothing(app, client, login, member,
                                                                  admin, survey):
    app.config["ANONYMITY_KEY"] = ""
    app.config["ANONYMITY_KEY_FILE"] = ""
    app.extensions.pop("anonymity_key", None)
    login(member)
    resp = client.post_form(f"/surveys/{survey.id}/start")
    assert resp.status_code == 503
    assert "cannot take answers" in resp.get_data(as_text=True)
    assert _count(SurveyDraft) == 0 and _count(SurveyParticipation) == 0
    named = factories.make_survey(anonymous=False)
    assert client.post_form(f"/surveys/{named.id}/start").status_code == 302
    login(admin)
    page = client.get("/admin/surveys/").get_data(as_text=True)
    assert "no anonymity key is configured" in page


def test_a_wrong_key_is_detected_and_never_used(app, client, login, member, survey):
    login(member)
    client.post_form(f"/surveys/{survey.id}/start")
    client.post_form(f"/surveys/{survey.id}/sections/1",
                     {"q-q1": "yes", "q-q3": "2", "action": "save"})
    app.config["ANONYMITY_KEY"] = "ab" * 32
    app.extensions.pop("anonymity_key", None)
    resp = client.get(f"/surveys/{survey.id}/sections/1")
    assert resp.status_code == 503
    resp = client.post_form(f"/surveys/{survey.id}/submit")
    assert resp.status_code == 503 and _count(SurveyParticipation) == 0


# Attacks ------------------------------------------------------------------------------

N_ATTACK = 47  # four full batches of 10 and a padded last one of 7


def test_order_attacks_link_no_better_than_chance(app, survey):
    """Pair participations with responses by key order and by storage order (and, on
    PostgreSQL, by xmin, xmin + 1 and ctid); count the links found."""
    truth = _submit_many(survey, N_ATTACK)
    k = app.config["PRIVACY_MIN_N"]
    bound = _chance_bound(N_ATTACK, k)
    parts = list(db.session.scalars(sa.select(SurveyParticipation.user_id)
                                    .where(SurveyParticipation.survey_id == survey.id)))
    resp_keys = list(db.session.scalars(sa.select(SurveyResponse.id)
                                         .where(SurveyResponse.survey_id == survey.id)))
    found = {}
    # Key order against member order.
    found["key order"] = _correct(zip(sorted(parts), sorted(resp_keys, key=str),
                                      strict=True), truth)
    # Dates: every response of a batch carries the release date.
    dates = Counter(db.session.scalars(sa.select(SurveyResponse.submitted_on)))
    assert all(n >= k for n in dates.values())
    if db.engine.dialect.name == "postgresql":
        found.update(_postgres_system_column_attacks(survey, truth))
    for name, links in found.items():
        assert links <= bound, (name, links, bound)


def _postgres_system_column_attacks(survey, truth) -> dict[str, int]:
    parts = db.session.execute(sa.text(
        "SELECT user_id, xmin::text::bigint AS x, ctid::text AS c FROM survey_participations"
        " WHERE survey_id = :s"), {"s": survey.id}).all()
    resps = db.session.execute(sa.text(
        "SELECT id, xmin::text::bigint AS x, ctid::text AS c FROM survey_responses"
        " WHERE survey_id = :s"), {"s": survey.id}).all()

    def ctid_key(c: str) -> tuple[int, int]:
        page, offset = c.strip("()").split(",")
        return int(page), int(offset)

    by_x: dict[int, list] = {}
    for r in sorted(resps, key=lambda r: ctid_key(r.c)):
        by_x.setdefault(r.x, []).append(r.id)
    out = {}
    out["same xmin"] = _correct([(p.user_id, by_x[p.x][0]) for p in parts if p.x in by_x],
                                truth)
    out["xmin + 1"] = _correct([(p.user_id, by_x[p.x + 1][0]) for p in parts
                                if p.x + 1 in by_x], truth)
    # The first response of the next release after each participation, in ctid order.
    xs = sorted(by_x)
    nxt = [(p.user_id, by_x[next(x for x in xs if x > p.x)][0]) for p in parts
           if any(x > p.x for x in xs)]
    out["next release, first ctid"] = _correct(nxt, truth)
    ranks = []
    for p_key, r_key in ((lambda p: p.x, lambda r: (r.x, ctid_key(r.c))),
                         (lambda p: ctid_key(p.c), lambda r: ctid_key(r.c)),
                         (lambda p: p.x, lambda r: (r.x, str(r.id)))):
        ranks.append(_correct([(p.user_id, r.id) for p, r in zip(
            sorted(parts, key=p_key), sorted(resps, key=r_key), strict=True)], truth))
    out["xmin rank / ctid"], out["ctid rank"], out["xmin rank / key"] = ranks
    by_ctid = {r.c: r.id for r in resps}
    out["same ctid"] = _correct([(p.user_id, by_ctid.get(p.c)) for p in parts], truth)
    return out


def test_segment_combinations_stored_are_shared_by_k_members_of_their_batch(app, survey):
    """Whoever knows which members a batch holds (the order of participations, the WAL)
    finds every stored combination at least k times among that batch's members."""
    truth = _submit_many(survey, N_ATTACK, seed=3)
    k = app.config["PRIVACY_MIN_N"]
    keys = db.session.get(Survey, survey.id).breakdown_keys
    assert keys == ("career_stage", "library_type")
    # Dimensions the survey does not break down by are never stored.
    others = [getattr(SurveyResponse, key) for key in segments.KEYS if key not in keys]
    assert db.session.scalar(sa.select(sa.func.count()).where(
        sa.or_(*[c.is_not(None) for c in others]))) == 0
    cols = [getattr(SurveyResponse, key) for key in keys]
    stored = {r[0]: tuple(r[1:]) for r in db.session.execute(sa.select(SurveyResponse.id,
                                                                       *cols))}
    people = {u.id: (u.career_stage, u.library_type)
              for u in db.session.scalars(sa.select(User).where(User.id.in_(truth)))}
    members = sorted(truth)  # submission order: make_user ids grow
    g = segments.GENERALISED
    full = N_ATTACK // k
    for b in range(full):
        batch = members[b * k:(b + 1) * k]
        classes = Counter(stored[truth[u]] for u in batch)
        assert all(n >= k for n in classes.values()), (b, classes)
        for u in batch:  # each class is a prefix of the member's own values
            kept = [v for v in stored[truth[u]] if v != g]
            assert list(people[u][:len(kept)]) == kept
    # The last, padded batch: its few new members' values are all generalised.
    assert {stored[truth[u]] for u in members[full * k:]} == {(g, g)}
    assert any(g in combo for combo in stored.values())


def test_logs_and_audit_of_the_survey_flow_name_nobody(client, login, member, survey,
                                                       caplog, app):
    app.config["PRIVACY_MIN_N"] = 2
    other = factories.make_user()
    caplog.set_level(logging.DEBUG)
    login(other)
    take_survey(client, survey)
    login(member)
    start = len(caplog.records)
    audit_before = _count(AuditEvent)
    take_survey(client, survey)  # the second submission releases the batch
    assert _count(SurveyResponse) == 2
    lines = [r.getMessage() for r in caplog.records[start:]]
    survey_lines = [line for line in lines if "/surveys/" in line or "survey" in line]
    assert survey_lines
    secrets = {f"user={member.id}", member.email, member.display_name,
               *(str(r) for r in db.session.scalars(sa.select(SurveyResponse.id))),
               *(r.hex for r in db.session.scalars(sa.select(SurveyResponse.id))),
               client.get_cookie("session").value[:20]}
    for line in survey_lines:
        assert not any(s in line for s in secrets), line
    assert _count(AuditEvent) == audit_before


def _sqlite_files() -> list[Path]:
    path = Path(db.engine.url.database)
    return [p for p in (path, Path(f"{path}-wal"), Path(f"{path}-journal")) if p.exists()]


def test_sqlite_files_hold_no_readable_answer_and_no_residue_after_release(app, survey):
    if db.engine.dialect.name != "sqlite" or not db.engine.url.database:
        pytest.skip("SQLite file databases only")
    k = app.config["PRIVACY_MIN_N"]
    survey_id = survey.id
    _submit_many(survey, k - 1, close=False, texts=True)
    db.session.commit()
    sealed = [bytes(b) for b in db.session.scalars(sa.select(SurveyPoolEntry.sealed))]
    db.session.remove()
    blob = b"".join(p.read_bytes() for p in _sqlite_files())
    canaries = [f"canary-{survey_id}-{i}-x".encode() for i in range(k - 1)]
    # Waiting: no answer is readable anywhere in the files (drafts and pool are sealed).
    assert not [c for c in canaries if c in blob]
    survey = db.session.get(Survey, survey_id)
    _submit_many(survey, 1, close=False, seed=7, texts=False)  # the k-th releases the batch
    db.session.remove()
    blob = b"".join(p.read_bytes() for p in _sqlite_files())
    texts = list(db.session.scalars(sa.select(SurveyAnswer.text_value)
                                    .where(SurveyAnswer.text_value.like("canary-%"))))
    db.session.remove()
    assert len(texts) == k - 1, texts
    assert all(c in blob for c in canaries), [c for c in canaries if c not in blob]
    # Nothing of the pool's ciphertext survives the release (secure_delete, checkpoint).
    assert not [s for s in sealed if s[13:45] in blob]


@pytest.mark.postgres
@needs_postgres
def test_postgres_dead_tuples_hold_no_readable_answer(app, survey):
    try:
        db.session.execute(sa.text("CREATE EXTENSION IF NOT EXISTS pageinspect"))
        db.session.commit()
    except sa.exc.DBAPIError as exc:
        db.session.rollback()
        pytest.skip(f"pageinspect is not available: {exc.orig}")
    k = app.config["PRIVACY_MIN_N"]
    _submit_many(survey, k - 1, close=False, texts=True)
    sealed = [bytes(b) for b in db.session.scalars(sa.select(SurveyPoolEntry.sealed))]
    canaries = [f"canary-{survey.id}-{i}-x".encode() for i in range(k - 1)]

    def raw(table: str) -> bytes:
        pages = db.session.scalar(sa.text(
            "SELECT pg_relation_size(:t) / current_setting('block_size')::int"), {"t": table})
        return b"".join(bytes(db.session.scalar(sa.text("SELECT get_raw_page(:t, :n)"),
                                                {"t": table, "n": n})) for n in range(pages))

    # Drafts were deleted at submission (dead tuples), pool entries wait: ciphertext only.
    for table in ("survey_drafts", "survey_pool"):
        assert not [c for c in canaries if c in raw(table)], table
    _submit_many(survey, 1, close=False, seed=7)
    db.session.commit()
    # Rewritten by VACUUM FULL; a row version that another transaction could still see
    # at that moment (autovacuum's ANALYZE, say) is kept until the next clean-up.
    for _ in range(20):
        pool_pages = raw("survey_pool") + raw("survey_drafts")
        db.session.commit()
        if not [s for s in sealed if s[13:45] in pool_pages]:
            break
        time.sleep(0.5)
        pool.scrub()
    assert not [s for s in sealed if s[13:45] in pool_pages]
    released = raw("survey_answers")
    assert all(c in released for c in canaries)


@pytest.mark.postgres
@needs_postgres
def test_postgres_wal_pairs_no_participation_with_its_response(app, survey):
    """The first WAL record that carries each response's key belongs to the release
    transaction, shared by the whole batch, never to the member's own transaction."""
    try:
        db.session.execute(sa.text("CREATE EXTENSION IF NOT EXISTS pg_walinspect"))
        db.session.commit()
    except sa.exc.DBAPIError as exc:
        db.session.rollback()
        pytest.skip(f"pg_walinspect is not available: {exc.orig}")
    start = db.session.scalar(sa.text("SELECT pg_current_wal_lsn()"))
    truth = _submit_many(survey, 20, close=False)
    db.session.commit()
    end = db.session.scalar(sa.text("SELECT pg_current_wal_flush_lsn()"))
    parts = dict(db.session.execute(sa.text(
        "SELECT user_id, xmin::text::bigint FROM survey_participations WHERE survey_id = :s"),
        {"s": survey.id}).all())
    records = db.session.execute(sa.text(
        "SELECT (start_lsn - '0/0'::pg_lsn)::bigint, (end_lsn - '0/0'::pg_lsn)::bigint, "
        "xid::text::bigint FROM pg_get_wal_records_info(:a, :b) ORDER BY start_lsn"),
        {"a": start, "b": end}).all()
    # Read the WAL segments themselves and find each response key's bytes in them; the
    # record whose span holds the first occurrence tells the transaction that wrote it.
    files = db.session.execute(sa.text(
        "SELECT DISTINCT f.file_name, (r.start_lsn - '0/0'::pg_lsn)::bigint - f.file_offset "
        "FROM pg_get_wal_records_info(:a, :b) r, pg_walfile_name_offset(r.start_lsn) f"),
        {"a": start, "b": end}).all()
    first_xid: dict[uuid.UUID, int] = {}
    for name, base in sorted(files, key=lambda f: f[1]):
        data = bytes(db.session.scalar(sa.text("SELECT pg_read_binary_file(:p)"),
                                       {"p": f"pg_wal/{name}"}))
        for rid in truth.values():
            if rid is None or rid in first_xid:
                continue
            at = data.find(rid.bytes)
            while at >= 0:
                lsn = base + at
                owner = next((x for lo, hi, x in records if lo <= lsn < hi), None)
                if owner:
                    first_xid[rid] = owner
                    break
                at = data.find(rid.bytes, at + 1)
    assert len(first_xid) == 20
    own = sum(1 for uid, rid in truth.items() if first_xid[rid] in (parts[uid],
                                                                    parts[uid] + 1))
    batch_xids = Counter(first_xid.values())
    assert all(n >= app.config["PRIVACY_MIN_N"] for n in batch_xids.values())
    # xmin + 1 is the release transaction for the k-th member only: at most one per batch.
    assert own <= len(batch_xids)


def _promise_in(text: str) -> str:
    return " ".join(text.split("<!-- promise -->", 1)[1].split("<!-- /promise -->", 1)[0]
                    .split())


def test_the_promise_reads_the_same_in_the_readme_the_docs_and_the_survey(client, login,
                                                                          member, survey):
    root = Path(__file__).resolve().parent.parent
    template = (root / "templates/surveys/_promise.html").read_text()
    words = " ".join(template.split("<p class=\"promise\">", 1)[1].split("</p>", 1)[0]
                     .replace("{{ config.PRIVACY_MIN_N }}", "PRIVACY_MIN_N").split())
    assert _promise_in((root / "README.md").read_text()) == words
    assert _promise_in((root / "docs/architecture.md").read_text()) == words
    login(member)
    page = client.get(f"/surveys/{survey.id}").get_data(as_text=True)
    shown = " ".join(page.split('<p class="promise">', 1)[1].split("</p>", 1)[0].split())
    assert shown == words.replace("PRIVACY_MIN_N", "10")


def test_results_say_how_many_answers_wait_and_rates_count_them(client, login, member,
                                                                leader, survey):
    login(member)
    take_survey(client, survey)
    login(leader)
    page = client.get(f"/reports/surveys/{survey.id}").get_data(as_text=True)
    # One waiting answer is a small group: the notice says so without the count.
    assert "Some answers are waiting to be added in a batch" in page
    assert "added 10 or more at a time" in page
