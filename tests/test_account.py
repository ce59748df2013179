"""My account: profile and segments, download my data, delete my account."""

from __future__ import annotations

import json
from datetime import timedelta

import sqlalchemy as sa

from portal import segments
from portal.account.export import register_deletion_hook, register_exporter
from portal.extensions import db
from portal.models import AuditEvent, Comment, FeedbackRound, Objective, Rating, RoundStatus, User
from portal.timeutil import now_utc
from tests.factories import PASSWORD


def test_profile_page_explains_why_we_ask(client, member, login):
    login(member)
    html = client.get("/account").get_data(as_text=True)
    assert "Why we ask" in html and "Who sees what" in html
    for dim in segments.DIMENSIONS:
        assert dim.question in html
    assert html.count('value="undisclosed"') == len(segments.DIMENSIONS)
    assert html.count("<fieldset") >= len(segments.DIMENSIONS)


def test_profile_saves_name_and_segments(client, member, login):
    login(member)
    resp = client.post_form("/account", {"display_name": "  Mia M.  ", "career_stage": "mid",
                                         "region": "undisclosed", "library_type": "public"})
    assert resp.status_code == 302
    user = db.session.get(User, member.id)
    db.session.refresh(user)
    assert user.display_name == "Mia M."
    assert (user.career_stage, user.region, user.library_type) == ("mid", "undisclosed", "public")
    assert user.work_role is None


def test_profile_refuses_unknown_codes_and_stores_nothing(client, member, login):
    login(member)
    resp = client.post_form("/account", {"display_name": "Changed", "region": "atlantis"})
    assert resp.status_code == 400
    html = resp.get_data(as_text=True)
    assert 'id="region-error"' in html and "Choose one of the answers listed." in html
    user = db.session.get(User, member.id)
    db.session.refresh(user)
    assert user.display_name == "Mia Member" and user.region is None


def _feedback_for(user, plan):
    objective = db.session.scalar(sa.select(Objective).where(Objective.code == "A1"))
    rnd = FeedbackRound(name="Spring", opens_at=now_utc(), closes_at=now_utc() + timedelta(days=9),
                        status=RoundStatus.OPEN.value)
    db.session.add(rnd)
    db.session.flush()
    db.session.add(Rating(user_id=user.id, objective_id=objective.id, round_id=rnd.id,
                          importance=5, performance=2, region="west"))
    db.session.add(Comment(user_id=user.id, objective_id=objective.id, round_id=rnd.id,
                           body="More for rural libraries, please.", show_name=True))
    db.session.commit()


def test_download_my_data_holds_profile_ratings_comments_and_extras(app, client, member, login,
                                                                    plan):
    _feedback_for(member, plan)
    register_exporter("survey_answers", lambda user: [{"survey": "PD needs", "q1": "yes"}])
    login(member)
    resp = client.get("/account/data")
    assert resp.status_code == 200 and resp.mimetype == "application/json"
    assert "attachment" in resp.headers["Content-Disposition"]
    data = json.loads(resp.get_data(as_text=True))
    assert data["profile"]["email"] == member.email
    assert set(data["profile"]["segments"]) == set(segments.KEYS)
    ratings = data["feedback"]["ratings"]
    assert ratings == [{"round": "Spring", "objective": "A1", "importance": 5,
                        "importance_label": "Essential", "performance": 2,
                        "performance_label": "Poorly", "updated_at": ratings[0]["updated_at"]}]
    assert data["feedback"]["comments"][0]["body"] == "More for rural libraries, please."
    assert data["survey_answers"] == [{"survey": "PD needs", "q1": "yes"}]


def test_delete_needs_the_password(client, member, login):
    login(member)
    resp = client.post_form("/account/delete", {"password": "not my password"})
    assert resp.status_code == 400 and 'id="password-error"' in resp.get_data(as_text=True)
    assert db.session.get(User, member.id) is not None


def test_delete_removes_personal_data_keeps_counts_and_ends_sessions(app, client, member, login,
                                                                     plan):
    _feedback_for(member, plan)
    calls = []
    register_deletion_hook("surveys", lambda user: calls.append(user.id))
    login(member)
    stolen = client.get_cookie("session").value
    page = client.get("/account/delete").get_data(as_text=True)
    assert "A former member" in page
    member_id = member.id
    resp = client.post_form("/account/delete", {"password": PASSWORD})
    assert resp.status_code == 302
    db.session.expire_all()
    assert db.session.get(User, member_id) is None
    assert calls == [member_id]
    rating = db.session.scalar(sa.select(Rating))
    assert rating.user_id is None and rating.importance == 5 and rating.region == "west"
    comment = db.session.scalar(sa.select(Comment))
    assert comment.user_id is None and comment.show_name is False
    assert comment.body == "More for rural libraries, please."
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Rating)) == 1
    event = db.session.scalar(sa.select(AuditEvent).where(AuditEvent.action == "account.delete"))
    assert event is not None and member.email not in (event.detail or "")
    thief = app.test_client()
    thief.set_cookie("session", stolen)
    assert thief.get("/account").status_code == 302
    assert client.post_form("/auth/login", {"email": "member@example.org",
                                            "password": PASSWORD}).status_code == 401


def test_deleting_an_admin_removes_their_name_from_the_audit_log(client, admin, member, login):
    login(admin)
    client.post_form(f"/admin/users/{member.id}/role", {"role": "leader"})
    assert db.session.scalar(sa.select(AuditEvent.actor_label)) == admin.email
    client.post_form("/account/delete", {"password": PASSWORD})
    db.session.expire_all()
    labels = db.session.scalars(sa.select(AuditEvent.actor_label)).all()
    assert admin.email not in labels and f"deleted account #{admin.id}" in labels
