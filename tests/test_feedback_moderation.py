"""Moderation: the queue, hiding with a reason the author sees, restoring, dismissing flags."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from portal.extensions import db
from portal.models import AuditEvent, Comment, CommentFlag
from tests.factories import make_comment, make_user


def _comment(cid: int) -> Comment:
    db.session.expire_all()
    return db.session.get(Comment, cid)


@pytest.fixture
def flagged(app, plan, member):
    """A comment by `member`, hidden pending review after three flags."""
    c = make_comment(member, "A3", "Questionable words.", show_name=False)
    for _ in range(3):
        flagger = make_user()
        db.session.add(CommentFlag(user_id=flagger.id, comment_id=c.id, reason="abusive",
                                   note="Rude"))
    c.flag_count = 3
    c.status = "pending_review"
    db.session.commit()
    return c


def test_queue_lists_flagged_comments_with_their_author(client, login, admin, flagged):
    login(admin)
    html = client.get("/admin/moderation/").get_data(as_text=True)
    assert "Questionable words." in html
    assert "member@example.org" in html  # moderators see who wrote it
    assert "shown to members as “A member”" in html
    assert "Abusive or offensive: Rude" in html and "3 open flags" in html


def test_hide_with_a_reason_the_author_sees(client, login, admin, member, flagged):
    login(admin)
    resp = client.post_form(f"/admin/moderation/comments/{flagged.id}/hide", {"reason": ""})
    assert resp.status_code == 400
    assert "Give the reason the author will see." in resp.get_data(as_text=True)
    assert _comment(flagged.id).status == "pending_review"
    resp = client.post_form(f"/admin/moderation/comments/{flagged.id}/hide",
                            {"reason": "Personal attacks are not allowed."})
    assert resp.status_code == 302
    c = _comment(flagged.id)
    assert (c.status, c.hidden_reason, c.flag_count) == (
        "hidden", "Personal attacks are not allowed.", 0)
    assert all(f.resolution == "hidden" for f in db.session.scalars(sa.select(CommentFlag)))
    event = db.session.scalar(sa.select(AuditEvent).where(AuditEvent.action == "comment.hide"))
    assert event.actor_id == admin.id and event.target_id == str(flagged.id)
    assert "Personal attacks" in event.detail
    # The author sees the reason; other members see nothing of it.
    login(member)
    html = client.get("/plan/objectives/A3").get_data(as_text=True)
    assert "Personal attacks are not allowed." in html and "Questionable words." in html
    mine = client.get("/feedback/mine").get_data(as_text=True)
    assert "A moderator has hidden this comment. Reason: Personal attacks are not allowed." in mine
    login(make_user())
    html = client.get("/plan/objectives/A3").get_data(as_text=True)
    assert "Questionable words." not in html and "Personal attacks" not in html


def test_restore_and_dismiss(client, login, admin, flagged):
    login(admin)
    assert client.post_form(f"/admin/moderation/comments/{flagged.id}/restore").status_code == 302
    c = _comment(flagged.id)
    assert (c.status, c.flag_count) == ("visible", 0)
    assert client.post_form(f"/admin/moderation/comments/{flagged.id}/restore").status_code == 409
    assert client.post_form(f"/admin/moderation/comments/{flagged.id}/dismiss").status_code == 409
    # New flags after a restore, then dismissed.
    db.session.add(CommentFlag(user_id=make_user().id, comment_id=flagged.id, reason="spam"))
    c.flag_count = 1
    db.session.commit()
    assert client.post_form(f"/admin/moderation/comments/{flagged.id}/dismiss").status_code == 302
    assert _comment(flagged.id).flag_count == 0
    actions = list(db.session.scalars(sa.select(AuditEvent.action).order_by(AuditEvent.id)))
    assert actions == ["comment.restore", "comment.flags_dismissed"]
    assert "Nothing is waiting for review." in client.get("/admin/moderation/").get_data(
        as_text=True)


def test_dismissing_flags_shows_a_pending_comment_again(client, login, admin, flagged):
    login(admin)
    client.post_form(f"/admin/moderation/comments/{flagged.id}/dismiss")
    c = _comment(flagged.id)
    assert (c.status, c.flag_count) == ("visible", 0)
    resolutions = set(db.session.scalars(sa.select(CommentFlag.resolution)))
    assert resolutions == {"dismissed"}


def test_moderators_see_earlier_versions(client, login, admin, member, plan):
    c = make_comment(member, "C4", "Original text.")
    login(member)
    client.post_form(f"/feedback/comments/{c.id}/edit", {"body": "Softer text."})
    login(admin)
    html = client.get(f"/admin/moderation/comments/{c.id}").get_data(as_text=True)
    assert "Earlier versions (1)" in html and "Original text." in html
    assert "Softer text." in html
    assert client.get("/admin/moderation/comments/99999").status_code == 404


def test_hidden_view_lists_hidden_comments(client, login, admin, flagged):
    login(admin)
    client.post_form(f"/admin/moderation/comments/{flagged.id}/hide", {"reason": "No."})
    html = client.get("/admin/moderation/?view=hidden").get_data(as_text=True)
    assert "Questionable words." in html and "reason: No." in html


@pytest.mark.parametrize("role", ["member", "leader"])
def test_only_admins_moderate(client, login, member, leader, flagged, role):
    login(member if role == "member" else leader)
    assert client.get("/admin/moderation/").status_code == 403
    resp = client.post_form(f"/admin/moderation/comments/{flagged.id}/hide", {"reason": "x"})
    assert resp.status_code == 403
    assert _comment(flagged.id).status == "pending_review"


def test_moderation_queue_query_count_is_constant(client, login, admin, plan, query_counter):
    authors = [make_user() for _ in range(5)]
    login(admin)

    def seed(n, label="Flagged"):
        # Distinct texts: the same text from the same author within minutes is one comment.
        for i in range(n):
            c = make_comment(authors[i % 5], "D3", f"{label} {i}")
            db.session.add(CommentFlag(user_id=authors[(i + 1) % 5].id, comment_id=c.id,
                                       reason="spam"))
            c.flag_count = 1
        db.session.commit()

    seed(3, "Early flagged")
    db.session.expire_all()
    with query_counter() as small:
        client.get("/admin/moderation/")
    seed(20)
    db.session.expire_all()
    with query_counter() as large:
        html = client.get("/admin/moderation/").get_data(as_text=True)
    assert "Flagged 19" in html
    assert len(small) == len(large)
