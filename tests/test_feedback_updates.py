"""Leadership updates, plan progress, "updated since your last visit", My feedback, export."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from portal.extensions import db
from portal.feedback.services import anonymise_member_feedback, export_member_feedback
from portal.models import AuditEvent, Comment, Endorsement, ObjectiveUpdate, Rating
from portal.timeutil import now_utc
from tests.factories import make_comment, make_round, make_update, make_user, objective


@pytest.mark.parametrize("role", ["leader", "admin"])
def test_leaders_and_admins_publish_updates(client, login, plan, leader, admin, role):
    author = leader if role == "leader" else admin
    login(author)
    page = client.get("/reports/updates/A5/new")
    assert page.status_code == 200 and "<legend>Status" in page.get_data(as_text=True)
    resp = client.post_form("/reports/updates/A5/new", {
        "status": "in_progress", "progress": "35",
        "heard": "Members want **louder** advocacy.", "doing": "A campaign in spring."})
    assert resp.status_code == 302 and resp.location.endswith("/plan/objectives/A5#updates")
    update = db.session.scalar(sa.select(ObjectiveUpdate))
    assert (update.status, update.progress, update.author_id) == ("in_progress", 35, author.id)
    event = db.session.scalar(sa.select(AuditEvent).where(
        AuditEvent.action == "objective_update.publish"))
    assert event.actor_id == author.id
    html = client.get("/plan/objectives/A5").get_data(as_text=True)
    assert "In progress" in html and "35% done" in html
    assert "<strong>louder</strong>" in html and "A campaign in spring." in html


@pytest.mark.parametrize(("data", "message"), [
    ({"status": "in_progress", "progress": "101", "heard": "x"}, "Progress is a whole number"),
    ({"status": "in_progress", "progress": "-1", "heard": "x"}, "Progress is a whole number"),
    # WTForms' anonymous defaults now name the field (portal/forms.py, issue 18).
    ({"status": "in_progress", "progress": "abc", "heard": "x"},
     "Enter the progress (percent) as a whole number."),
    ({"status": "finished", "progress": "10", "heard": "x"},
     "Select one of the options listed for the status."),
    ({"progress": "10", "heard": "x"}, "Choose a status."),
    ({"status": "paused", "progress": "10"}, "Write what you heard, what you are doing"),
])
def test_bad_updates_are_refused(client, login, plan, leader, data, message):
    login(leader)
    resp = client.post_form("/reports/updates/A1/new", data)
    assert resp.status_code == 400
    assert message in resp.get_data(as_text=True)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(ObjectiveUpdate)) == 0


def test_members_cannot_publish_updates(client, login, plan, member):
    login(member)
    assert client.get("/reports/updates/").status_code == 403
    resp = client.post_form("/reports/updates/A1/new", {"status": "paused", "progress": "1",
                                                        "heard": "x"})
    assert resp.status_code == 403
    assert db.session.scalar(sa.select(sa.func.count()).select_from(ObjectiveUpdate)) == 0
    assert client.get("/reports/updates/Z9/new").status_code == 403


def test_unknown_objective_update_is_a_404(client, login, plan, leader):
    login(leader)
    assert client.get("/reports/updates/Z9/new").status_code == 404


def test_objective_page_shows_latest_update_and_history(client, plan, leader):
    make_update(leader, "B1", status="not_started", progress=0, heard="Old news.",
                published_at=now_utc() - timedelta(days=30))
    make_update(leader, "B1", status="achieved", progress=100, heard="Done now.")
    html = client.get("/plan/objectives/B1").get_data(as_text=True)
    latest = html.index("Done now.")
    history = html.index("Earlier updates (1)")
    assert latest < history < html.index("Old news.")
    assert "Achieved" in html and "100% done" in html


def test_updated_since_your_last_visit(client, login, plan, member, leader):
    login(member)
    client.get("/plan/objectives/C3")
    client.get("/plan/objectives/C4")
    make_update(leader, "C3")
    dom = client.get("/plan/domains/C").get_data(as_text=True)
    assert dom.count("Updated since your last visit") == 1
    c3 = dom.index('href="/plan/objectives/C3"')
    assert "Updated since your last visit" in dom[c3:dom.index('href="/plan/objectives/C4"')]
    progress = client.get("/feedback/progress").get_data(as_text=True)
    assert progress.count("Updated since your last visit") == 1
    page = client.get("/plan/objectives/C3").get_data(as_text=True)
    assert "Updated since your last visit" in page
    # Seen now: the marker goes away.
    assert "Updated since your last visit" not in client.get(
        "/plan/objectives/C3").get_data(as_text=True)
    assert "Updated since your last visit" not in client.get("/plan/domains/C").get_data(
        as_text=True)


def test_plan_progress_rolls_up_by_domain(client, plan, leader):
    make_update(leader, "D1", status="achieved", progress=100)
    make_update(leader, "D2", status="in_progress", progress=50,
                published_at=now_utc() - timedelta(days=2))
    make_update(leader, "D2", status="in_progress", progress=60)
    make_update(leader, "E1", status="paused", progress=20)
    html = client.get("/feedback/progress").get_data(as_text=True)
    assert html.count("<h1") == 1 and "<caption>Progress by domain</caption>" in html
    row = html[html.index("D. Financial Sustainability"):]
    row = row[:row.index("</tr>")]
    # D has five objectives: (100 + 60 + 0 + 0 + 0) / 5 = 32 %
    cells = [c.split("<")[0] for c in row.split('<td class="num">')[1:]]
    assert cells == ["5", "2", "32%", "1", "1", "0", "0"]
    # Whole plan: (100 + 60 + 20) / 22 = 8.2 %
    assert "Across the whole plan: <strong>8%</strong>" in html


def test_my_feedback_lists_ratings_by_round_comments_and_endorsements(client, login, plan,
                                                                       member):
    other = make_user(display_name="Otto")
    old = make_round("Winter", status="closed", opens_at=now_utc() - timedelta(days=60),
                     closes_at=now_utc() - timedelta(days=30))
    db.session.add(Rating(user_id=member.id, objective_id=objective("A1").id, round_id=old.id,
                          importance=5, performance=1))
    db.session.commit()
    make_round("Spring")
    login(member)
    client.post_form("/feedback/objectives/A2/rating", {"importance": "3", "performance": "0"})
    mine = make_comment(member, "B1", "My view on B1.")
    theirs = make_comment(other, "B2", "Otto's view.")
    client.post_form(f"/feedback/comments/{theirs.id}/endorse")
    html = client.get("/feedback/mine").get_data(as_text=True)
    assert html.index("Spring") < html.index("Winter")
    assert "Essential" in html and "Very poorly" in html and "Moderately important" in html
    assert "My view on B1." in html and f'/feedback/comments/{mine.id}#comment-{mine.id}' in html
    assert "Otto&#39;s view." in html or "Otto's view." in html
    assert "<caption>Spring" in html


def test_my_feedback_needs_sign_in_and_is_in_the_nav(client, login, member):
    assert client.get("/feedback/mine").status_code == 302
    login(member)
    assert 'href="/feedback/mine"' in client.get("/").get_data(as_text=True)


def test_export_and_anonymise(app, plan, member):
    other = make_user()
    rnd = make_round("Round")
    db.session.add(Rating(user_id=member.id, objective_id=objective("A1").id, round_id=rnd.id,
                          importance=4))
    c = make_comment(member, "A1", "Exported words.")
    theirs = make_comment(other, "A1", "Other words.")
    db.session.add(Endorsement(user_id=member.id, comment_id=theirs.id))
    db.session.commit()
    data = export_member_feedback(member)
    assert data["ratings"][0]["objective"] == "A1"
    assert data["ratings"][0]["importance_label"] == "Very important"
    assert data["comments"][0]["body"] == "Exported words."
    assert data["endorsements"][0]["comment_id"] == theirs.id
    anonymise_member_feedback(member)
    db.session.commit()
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Rating)) == 1
    assert db.session.scalar(sa.select(Rating.user_id)) is None
    db.session.expire_all()
    kept = db.session.get(Comment, c.id)
    assert kept.user_id is None and kept.show_name is False
    assert db.session.scalar(sa.select(Endorsement.user_id)) is None


def test_feedback_pages_have_one_h1_and_no_inline_script_or_style(client, login, plan, admin,
                                                                   member):
    make_round("Open")
    c = make_comment(member, "A1", "Some words.")
    make_update(admin, "A1")
    login(admin)
    urls = ["/plan/objectives/A1", "/plan/domains/A", "/feedback/mine", "/feedback/progress",
            f"/feedback/comments/{c.id}", f"/feedback/comments/{c.id}/reply",
            f"/feedback/comments/{c.id}/flag", "/admin/rounds/", "/admin/moderation/",
            f"/admin/moderation/comments/{c.id}", "/reports/updates/",
            "/reports/updates/A1/new"]
    for url in urls:
        resp = client.get(url)
        assert resp.status_code == 200, url
        html = resp.get_data(as_text=True)
        assert html.count("<h1") == 1, url
        assert "<script>" not in html and 'style="' not in html and "<style" not in html, url
    login(member)
    html = client.get(f"/feedback/comments/{c.id}/edit").get_data(as_text=True)
    assert html.count("<h1") == 1 and "Some words." in html
