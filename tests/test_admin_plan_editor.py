"""The admin plan editor: texts, adding, reordering, retiring and removing objectives."""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa

from portal.extensions import db
from portal.models import AuditEvent, Domain, FeedbackRound, Objective, Plan, Rating
from portal.timeutil import now_utc


def _objective(code: str) -> Objective | None:
    db.session.expire_all()
    return db.session.scalar(sa.select(Objective).where(Objective.code == code))


def _codes(domain_code: str) -> list[str]:
    db.session.expire_all()
    return db.session.scalars(sa.select(Objective.code).join(Domain)
                              .where(Domain.code == domain_code)
                              .order_by(Objective.position)).all()


def _actions() -> list[str]:
    return db.session.scalars(sa.select(AuditEvent.action).order_by(AuditEvent.id)).all()


def test_edit_mission_vision_and_values(client, admin, login, plan):
    login(admin)
    page = client.get("/admin/plan/statements").get_data(as_text=True)
    assert plan.mission[:30] in page
    resp = client.post_form("/admin/plan/statements", {
        "mission": "A new mission.", "vision": "A new vision.", "values": "Access\n\nEquity\n"})
    assert resp.status_code == 302
    db.session.expire_all()
    stored = db.session.scalar(sa.select(Plan))
    assert stored.mission == "A new mission." and [v.name for v in stored.values] == [
        "Access", "Equity"]
    resp = client.post_form("/admin/plan/statements", {
        "mission": "", "vision": "V", "values": "A\nA"})
    assert resp.status_code == 400 and 'id="mission-error"' in resp.get_data(as_text=True)
    assert _actions() == ["plan.statements"]


def test_edit_domain_and_objective_texts(client, admin, login, plan):
    login(admin)
    assert client.post_form("/admin/plan/domains/A", {"title": "Advocacy!",
                                                      "goal": "Goal text."}).status_code == 302
    assert client.post_form("/admin/plan/objectives/A1", {"text": "New A1 text"}).status_code == 302
    assert client.post_form("/admin/plan/objectives/A1", {"text": "x" * 2001}).status_code == 400
    assert _objective("A1").text == "New A1 text"
    assert db.session.scalar(sa.select(Domain.title).where(Domain.code == "A")) == "Advocacy!"
    assert client.get("/admin/plan/objectives/ZZ9").status_code == 404


def test_add_objective_with_a_unique_code(client, admin, login, plan):
    login(admin)
    page = client.get("/admin/plan/domains/A/objectives/new").get_data(as_text=True)
    assert 'value="A' in page  # a suggested code
    before = _codes("A")
    resp = client.post_form("/admin/plan/domains/A/objectives/new",
                            {"code": "a9", "text": "Brand new objective"})
    assert resp.status_code == 302
    assert _codes("A") == [*before, "A9"]
    resp = client.post_form("/admin/plan/domains/A/objectives/new",
                            {"code": "A9", "text": "Again"})
    assert resp.status_code == 409 and 'id="code-error"' in resp.get_data(as_text=True)
    resp = client.post_form("/admin/plan/domains/A/objectives/new",
                            {"code": "9!", "text": "Bad code"})
    assert resp.status_code == 400
    assert "plan.objective.add" in _actions()


def test_reorder_objectives(client, admin, login, plan):
    login(admin)
    first, second = _codes("A")[:2]
    assert client.post_form(f"/admin/plan/objectives/{second}/move",
                            {"direction": "up"}).status_code == 302
    assert _codes("A")[:2] == [second, first]
    client.post_form(f"/admin/plan/objectives/{second}/move", {"direction": "up"})
    assert _codes("A")[:2] == [second, first]  # already first: refused, nothing changes
    client.post_form(f"/admin/plan/objectives/{second}/move", {"direction": "down"})
    assert _codes("A")[:2] == [first, second]
    assert _actions().count("plan.objective.move") == 2


def _rate(code: str, user) -> None:
    rnd = FeedbackRound(name=f"R{code}", opens_at=now_utc(),
                        closes_at=now_utc() + timedelta(days=1))
    db.session.add(rnd)
    db.session.flush()
    db.session.add(Rating(user_id=user.id, objective_id=_objective(code).id, round_id=rnd.id,
                          importance=4))
    db.session.commit()


def test_an_objective_with_feedback_is_retired_never_deleted(client, admin, member, login, plan):
    _rate("A2", member)
    login(admin)
    resp = client.post_form("/admin/plan/objectives/A2/remove")
    assert resp.status_code == 302
    kept = _objective("A2")
    assert kept is not None and kept.retired_at is not None and kept.code == "A2"
    assert client.post_form("/admin/plan/objectives/A2/reinstate").status_code == 302
    assert _objective("A2").retired_at is None
    # Without feedback, "remove" deletes.
    client.post_form("/admin/plan/objectives/A3/remove")
    assert _objective("A3") is None
    # Retire is always a retire.
    client.post_form("/admin/plan/objectives/A4/retire")
    assert _objective("A4").retired_at is not None
    actions = _actions()
    assert {"plan.objective.retire", "plan.objective.reinstate",
            "plan.objective.delete"} <= set(actions)


def test_retired_objectives_leave_the_member_pages(client, admin, login, plan):
    login(admin)
    client.post_form("/admin/plan/objectives/A1/retire")
    html = client.get("/plan/domains/A").get_data(as_text=True)
    text = _objective("A1").text
    assert text[:40] not in html
