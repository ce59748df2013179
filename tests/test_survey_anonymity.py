"""Anonymous answers cannot be traced to a member: schema, writes, logs, failures, races."""

from __future__ import annotations

import logging
import random
import threading
import uuid

import pytest
import sqlalchemy as sa

from portal.errors import Conflict
from portal.extensions import db
from portal.models import (
    AuditEvent,
    Survey,
    SurveyAnswer,
    SurveyAttribution,
    SurveyDraft,
    SurveyParticipation,
    SurveyResponse,
    User,
)
from portal.surveys import services, submission
from tests import factories
from tests.conftest import postgres_admin_url
from tests.test_surveys_taking import take_survey

LINKING_WORDS = {"user", "member", "account", "session", "ip", "addr", "agent", "browser",
                 "seq", "sequence", "serial", "time", "timestamp", "at", "created", "updated",
                 "email", "token", "draft", "participation"}



@pytest.fixture
def survey(app):
    return factories.make_survey()


def _columns(table: str) -> set[str]:
    return {c["name"] for c in sa.inspect(db.engine).get_columns(table)}


def test_schema_has_no_link_from_answers_to_members(app):
    insp = sa.inspect(db.engine)
    for table in ("survey_responses", "survey_answers"):
        for col in _columns(table):
            assert not set(col.lower().split("_")) & LINKING_WORDS, (table, col)
        targets = {fk["referred_table"] for fk in insp.get_foreign_keys(table)}
        assert "users" not in targets and "survey_participations" not in targets
    assert _columns("survey_responses") == {
        "id", "survey_id", "submitted_on", "career_stage", "library_type", "work_role",
        "region", "membership_type"}
    assert isinstance(SurveyResponse.__table__.c.id.type, sa.Uuid)
    assert isinstance(SurveyResponse.__table__.c.submitted_on.type, sa.Date)
    # Answers: a composite key of the random response key, question and item; no sequence.
    assert insp.get_pk_constraint("survey_answers")["constrained_columns"] == [
        "response_id", "question_id", "item"]
    # The participation records only THAT a member answered.
    assert _columns("survey_participations") == {"survey_id", "user_id"}
    assert {fk["referred_table"] for fk in insp.get_foreign_keys("survey_participations")} \
        == {"surveys", "users"}


def test_sqlite_tables_have_no_rowid_revealing_insertion_order(app):
    if db.engine.dialect.name != "sqlite":
        pytest.skip("SQLite only")
    for table in ("survey_responses", "survey_answers", "survey_participations"):
        with pytest.raises(sa.exc.OperationalError):
            db.session.execute(sa.text(f"SELECT rowid FROM {table}"))  # noqa: S608
        db.session.rollback()


def test_anonymous_submission_writes_no_link_and_deletes_the_draft(client, login, member,
                                                                   survey, caplog):
    login(member)
    caplog.set_level(logging.DEBUG)
    audit_before = db.session.scalar(sa.select(sa.func.count()).select_from(AuditEvent))
    assert take_survey(client, survey).status_code == 200
    response = db.session.scalar(sa.select(SurveyResponse))
    assert db.session.scalar(sa.select(sa.func.count()).select_from(SurveyAttribution)) == 0
    assert db.session.scalar(sa.select(sa.func.count()).select_from(SurveyDraft)) == 0
    assert db.session.get(SurveyParticipation, (survey.id, member.id)) is not None
    assert response.career_stage == member.career_stage
    # No log line or audit row names the response key.
    keys = {str(response.id), response.id.hex}
    for record in caplog.records:
        text = record.getMessage()
        assert not any(k in text for k in keys), text
    events = db.session.scalars(sa.select(AuditEvent)).all()
    assert len(events) == audit_before
    for event in events:
        assert not any(k in f"{event.target_id} {event.detail}" for k in keys)
    # The member cannot see their anonymous answers again.
    page = client.get(f"/surveys/{survey.id}").get_data(as_text=True)
    assert "Lead a team." not in page and "What is kept, and what is not" in page


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


def _claim_only(monkeypatch, target: str):
    calls = {"n": 0}
    original = getattr(submission, target)

    def failing(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 1:
            raise RuntimeError("database went away")
        return original(*args, **kwargs)

    monkeypatch.setattr(submission, target, failing)


def test_store_failure_loses_nothing_and_recovers_once(client, login, member, survey,
                                                       monkeypatch):
    _claim_only(monkeypatch, "_store_sealed")
    login(member)
    resp = take_survey(client, survey)
    assert resp.status_code == 200 and "answers are safe" in resp.get_data(as_text=True)
    assert db.session.get(SurveyParticipation, (survey.id, member.id)) is not None
    draft = db.session.scalar(sa.select(SurveyDraft))
    assert draft.sealed_response_id is not None and draft.answers["q10"] == "Lead a team."
    assert db.session.scalar(sa.select(sa.func.count()).select_from(SurveyResponse)) == 0
    # The member cannot submit twice meanwhile.
    assert client.post_form(f"/surveys/{survey.id}/submit").status_code == 409
    # Their next visit finishes the job.
    assert client.get("/surveys/").status_code == 200
    assert db.session.scalar(sa.select(sa.func.count()).select_from(SurveyResponse)) == 1
    assert db.session.scalar(sa.select(sa.func.count()).select_from(SurveyDraft)) == 0
    assert submission.finish_sealed_drafts() == 0


def test_discard_failure_does_not_store_twice(client, login, member, survey, monkeypatch,
                                              runner):
    _claim_only(monkeypatch, "_discard_sealed")
    login(member)
    take_survey(client, survey)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(SurveyResponse)) == 1
    assert db.session.scalar(sa.select(sa.func.count()).select_from(SurveyDraft)) == 1
    result = runner.invoke(args=["surveys", "finish-submissions"])
    assert "1 interrupted submission(s) stored." in result.output
    assert db.session.scalar(sa.select(sa.func.count()).select_from(SurveyResponse)) == 1
    assert db.session.scalar(sa.select(sa.func.count()).select_from(SurveyDraft)) == 0


def _ready_draft(survey: Survey, user: User, value: int) -> None:
    """A complete draft, as if the member had gone through every section."""
    answers = {"q1": {"option": "no", "other": None}, "q4": value % 11, "q5": value}
    page_sections = [s.id for s in survey.sections if s.show_if is None]
    db.session.add(SurveyDraft(survey_id=survey.id, user_id=user.id, answers=answers,
                               completed_sections=page_sections))
    db.session.commit()


def test_two_simultaneous_submissions_store_one(app, survey, member):
    _ready_draft(survey, member, 5)
    # Read the ids here: the threads must not touch this thread's session.
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
    assert db.session.scalar(sa.select(sa.func.count()).select_from(SurveyResponse)) == 1
    assert db.session.scalar(sa.select(sa.func.count()).select_from(SurveyParticipation)) == 1
    assert db.session.scalar(sa.select(sa.func.count()).select_from(SurveyDraft)) == 0


def test_one_response_per_member_is_a_database_rule(app, survey, member):
    db.session.add(SurveyParticipation(survey_id=survey.id, user_id=member.id))
    db.session.commit()
    db.session.add(SurveyParticipation(survey_id=survey.id, user_id=member.id))
    with pytest.raises(sa.exc.IntegrityError):
        db.session.commit()
    db.session.rollback()


def _submit_many(survey: Survey, n: int) -> dict[int, uuid.UUID]:
    """n members submit one after the other; returns {user id: their response id}
    (known only to the test, from the value each member gave)."""
    users = [factories.make_user() for _ in range(n)]
    for i, user in enumerate(users):
        _ready_draft(survey, user, i)
        submission.submit(db.session.get(Survey, survey.id), db.session.get(User, user.id))
    q5 = survey.question_by_code("q5").id
    by_value = dict(db.session.execute(sa.select(SurveyAnswer.num_value,
                                                 SurveyAnswer.response_id)
                                       .where(SurveyAnswer.question_id == q5)).all())
    return {user.id: by_value[float(i)] for i, user in enumerate(users)}


def _correct(pairs: list[tuple[int, uuid.UUID]], truth: dict[int, uuid.UUID]) -> int:
    return sum(1 for uid, rid in pairs if truth.get(uid) == rid)


@pytest.mark.postgres
@pytest.mark.skipif(not postgres_admin_url(), reason="TEST_DATABASE_URL is not a PostgreSQL URL")
def test_postgres_system_columns_do_not_pair_participations_with_responses(app, survey,
                                                                           monkeypatch):
    monkeypatch.setattr(submission, "_rng", random.Random(20240501))
    n = 24
    truth = _submit_many(survey, n)
    parts = db.session.execute(sa.text(
        "SELECT user_id, xmin::text::bigint AS x, ctid::text AS c FROM survey_participations"
        " WHERE survey_id = :s"), {"s": survey.id}).all()
    resps = db.session.execute(sa.text(
        "SELECT id, xmin::text::bigint AS x, ctid::text AS c FROM survey_responses"
        " WHERE survey_id = :s"), {"s": survey.id}).all()
    assert len(parts) == len(resps) == n
    # 1. Same transaction id: never (they are written by different transactions).
    assert {p.x for p in parts}.isdisjoint({r.x for r in resps})
    # 2. Same physical position.
    by_ctid = {r.c: r.id for r in resps}
    ctid_pairs = [(p.user_id, by_ctid[p.c]) for p in parts if p.c in by_ctid]
    # 3. Insertion order: the k-th participation against the k-th response, by xmin or ctid.
    def ctid_key(c: str) -> tuple[int, int]:
        page, offset = c.strip("()").split(",")
        return int(page), int(offset)

    order_pairs = []
    for p_key, r_key in ((lambda p: p.x, lambda r: (r.x, ctid_key(r.c))),
                         (lambda p: ctid_key(p.c), lambda r: ctid_key(r.c))):
        ps = sorted(parts, key=p_key)
        rs = sorted(resps, key=r_key)
        order_pairs.append([(p.user_id, r.id) for p, r in zip(ps, rs, strict=True)])
    # 4. Adjacent transaction ids: the response written right after the participation.
    by_next = {}
    for r in resps:
        by_next.setdefault(r.x, []).append(r.id)
    adjacent = [(p.user_id, by_next[p.x + 1][0]) for p in parts
                if len(by_next.get(p.x + 1, [])) == 1]
    # A blind guess pairs about one member; allow a few, never most.
    limit = n // 4
    assert _correct(ctid_pairs, truth) <= limit
    for pairs in order_pairs:
        assert _correct(pairs, truth) <= limit
    assert _correct(adjacent, truth) <= limit


def test_mixing_rewrites_earlier_responses_in_the_same_transaction(app, survey, monkeypatch):
    """On every database: each store re-writes random earlier responses unchanged."""
    monkeypatch.setattr(submission, "_rng", random.Random(3))
    writes: list[str] = []

    def record(conn, cursor, statement, parameters, context, executemany):
        if statement.lstrip().upper().startswith(("UPDATE SURVEY_RESPONSES", "INSERT INTO "
                                                                             "SURVEY_RESPONSES")):
            writes.append(statement.split()[0].upper())

    truth = _submit_many(survey, 3)
    before = {r.id: (r.submitted_on, r.career_stage) for r in
              db.session.scalars(sa.select(SurveyResponse))}
    sa.event.listen(db.engine, "before_cursor_execute", record)
    try:
        truth.update(_submit_many(survey, 1))
    finally:
        sa.event.remove(db.engine, "before_cursor_execute", record)
    assert writes.count("INSERT") == 1 and writes.count("UPDATE") == 3
    db.session.expire_all()
    after = {r.id: (r.submitted_on, r.career_stage) for r in
             db.session.scalars(sa.select(SurveyResponse))}
    assert all(after[k] == v for k, v in before.items())
    assert len(after) == 4
