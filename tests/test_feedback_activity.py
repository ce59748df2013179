"""My activity: the page lists each kind and only the member's own, New markers move,
e-mail choices validate, "at once" mail and digests go through the job queue once,
suppressed members get nothing, and no anonymous survey answer ever shows."""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import urlsplit

import pytest
import sqlalchemy as sa

from portal.actions.services import ActionInput, create_action
from portal.extensions import db
from portal.feedback import notify
from portal.jobs import scheduler
from portal.models import (
    ActivityDigest,
    ActivityNotice,
    ActivityPreference,
    MailSuppression,
)
from portal.timeutil import now_utc
from portal.updates.services import publish_update
from tests import factories
from tests.test_surveys_taking import take_survey


@pytest.fixture
def other(app):
    return factories.make_user(display_name="Ola Other")


@pytest.fixture
def third(app):
    return factories.make_user(display_name="Tam Third")


def page(client) -> str:
    resp = client.get("/feedback/activity")
    assert resp.status_code == 200
    return resp.get_data(as_text=True)


def mails_to(user):
    return [m for m in factories.mail_outbox() if m.to == user.email]


def reply_by(author, parent, body):
    return factories.make_comment(author, parent.objective.code, body, parent=parent)


def test_lists_each_kind_and_only_mine(client, login, plan, member, other, third, leader):
    rnd = factories.make_round(closes_at=now_utc() + timedelta(days=3), name="Spring round")
    mine = factories.make_comment(member, "A1", "My view on A1.")
    theirs = factories.make_comment(other, "C1", "Their view on C1.")
    reply_by(other, mine, "A reply meant for the member.")
    reply_by(third, theirs, "A reply meant for someone else.")
    factories.make_update(leader, "A1", doing="Work on A1.")
    factories.make_update(leader, "C1", doing="Work on C1.")  # not an objective of mine
    create_action(leader, factories.objective("A1"), ActionInput(
        title="Open a help desk", due_on=now_utc().date() + timedelta(days=30), published=True))
    create_action(leader, factories.objective("A1"), ActionInput(
        title="Internal only", due_on=now_utc().date() + timedelta(days=30)))
    db.session.commit()
    factories.make_survey(title="Pulse check")
    login(member)
    html = page(client)
    assert "Ola Other replied to your comment on A1" in html
    assert "A reply meant for the member." in html
    assert "A reply meant for someone else." not in html
    assert "Leadership update on A1" in html and "Leadership update on C1" not in html
    assert "Open a help desk" in html and "Internal only" not in html
    assert "Survey waiting for you: Pulse check" in html
    assert f"Feedback round closing soon: {rnd.name}" in html
    assert "<h1>My activity</h1>" in html and '<ol class="activity-list">' in html


def test_new_markers_move_when_marked_as_read(client, login, plan, member, other):
    mine = factories.make_comment(member, "A1", "Mine.")
    reply_by(other, mine, "First reply.")
    login(member)
    home = client.get("/").get_data(as_text=True)
    assert 'My activity <span class="badge">1 new</span>' in home
    first = page(client)
    assert "1 new item since you last marked them as read." in first
    assert '<strong class="badge">New</strong>' in first
    resp = client.post_form("/feedback/activity/seen")
    assert resp.status_code == 302 and resp.location.endswith("/feedback/activity")
    again = page(client)
    assert "Nothing new since you last marked them as read." in again
    assert '<strong class="badge">New</strong>' not in again
    assert 'badge">1 new' not in client.get("/").get_data(as_text=True)
    # Something new arrives: only it is New.
    reply_by(other, mine, "Second reply.")
    assert 'My activity <span class="badge">1 new</span>' in client.get("/").get_data(as_text=True)
    html = page(client)
    assert html.count('<strong class="badge">New</strong>') == 1
    assert html.index("Second reply.") < html.index("First reply.")  # newest first
    assert db.session.get(ActivityPreference, member.id).last_seen_at is not None


def test_mark_all_needs_the_csrf_token(app, client, login, member):
    app.config["WTF_CSRF_ENABLED"] = True
    login(member)
    assert client.post("/feedback/activity/seen").status_code == 400
    assert db.session.get(ActivityPreference, member.id) is None


def test_page_needs_sign_in(client):
    resp = client.get("/feedback/activity")
    assert resp.status_code in (302, 401)


CHOICES = {"replies": "instant", "updates": "daily", "surveys": "weekly", "rounds": "none",
           "all_mail": "on"}


def test_preferences_save_and_show(client, login, member):
    login(member)
    form = client.get("/feedback/activity/preferences").get_data(as_text=True)
    assert "<legend>Replies to my comments</legend>" in form
    resp = client.post_form("/feedback/activity/preferences", CHOICES)
    assert resp.status_code == 302
    pref = db.session.get(ActivityPreference, member.id)
    assert (pref.replies, pref.updates, pref.surveys, pref.rounds) == (
        "instant", "daily", "weekly", "none")


@pytest.mark.parametrize("field,value", [("updates", "hourly"), ("rounds", None),
                                         ("all_mail", "maybe")])
def test_bad_preference_is_400_with_a_message_and_changes_nothing(client, login, member,
                                                                   field, value):
    login(member)
    data = {**CHOICES, "all_mail": "off"}
    if value is None:
        data.pop(field)
    else:
        data[field] = value
    resp = client.post_form("/feedback/activity/preferences", data)
    assert resp.status_code == 400
    html = resp.get_data(as_text=True)
    assert "There is a problem" in html and "Choose" in html
    assert f'id="{field}-error"' in html
    assert db.session.get(ActivityPreference, member.id) is None
    assert db.session.get(MailSuppression, member.email) is None


def test_all_mail_off_writes_the_campaigns_suppression(client, login, member):
    login(member)
    client.post_form("/feedback/activity/preferences", {**CHOICES, "all_mail": "off"})
    assert db.session.get(MailSuppression, member.email).unsubscribed_at is not None
    client.post_form("/feedback/activity/preferences", CHOICES)
    assert db.session.get(MailSuppression, member.email).unsubscribed_at is None


def test_a_reply_mails_its_author_at_once_through_the_queue(client, login, plan, member, other):
    mine = factories.make_comment(member, "A1", "Mine.")
    login(other)
    resp = client.post_form("/feedback/objectives/A1/comments",
                            {"body": "Here is my answer.", "parent_id": mine.id})
    assert resp.status_code == 302
    sent = mails_to(member)
    assert len(sent) == 1
    assert sent[0].subject == "Ola Other replied to your comment on A1"
    assert "Here is my answer." in sent[0].body and "/feedback/activity/preferences" in sent[0].body
    assert mails_to(other) == []
    notices = db.session.scalars(sa.select(ActivityNotice)).all()
    assert [(n.user_id, n.item.split(":")[0]) for n in notices] == [(member.id, "reply")]
    # The job again (a retry after a crash) sends nothing more.
    reply = mine.replies[-1] if mine.replies else None
    db.session.refresh(mine)
    reply = mine.replies[-1]
    notify._notify({"item": f"reply:{reply.id}"})
    db.session.commit()
    assert len(mails_to(member)) == 1


def test_no_at_once_mail_for_other_choices_or_suppressed(plan, member, other, third):
    db.session.add(ActivityPreference(user_id=member.id, replies="daily", updates="weekly",
                                      surveys="weekly", rounds="weekly"))
    db.session.add(MailSuppression(email=third.email, hard_bounces=0, unsubscribed_at=now_utc()))
    db.session.commit()
    reply_by(other, factories.make_comment(member, "A1", "Mine."), "To a daily member.")
    reply_by(other, factories.make_comment(third, "A1", "Third's."), "To an unsubscribed one.")
    assert mails_to(member) == [] and mails_to(third) == []


def test_an_update_mails_members_who_rated_or_commented(plan, member, other, third, leader):
    rnd = factories.make_round()
    factories.make_rating(member, factories.objective("B1"), rnd, 4, 3)
    factories.make_comment(other, "B1", "Other's comment.")
    for user in (member, other):
        db.session.add(ActivityPreference(user_id=user.id, replies="instant",
                                          updates="instant", surveys="none", rounds="none"))
    db.session.commit()
    publish_update(leader, factories.objective("B1"), "in_progress", 50, "Heard.", "Doing.")
    db.session.commit()
    assert [m.subject for m in mails_to(member)] == ["Leadership update on B1"]
    assert len(mails_to(other)) == 1 and mails_to(third) == []


def test_daily_digest_gathers_several_events_into_one_mail_once(plan, member, other, leader):
    db.session.add(ActivityPreference(user_id=member.id, replies="daily", updates="daily",
                                      surveys="daily", rounds="none"))
    db.session.commit()
    mine = factories.make_comment(member, "A1", "Mine.")
    reply_by(other, mine, "Reply one.")
    reply_by(other, mine, "Reply two.")
    factories.make_update(leader, "A1", doing="Doing things.")
    factories.make_survey(title="Daily pulse")
    assert mails_to(member) == []  # nothing at once
    now = now_utc()
    assert notify.send_digests("daily", now) == 1
    sent = mails_to(member)
    assert len(sent) == 1
    body = sent[0].body
    assert sent[0].subject == "Daily digest: 4 new items for you"
    assert "Reply one." in body and "Reply two." in body
    assert "Leadership update on A1" in body and "Survey waiting for you: Daily pulse" in body
    # A second run, or the scheduler's tick, in the same day sends nothing more. "Later
    # the same day" stays before midnight UTC, whenever the suite runs.
    midnight = now.replace(hour=23, minute=59, second=59, microsecond=999999)
    later = min(now + timedelta(hours=1), midnight)
    assert later >= now and notify.period_key("daily", later) == notify.period_key("daily", now)
    assert notify.send_digests("daily", later) == 0
    assert len(mails_to(member)) == 1
    rows = db.session.scalars(sa.select(ActivityDigest).where(
        ActivityDigest.user_id == member.id)).all()
    assert [(r.period, r.items) for r in rows] == [("daily", 4)]
    # The next day lists only what is newer than that digest.
    reply_by(other, mine, "Reply three.")
    assert notify.send_digests("daily", now_utc() + timedelta(days=1)) == 1
    latest = mails_to(member)[-1]
    assert "Reply three." in latest.body and "Reply one." not in latest.body


def test_scheduler_sends_due_digests_once(app, plan, member, other):
    app.config["ACTIVITY_DIGESTS"] = True
    db.session.add(ActivityPreference(user_id=member.id, replies="weekly", updates="none",
                                      surveys="none", rounds="none"))
    db.session.commit()
    reply_by(other, factories.make_comment(member, "A1", "Mine."), "Weekly reply.")
    scheduler.tick()
    scheduler.tick()
    assert [m.subject for m in mails_to(member)] == ["Weekly digest: 1 new item for you"]


def test_suppressed_and_unsubscribed_members_get_no_digest(plan, member, other, third):
    db.session.add(MailSuppression(email=member.email, hard_bounces=3, suppressed_at=now_utc()))
    db.session.add(MailSuppression(email=third.email, hard_bounces=0, unsubscribed_at=now_utc()))
    for user in (member, third):
        db.session.add(ActivityPreference(user_id=user.id, replies="daily", updates="daily",
                                          surveys="daily", rounds="daily"))
    db.session.commit()
    reply_by(other, factories.make_comment(member, "A1", "Mine."), "R1")
    reply_by(other, factories.make_comment(third, "A2", "Third's."), "R2")
    factories.make_survey()
    notify.send_digests("daily")
    notify.send_digests("weekly")
    assert mails_to(member) == [] and mails_to(third) == []
    # The member who wrote the replies has the defaults (surveys weekly) and is reachable.
    assert [m.subject for m in mails_to(other)] == ["Weekly digest: 1 new item for you"]


def test_anonymous_survey_answer_never_appears(client, login, plan, member):
    db.session.add(ActivityPreference(user_id=member.id, replies="daily", updates="daily",
                                      surveys="daily", rounds="daily"))
    db.session.commit()
    survey = factories.make_survey(title="Anonymous pulse", anonymous=True)
    login(member)
    assert "Survey waiting for you: Anonymous pulse" in page(client)
    assert take_survey(client, survey).status_code == 200  # the thank-you page
    html = page(client)
    # Submitted: the survey leaves the list (participation rows only), and nothing the
    # member answered is written anywhere on the page or in a digest.
    assert "Anonymous pulse" not in html
    notify.send_digests("daily", now_utc() + timedelta(minutes=1))
    texts = [html] + [m.body for m in factories.mail_outbox()]
    for answer in ("Librarian", "Lead a team."):
        assert not any(answer in text for text in texts)


def test_surveys_and_rounds_at_once_from_the_scheduler(app, client, login, plan, member,
                                                       other, third):
    app.config["ACTIVITY_DIGESTS"] = True
    for user in (member, other, third):
        db.session.add(ActivityPreference(user_id=user.id, replies="none", updates="none",
                                          surveys="instant", rounds="instant"))
    db.session.commit()
    rnd = factories.make_round(name="Closing round", closes_at=now_utc() + timedelta(days=2))
    survey = factories.make_survey(title="Instant pulse", anonymous=True)
    login(third)
    take_survey(client, survey)  # third has taken part: no mail about it
    scheduler.tick()
    scheduler.tick()
    for user in (member, other):
        assert sorted(m.subject for m in mails_to(user)) == [
            f"Feedback round closing soon: {rnd.name}", "Survey waiting for you: Instant pulse"]
    assert [m.subject for m in mails_to(third)] == [f"Feedback round closing soon: {rnd.name}"]
    assert not any("Lead a team." in m.body for m in factories.mail_outbox())


def test_download_my_data_holds_my_activity_choices(client, login, member):
    login(member)
    client.post_form("/feedback/activity/preferences", CHOICES)
    data = client.get("/account/data").get_json()
    assert data["activity"]["email_choices"] == {
        "replies": "instant", "updates": "daily", "surveys": "weekly", "rounds": "none"}


def test_digests_go_out_in_batches_across_ticks(plan, member, other, monkeypatch):
    monkeypatch.setattr(notify, "DIGEST_BATCH", 1)
    for user in (member, other):
        db.session.add(ActivityPreference(user_id=user.id, replies="none", updates="none",
                                          surveys="daily", rounds="none"))
    db.session.commit()
    factories.make_survey(title="Batched pulse")
    now = now_utc()
    assert notify.send_digests("daily", now) == 1
    assert notify.send_digests("daily", now) == 1
    assert notify.send_digests("daily", now) == 0
    assert len(mails_to(member)) == 1 and len(mails_to(other)) == 1


def _unsubscribe_path(mail) -> str:
    headers = dict(mail.headers)
    assert headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    url = headers["List-Unsubscribe"].strip("<>")
    assert url in mail.body  # the same link in the text, for readers without the button
    return urlsplit(url).path


def test_activity_mail_has_one_click_unsubscribe_that_stops_the_next_digest(client, plan,
                                                                          member, other):
    db.session.add(ActivityPreference(user_id=member.id, replies="daily", updates="none",
                                      surveys="none", rounds="none"))
    db.session.commit()
    mine = factories.make_comment(member, "A1", "Mine.")
    reply_by(other, mine, "First reply.")
    notify.send_digests("daily")
    (mail,) = mails_to(member)
    path = _unsubscribe_path(mail)
    assert path.startswith("/feedback/activity/unsubscribe/")
    assert "/feedback/activity/preferences" in mail.body  # the finer choices, too
    # A GET only shows the button; RFC 8058's POST, with no session and no CSRF token,
    # unsubscribes.
    page_html = client.get(path).get_data(as_text=True)
    assert "Unsubscribe from portal e-mail" in page_html
    assert db.session.get(MailSuppression, member.email) is None
    resp = client.post(path, data={"List-Unsubscribe": "One-Click"})
    assert resp.status_code == 200 and "You are unsubscribed" in resp.get_data(as_text=True)
    row = db.session.get(MailSuppression, member.email)
    assert row is not None and row.unsubscribed_at is not None
    # The next day's digest does not go out.
    reply_by(other, mine, "Second reply.")
    assert notify.send_digests("daily", now_utc() + timedelta(days=1)) == 0
    assert len(mails_to(member)) == 1


def test_a_forged_unsubscribe_token_changes_nothing(client, plan, member):
    token = notify.unsubscribe_token(member.id)
    forged = token[:-2] + ("AA" if not token.endswith("AA") else "BB")
    for path in (f"/feedback/activity/unsubscribe/{forged}",
                 "/feedback/activity/unsubscribe/not-a-token"):
        assert client.get(path).status_code == 404
        resp = client.post(path, data={"List-Unsubscribe": "One-Click"})
        assert resp.status_code == 404
        assert "This unsubscribe link does not work" in resp.get_data(as_text=True)
    assert db.session.get(MailSuppression, member.email) is None
    assert notify.unsubscriber(token).id == member.id


def test_the_page_counts_what_the_menu_counts_and_marks_waiting_surveys_to_do(
        client, login, plan, member, other, leader):
    mine = factories.make_comment(member, "A1", "Mine.")
    reply_by(other, mine, "A reply.")
    factories.make_update(leader, "A1", doing="Doing things.")
    factories.make_survey(title="Pulse check")
    login(member)
    html = page(client)
    assert '<span class="badge">2 new</span>' in html           # the menu: news only
    assert "2 new items since you last marked them as read." in html
    assert "1 survey or round is waiting for you" in html
    assert html.count('<strong class="badge">New</strong>') == 2
    assert html.count('<strong class="badge badge-task">To do</strong>') == 1
    client.post_form("/feedback/activity/seen")
    html = page(client)
    assert "Nothing new since you last marked them as read." in html
    assert html.count('<strong class="badge badge-task">To do</strong>') == 1  # still waiting
