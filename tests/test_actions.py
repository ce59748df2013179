"""Action plans: leaders plan actions with an owner, a due date and the finding behind
them, note progress, see what is overdue and a per-domain roll-up; every change is
audited; members see only the published actions, on the objective's page."""

from __future__ import annotations

import re
from datetime import date, timedelta

import pytest
import sqlalchemy as sa

from portal.extensions import db
from portal.models import Action, ActionNote, AuditEvent
from portal.timeutil import now_utc
from tests import factories


@pytest.fixture
def as_leader(client, login, plan, leader):
    login(leader)
    return client


def _form(**overrides) -> dict:
    data = {"objective": "A1", "title": "Run a member listening tour",
            "detail": "Six regional sessions.", "owner_id": "", "due_on": "2027-03-31",
            "status": "planned", "progress": "0", "finding_kind": "shortfall",
            "finding_note": "80% rate it important, 21% say it is done well.",
            "finding_url": "/reports/objectives/A1?round=1"}
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


def _actions() -> list[Action]:
    return list(db.session.scalars(sa.select(Action).order_by(Action.id)))


def _make(leader, code="A1", due=None, status="planned", published=False, title="Act"):
    action = Action(objective_id=factories.objective(code).id, title=title,
                    due_on=due or date(2027, 1, 1), status=status, published=published,
                    owner_id=leader.id, created_by_id=leader.id)
    db.session.add(action)
    db.session.commit()
    return action


def test_a_leader_plans_an_action_and_it_is_audited(as_leader, leader):
    resp = as_leader.post_form("/reports/actions/new", _form(owner_id=str(leader.id)))
    assert resp.status_code == 302, resp.get_data(as_text=True)[:3000]
    (action,) = _actions()
    assert (action.title, action.owner_id, action.due_on, action.status, action.published) == (
        "Run a member listening tour", leader.id, date(2027, 3, 31), "planned", False)
    assert action.finding_url == "/reports/objectives/A1?round=1"
    page = as_leader.get(resp.location).get_data(as_text=True)
    assert "Run a member listening tour" in page and "See the evidence" in page
    events = db.session.scalars(sa.select(AuditEvent).where(
        AuditEvent.action == "action.create")).all()
    assert len(events) == 1 and events[0].target_id == str(action.id)


@pytest.mark.parametrize(("overrides", "field", "message"), [
    ({"title": "  "}, "title", "Enter a short title"),
    ({"title": "x" * 201}, "title", "200 characters or fewer"),
    ({"due_on": ""}, "due_on", "Enter the date the action is due"),
    ({"due_on": "31/03/2027"}, "due_on", "Not a valid date"),
    ({"progress": "140"}, "progress", "from 0 to 100"),
    ({"status": "finished"}, "status", "Select one of the options listed for the status"),
    ({"objective": "Z9"}, "objective", "Select one of the options listed for the objective"),
    ({"finding_url": "https://evil.example/phish"}, "finding_url", "leadership reports"),
    ({"finding_url": "//evil.example/reports/"}, "finding_url", "leadership reports"),
    ({"finding_url": "/admin/users"}, "finding_url", "leadership reports"),
    ({"owner_id": "999999"}, "owner_id", "Select one of the options listed for the owner"),
])
def test_bad_input_is_refused_keeps_what_was_typed_and_stores_nothing(
        as_leader, overrides, field, message):
    resp = as_leader.post_form("/reports/actions/new", _form(**overrides))
    assert resp.status_code == 400
    page = resp.get_data(as_text=True)
    assert "There is a problem" in page and message in page
    assert f'href="#{field}"' in page
    assert "80% rate it important, 21% say it is done well." in page  # kept
    assert _actions() == []


def test_a_member_cannot_be_an_owner(as_leader, member):
    resp = as_leader.post_form("/reports/actions/new", _form(owner_id=str(member.id)))
    assert resp.status_code == 400 and _actions() == []


def test_members_and_anonymous_readers_are_kept_out(client, login, plan, member, leader):
    action = _make(leader)
    for path in ("/reports/actions/", "/reports/actions/new", f"/reports/actions/{action.id}",
                 f"/reports/actions/{action.id}/edit"):
        assert client.get(path).status_code in (302, 401), path
    login(member)
    for path in ("/reports/actions/", "/reports/actions/new", f"/reports/actions/{action.id}",
                 f"/reports/actions/{action.id}/edit"):
        assert client.get(path).status_code == 403, path
    resp = client.post_form(f"/reports/actions/{action.id}/notes", {"body": "sneaky"})
    assert resp.status_code == 403
    assert db.session.scalar(sa.select(sa.func.count()).select_from(ActionNote)) == 0


def test_an_unsafe_request_without_the_csrf_token_is_refused(as_leader):
    resp = as_leader.post("/reports/actions/new", data=_form())
    assert resp.status_code == 400 and _actions() == []


def test_a_note_moves_status_and_progress_and_is_audited(as_leader, leader):
    action = _make(leader)
    resp = as_leader.post_form(f"/reports/actions/{action.id}/notes",
                               {"body": "First two sessions held.", "status": "in_progress",
                                "progress": "30"})
    assert resp.status_code == 302
    db.session.expire_all()
    action = db.session.get(Action, action.id)
    assert (action.status, action.progress) == ("in_progress", 30)
    (note,) = action.notes
    assert (note.body, note.status, note.progress) == ("First two sessions held.",
                                                       "in_progress", 30)
    page = as_leader.get(f"/reports/actions/{action.id}").get_data(as_text=True)
    assert "First two sessions held." in page and "Progress note" in page
    # Done without a figure means all of it.
    as_leader.post_form(f"/reports/actions/{action.id}/notes", {"status": "done"})
    db.session.expire_all()
    assert db.session.get(Action, action.id).progress == 100
    assert db.session.scalar(sa.select(sa.func.count()).select_from(AuditEvent).where(
        AuditEvent.action == "action.note")) == 2


def test_an_empty_note_is_refused(as_leader, leader):
    action = _make(leader)
    resp = as_leader.post_form(f"/reports/actions/{action.id}/notes",
                               {"body": "", "status": "", "progress": ""})
    assert resp.status_code == 400
    assert "Write a note, or change the status or the progress." in resp.get_data(as_text=True)
    resp = as_leader.post_form(f"/reports/actions/{action.id}/notes",
                               {"body": "n" * 5001, "status": "", "progress": ""})
    assert resp.status_code == 400 and "n" * 5001 in resp.get_data(as_text=True)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(ActionNote)) == 0


def test_an_edit_lists_what_changed_in_the_audit(as_leader, leader):
    action = _make(leader, title="Old title")
    form = _form(title="New title", owner_id=str(leader.id), due_on="2027-01-01",
                 published="y")
    form.pop("objective")
    resp = as_leader.post_form(f"/reports/actions/{action.id}/edit", form)
    assert resp.status_code == 302, resp.get_data(as_text=True)[:3000]
    event = db.session.scalar(sa.select(AuditEvent).where(AuditEvent.action == "action.update"))
    assert '"title": ["Old title", "New title"]' in event.detail
    assert '"published": [false, true]' in event.detail
    assert "due_on" not in event.detail  # unchanged


def test_overdue_view_and_domain_rollup(as_leader, leader):
    today = now_utc().date()
    late = _make(leader, "A1", due=today - timedelta(days=3), title="Late one")
    _make(leader, "A2", due=today - timedelta(days=3), status="done", title="Late but done")
    _make(leader, "A3", due=today + timedelta(days=30), title="Not due yet")
    _make(leader, "B1", due=today - timedelta(days=1), status="dropped", title="Dropped")
    page = as_leader.get("/reports/actions/?view=overdue").get_data(as_text=True)
    assert "Late one" in page
    for title in ("Late but done", "Not due yet", "Dropped"):
        assert f">{title}</a>" not in page
    from portal.actions.queries import rollup

    rows = {r.domain.code: r for r in rollup(today)}
    a, b = rows["A"], rows["B"]
    assert (a.total, a.open, a.overdue, a.by_status.get("done"), a.with_actions) == (3, 2, 1, 1, 3)
    assert (b.total, b.open, b.overdue, b.with_actions) == (1, 0, 0, 1)
    assert a.without_actions == a.objectives - 3
    assert late.overdue_on(today)
    assert as_leader.get("/reports/actions/?view=nonsense").status_code == 400
    assert as_leader.get("/reports/actions/?domain=ZZ").status_code == 404
    assert "Late one" in as_leader.get("/reports/actions/?view=all&domain=A").get_data(
        as_text=True)


def test_members_see_only_published_actions_on_the_objective_page(client, login, plan,
                                                                   member, leader):
    _make(leader, "A1", title="Published listening tour", published=True)
    _make(leader, "A1", title="Internal budget review", published=False)
    _make(leader, "A1", title="Dropped idea", published=True, status="dropped")
    login(member)
    page = client.get("/plan/objectives/A1").get_data(as_text=True)
    assert "Published listening tour" in page
    assert "Internal budget review" not in page and "Dropped idea" not in page


def test_the_update_form_starts_from_the_published_actions(as_leader, leader):
    _make(leader, "A1", title="Published listening tour", published=True,
          due=date(2027, 3, 31))
    page = as_leader.get("/reports/updates/A1/new").get_data(as_text=True)
    assert "- Published listening tour (Planned, 0% done, due 31 March 2027)" in page


def test_the_drilldown_links_to_planning_an_action_with_its_evidence(as_leader):
    from tests.factories import make_round

    make_round("Round")
    page = as_leader.get("/reports/objectives/A1").get_data(as_text=True)
    assert "Plan an action on A1" in page
    assert re.search(r"finding_url=(%2F|/)reports(%2F|/)objectives(%2F|/)A1", page)
    resp = as_leader.get("/reports/actions/new?objective=A1&finding_url=/reports/objectives/A1")
    assert 'value="/reports/objectives/A1"' in resp.get_data(as_text=True)
