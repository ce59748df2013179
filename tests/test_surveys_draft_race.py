"""Two requests of one member that both create the survey draft (a double click on
Start, two tabs, a section posted before Start) store one draft, and neither fails."""

from __future__ import annotations

import threading
import time

import pytest
import sqlalchemy as sa
from werkzeug.datastructures import MultiDict

from portal.extensions import db
from portal.models import Survey, SurveyDraft, User
from portal.surveys import services
from tests import factories
from tests.test_surveys_taking import SECTION_1, take_survey


def _race(app, survey: Survey, user: User, actions: list[str], delayed: int | None) -> list:
    """Run each action as its own request in its own thread, each with its own session.

    Every thread is held just before its INSERT into survey_drafts until all of them
    got there, so all have already found no draft: the race the benchmarks hit, made
    certain. `delayed` lets one thread start its INSERT a moment after the others, so
    the parametrized cases cover who stores the row first. Returns the errors raised.
    """
    survey_id, user_id = survey.id, user.id  # this thread's session stays out of the threads
    barrier = threading.Barrier(len(actions), timeout=20)
    local = threading.local()
    errors: list[BaseException] = []

    def hold_draft_insert(conn, cursor, statement, parameters, context, executemany):
        if statement.lstrip().upper().startswith("INSERT INTO SURVEY_DRAFTS"):
            barrier.wait()
            time.sleep(getattr(local, "delay", 0))

    def request(action: str, delay: float) -> None:
        with app.app_context():
            local.delay = delay
            try:
                s = db.session.get(Survey, survey_id)
                u = db.session.get(User, user_id)
                if action == "start":
                    services.start(s, u)
                else:
                    services.save_section(s, u, 1, MultiDict(SECTION_1), "next")
                db.session.commit()  # as the views do
            except BaseException as exc:  # noqa: BLE001 - reported by the caller
                errors.append(exc)
                db.session.rollback()
            finally:
                db.session.remove()

    sa.event.listen(db.engine, "before_cursor_execute", hold_draft_insert)
    try:
        threads = [threading.Thread(target=request, args=(a, 0.3 if i == delayed else 0))
                   for i, a in enumerate(actions)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
    finally:
        sa.event.remove(db.engine, "before_cursor_execute", hold_draft_insert)
    db.session.expire_all()
    return errors


def _drafts() -> list[SurveyDraft]:
    return list(db.session.scalars(sa.select(SurveyDraft)))


@pytest.mark.parametrize("delayed", [None, 0, 1])
def test_double_start_stores_one_draft(app, member, delayed):
    survey = factories.make_survey()
    assert _race(app, survey, member, ["start", "start"], delayed) == []
    [draft] = _drafts()
    assert (draft.survey_id, draft.user_id) == (survey.id, member.id)
    assert draft.answers == {} and draft.completed_sections == []


@pytest.mark.parametrize("delayed", [None, 0, 1])
def test_section_posted_before_start_keeps_its_answers(app, member, delayed):
    survey = factories.make_survey()
    first_section = survey.sections[0]
    assert _race(app, survey, member, ["section", "start"], delayed) == []
    [draft] = _drafts()
    # Whichever request stored the row, the posted section is kept and counts as done.
    assert draft.answers == {"q1": {"option": "yes", "other": None},
                             "q2": {"options": ["a", "b"], "other": None}, "q3": 4}
    assert draft.completed_sections == [first_section.id]


def test_two_tabs_reopening_an_attributed_answer_start_from_the_stored_answers(
        app, client, login, member):
    survey = factories.make_survey(anonymous=False)
    login(member)
    assert take_survey(client, survey).status_code == 200
    stored = services.stored_answers(survey, member)
    assert stored and _drafts() == []
    assert _race(app, survey, member, ["start", "start"], 1) == []
    [draft] = _drafts()
    assert draft.answers == stored
