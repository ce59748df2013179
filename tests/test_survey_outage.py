"""The database goes away right after a survey submission was committed: the member is
recorded and the answers are safe in the pool, so the page says so (200, "received")
instead of the 503 page that would tell them nothing was saved; the pool is released
once the database is back."""

from __future__ import annotations

import sqlalchemy as sa

from portal.extensions import db
from portal.models import SurveyDraft, SurveyParticipation, SurveyPoolEntry, SurveyResponse
from portal.surveys import pool
from tests import factories
from tests.test_surveys_taking import take_survey


def test_the_receipt_needs_no_database_after_the_claim(app, client, login, member,
                                                       monkeypatch):
    app.config["PRIVACY_MIN_N"] = 1  # the release would run right after this submission
    survey = factories.make_survey()
    survey_id, member_id = survey.id, member.id
    engine = db.engine
    down = {"on": False}

    def refuse(conn, cursor, statement, parameters, context, executemany):
        if down["on"]:
            raise sa.exc.OperationalError(statement, parameters, Exception("server gone"))

    real_release = pool.release

    def release_while_down(*args, **kwargs):
        down["on"] = True  # from here on every statement fails, as in an outage
        return real_release(*args, **kwargs)

    monkeypatch.setattr(pool, "release", release_while_down)
    sa.event.listen(engine, "before_cursor_execute", refuse)
    try:
        login(member)
        resp = take_survey(client, survey)
    finally:
        down["on"] = False
        sa.event.remove(engine, "before_cursor_execute", refuse)
    page = resp.get_data(as_text=True)
    assert resp.status_code == 200, page[:1500]
    assert "your answers are received" in page and "Lead a team." in page
    db.session.rollback()
    assert db.session.get(SurveyParticipation, (survey_id, member_id)) is not None
    assert db.session.scalar(sa.select(sa.func.count()).select_from(SurveyResponse)) == 0
    assert db.session.scalar(sa.select(sa.func.count()).select_from(SurveyDraft)) == 0
    assert db.session.scalar(sa.select(sa.func.count()).select_from(SurveyPoolEntry)) == 1
    monkeypatch.undo()
    # The next survey page (or `flask surveys release`) releases it.
    assert client.get("/surveys/").status_code == 200
    assert db.session.scalar(sa.select(sa.func.count()).select_from(SurveyResponse)) == 1
    assert db.session.scalar(sa.select(sa.func.count()).select_from(SurveyPoolEntry)) == 0


def test_a_failing_rollback_during_an_outage_still_answers_503(app, client, login, member,
                                                              monkeypatch):
    """While PostgreSQL shuts down, the ROLLBACK in the 503 handler can fail too
    (AdminShutdown); the member must still get the 503 page, never a 500."""
    from portal.surveys import lifecycle

    login(member)

    def gone():
        raise sa.exc.OperationalError("SELECT 1", {}, Exception("the database is shutting down"))

    def rollback_fails():
        raise sa.exc.OperationalError("ROLLBACK", {}, Exception("terminating connection"))

    monkeypatch.setattr(lifecycle, "sync_due_surveys", gone)
    monkeypatch.setattr("portal.surveys.routes.sync_due_surveys", gone, raising=False)
    monkeypatch.setattr(db.session, "rollback", rollback_fails)
    resp = client.get("/surveys/")
    assert resp.status_code == 503
    assert resp.headers.get("Retry-After") == "30"
