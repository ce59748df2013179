"""Feedback rounds: admin scheduling, opening and closing by schedule, one open at a time."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from portal.extensions import db
from portal.models import AuditEvent, FeedbackRound
from portal.rounds import services
from portal.timeutil import now_utc
from tests.factories import make_round


def _status(rnd_id: int) -> str:
    db.session.expire_all()
    return db.session.get(FeedbackRound, rnd_id).status


def test_a_due_draft_opens_and_a_past_round_closes_by_itself(app):
    now = now_utc()
    past = make_round("Spring", status="open", opens_at=now - timedelta(days=10),
                      closes_at=now - timedelta(hours=1))
    due = make_round("Summer", status="draft", opens_at=now - timedelta(minutes=5),
                     closes_at=now + timedelta(days=5))
    future = make_round("Autumn", status="draft", opens_at=now + timedelta(days=10),
                        closes_at=now + timedelta(days=20))
    assert services.current_round(now).id == due.id
    assert _status(past.id) == "closed"
    assert _status(future.id) == "draft"
    closed = db.session.get(FeedbackRound, past.id)
    assert closed.closed_at == closed.closes_at
    actions = set(db.session.scalars(sa.select(AuditEvent.action).where(
        AuditEvent.actor_label == "system")))
    assert actions == {"round.opened", "round.closed"}
    # Later, at the future round's time, the summer round has closed and autumn opens.
    later = now + timedelta(days=11)
    assert services.current_round(later).id == future.id
    assert _status(due.id) == "closed"


def test_nothing_due_means_no_write(app, query_counter):
    make_round("Future", status="draft", opens_at=now_utc() + timedelta(days=1),
               closes_at=now_utc() + timedelta(days=2))
    with query_counter() as q:
        assert services.current_round() is None
    assert all(s.lstrip().upper().startswith("SELECT") for s in q)
    assert len(q) == 1  # the open round and any due draft, in one query


def test_the_database_allows_one_open_round(app):
    make_round("One", status="open")
    db.session.add(FeedbackRound(name="Two", opens_at=now_utc(), status="open",
                                 closes_at=now_utc() + timedelta(days=1)))
    with pytest.raises(IntegrityError):
        db.session.commit()
    db.session.rollback()


def test_simultaneous_syncs_open_the_round_once(app):
    now = now_utc()
    due = make_round("Due", status="draft", opens_at=now - timedelta(minutes=1),
                     closes_at=now + timedelta(days=1))
    barrier = threading.Barrier(4, timeout=20)
    errors: list[BaseException] = []

    def worker():
        with app.app_context():
            try:
                barrier.wait()
                services.sync_rounds(now)
            except BaseException as exc:  # noqa: BLE001 - reported below
                errors.append(exc)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert _status(due.id) == "open"
    assert db.session.scalar(sa.select(sa.func.count()).select_from(AuditEvent).where(
        AuditEvent.action == "round.opened")) == 1


def test_admin_schedules_a_round(client, login, admin):
    login(admin)
    start = now_utc() + timedelta(days=1)
    resp = client.post_form("/admin/rounds/", {
        "name": "Spring 2027", "description": "First round",
        "opens_at": start.strftime("%Y-%m-%dT%H:%M"),
        "closes_at": (start + timedelta(days=14)).strftime("%Y-%m-%dT%H:%M")})
    assert resp.status_code == 302 and resp.location.endswith("/admin/rounds/")
    rnd = db.session.scalar(sa.select(FeedbackRound))
    assert rnd.name == "Spring 2027" and rnd.status == "draft"
    event = db.session.scalar(sa.select(AuditEvent).where(AuditEvent.action == "round.create"))
    assert event.actor_id == admin.id and event.target_id == str(rnd.id)
    html = client.get("/admin/rounds/").get_data(as_text=True)
    assert "Spring 2027" in html and "Scheduled" in html


@pytest.mark.parametrize(("opens", "closes", "message"), [
    (2, 1, "The closing time must be after the opening time."),
    (-5, -1, "The closing time must be in the future."),
    (None, 3, "Enter the opening date and time."),
    ("garbage", 3, "Enter the opening date and time."),
])
def test_bad_round_times_are_refused(client, login, admin, opens, closes, message):
    login(admin)
    now = now_utc()

    def fmt(days):
        if days is None:
            return ""
        if isinstance(days, str):
            return days
        return (now + timedelta(days=days)).strftime("%Y-%m-%dT%H:%M")

    resp = client.post_form("/admin/rounds/", {"name": "Bad", "opens_at": fmt(opens),
                                                "closes_at": fmt(closes)})
    assert resp.status_code == 400
    assert message in resp.get_data(as_text=True)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(FeedbackRound)) == 0


def test_overlapping_and_duplicate_rounds_are_refused(client, login, admin):
    now = now_utc()
    make_round("Existing", status="draft", opens_at=now + timedelta(days=1),
               closes_at=now + timedelta(days=10))
    login(admin)
    resp = client.post_form("/admin/rounds/", {
        "name": "Overlap", "opens_at": (now + timedelta(days=5)).strftime("%Y-%m-%dT%H:%M"),
        "closes_at": (now + timedelta(days=15)).strftime("%Y-%m-%dT%H:%M")})
    assert resp.status_code == 409
    assert "overlap round &#39;Existing&#39;" in resp.get_data(as_text=True)
    resp = client.post_form("/admin/rounds/", {
        "name": "existing", "opens_at": (now + timedelta(days=20)).strftime("%Y-%m-%dT%H:%M"),
        "closes_at": (now + timedelta(days=25)).strftime("%Y-%m-%dT%H:%M")})
    assert resp.status_code == 409
    assert "A round with this name already exists." in resp.get_data(as_text=True)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(FeedbackRound)) == 1


def test_admin_opens_early_and_closes_early(client, login, admin):
    now = now_utc()
    rnd = make_round("Early", status="draft", opens_at=now + timedelta(days=3),
                     closes_at=now + timedelta(days=10))
    login(admin)
    resp = client.post_form(f"/admin/rounds/{rnd.id}/open")
    assert resp.status_code == 302
    assert _status(rnd.id) == "open"
    other = make_round("Later", status="draft", opens_at=now + timedelta(days=20),
                       closes_at=now + timedelta(days=30))
    resp = client.post_form(f"/admin/rounds/{other.id}/open")
    assert resp.status_code == 409
    assert "Round &#39;Early&#39; is open" in resp.get_data(as_text=True)
    assert _status(other.id) == "draft"
    resp = client.post_form(f"/admin/rounds/{rnd.id}/close")
    assert resp.status_code == 302
    assert _status(rnd.id) == "closed"
    # A closed round cannot be closed again.
    resp = client.post_form(f"/admin/rounds/{rnd.id}/close")
    assert resp.status_code == 409
    actions = list(db.session.scalars(sa.select(AuditEvent.action).where(
        AuditEvent.actor_id == admin.id).order_by(AuditEvent.id)))
    assert actions == ["round.open", "round.close"]
    assert client.post_form("/admin/rounds/9999/open").status_code == 404


@pytest.mark.parametrize("role", ["member", "leader"])
def test_only_admins_manage_rounds(client, login, member, leader, role):
    login(member if role == "member" else leader)
    assert client.get("/admin/rounds/").status_code == 403
    assert client.post_form("/admin/rounds/", {"name": "x"}).status_code == 403


def test_anonymous_is_sent_to_sign_in(client):
    resp = client.get("/admin/rounds/")
    assert resp.status_code == 302 and "/auth/login" in resp.location
