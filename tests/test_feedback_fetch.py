"""Endorsing and flagging from the comment script (issue 18, point 9): the same routes
answer JSON when the request asks for it, and the form's redirect when it does not."""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa

from portal.extensions import db
from portal.models import Comment, CommentFlag, Endorsement
from tests.factories import make_comment, make_user

JSON = {"Accept": "application/json"}


def _endorsements(comment_id: int) -> tuple[int, int]:
    """(rows in endorsements, the comment's stored count)."""
    db.session.expire_all()
    rows = db.session.scalar(sa.select(sa.func.count()).select_from(Endorsement)
                             .where(Endorsement.comment_id == comment_id))
    return rows, db.session.get(Comment, comment_id).endorsement_count


@pytest.fixture
def other(app):
    return make_user(email="other@example.org", display_name="Otto Other")


def test_endorse_answers_json_with_the_new_state(client, login, plan, member, other):
    c = make_comment(other, "D2", "Endorse me by script.")
    for _ in range(3):
        login(make_user())
        client.post_form(f"/feedback/comments/{c.id}/endorse")
    login(member)
    resp = client.post_form(f"/feedback/comments/{c.id}/endorse", headers=JSON)
    assert resp.status_code == 200 and resp.is_json
    assert resp.get_json() == {
        "endorsed": True, "count": 4, "count_text": "4 endorsements",
        "label": "Withdraw endorsement", "action": f"/feedback/comments/{c.id}/unendorse",
        "message": "Endorsed. 4 members endorse this.",
    }
    assert _endorsements(c.id) == (4, 4)
    resp = client.post_form(f"/feedback/comments/{c.id}/unendorse", headers=JSON)
    assert resp.status_code == 200
    body = resp.get_json()
    assert body["endorsed"] is False and body["count"] == 3
    assert body["label"] == "Endorse" and body["action"] == f"/feedback/comments/{c.id}/endorse"
    assert body["message"] == "Endorsement withdrawn. 3 members endorse this."
    assert _endorsements(c.id) == (3, 3)
    # No flash message waits for the next page: the script has said it already.
    assert "You withdrew your endorsement." not in client.get("/plan/objectives/D2").get_data(
        as_text=True)


def test_the_sentence_counts_one_and_none(client, login, plan, member, other):
    c = make_comment(other, "D2", "Alone.")
    login(member)
    body = client.post_form(f"/feedback/comments/{c.id}/endorse", headers=JSON).get_json()
    assert (body["message"], body["count_text"]) == ("Endorsed. 1 member endorses this.",
                                                     "1 endorsement")
    body = client.post_form(f"/feedback/comments/{c.id}/unendorse", headers=JSON).get_json()
    assert (body["message"], body["count_text"]) == (
        "Endorsement withdrawn. No members endorse this.", "0 endorsements")


def test_a_refused_endorsement_answers_json_with_the_reason_and_the_state(
        client, login, plan, member, other):
    c = make_comment(other, "D2", "Endorsed in another tab.")
    mine = make_comment(member, "D2", "My own.")
    login(member)
    client.post_form(f"/feedback/comments/{c.id}/endorse")
    resp = client.post_form(f"/feedback/comments/{c.id}/endorse", headers=JSON)
    assert resp.status_code == 409 and resp.is_json
    body = resp.get_json()
    # The page catches up: the button becomes "Withdraw endorsement".
    assert body["endorsed"] is True and body["label"] == "Withdraw endorsement"
    assert body["message"] == "You have already endorsed this comment. 1 member endorses this."
    resp = client.post_form(f"/feedback/comments/{mine.id}/endorse", headers=JSON)
    assert resp.status_code == 400 and resp.is_json
    assert resp.get_json()["message"].startswith("You cannot endorse your own comment.")
    assert _endorsements(c.id) == (1, 1) and _endorsements(mine.id) == (0, 0)
    resp = client.post_form(f"/feedback/comments/{c.id}/unendorse", headers=JSON)
    resp = client.post_form(f"/feedback/comments/{c.id}/unendorse", headers=JSON)
    assert resp.status_code == 409 and resp.get_json()["endorsed"] is False
    assert _endorsements(c.id) == (0, 0)


def test_the_form_post_still_redirects_back_to_the_comment(client, login, plan, member, other):
    c = make_comment(other, "D2", "Endorse me by form.")
    login(member)
    browser = {"Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"}
    resp = client.post_form(f"/feedback/comments/{c.id}/endorse",
                            {"next": f"/plan/objectives/D2#comment-{c.id}"}, headers=browser)
    assert resp.status_code == 302
    assert resp.location.endswith(f"/plan/objectives/D2#comment-{c.id}")
    assert _endorsements(c.id) == (1, 1)
    html = client.get("/plan/objectives/D2").get_data(as_text=True)
    assert "You endorsed this comment." in html
    assert f'action="/feedback/comments/{c.id}/unendorse" class="inline-form" data-endorse' \
        in html
    # A refused form post is the error page, as before.
    resp = client.post_form(f"/feedback/comments/{c.id}/endorse", headers=browser)
    assert resp.status_code == 409 and not resp.is_json


def test_without_the_csrf_token_nothing_is_endorsed(client, login, plan, member, other):
    c = make_comment(other, "D2", "Forged.")
    login(member)
    for headers in (JSON, {"Accept": "application/json", "X-CSRFToken": "not-the-token"}):
        resp = client.post(f"/feedback/comments/{c.id}/endorse", headers=headers)
        assert resp.status_code == 400
    assert _endorsements(c.id) == (0, 0)


def test_the_token_in_the_header_is_enough(client, login, plan, member, other):
    c = make_comment(other, "D2", "Header token.")
    login(member)
    resp = client.post(f"/feedback/comments/{c.id}/endorse",
                       headers={**JSON, "X-CSRFToken": client.csrf_token()})
    assert resp.status_code == 200 and resp.get_json()["endorsed"] is True
    assert _endorsements(c.id) == (1, 1)


def test_signed_out_the_script_gets_the_sign_in_redirect(client, plan, other):
    c = make_comment(other, "D2", "Signed out.")
    resp = client.post_form(f"/feedback/comments/{c.id}/endorse", headers=JSON)
    assert resp.status_code == 302 and "/auth/login" in resp.location
    assert _endorsements(c.id) == (0, 0)


def _flags(comment_id: int) -> int:
    db.session.expire_all()
    return db.session.scalar(sa.select(sa.func.count()).select_from(CommentFlag)
                             .where(CommentFlag.comment_id == comment_id))


def test_the_flag_form_comes_as_a_fragment_to_open_under_the_comment(client, login, plan,
                                                                     member, other):
    c = make_comment(other, "B3", "Flag me in place.")
    login(member)
    resp = client.get(f"/feedback/comments/{c.id}/flag", headers=JSON)
    assert resp.status_code == 200 and resp.is_json
    html = resp.get_json()["html"]
    assert "<legend>Why are you flagging this comment?" in html
    assert f'action="/feedback/comments/{c.id}/flag"' in html and 'name="csrf_token"' in html
    assert "<html" not in html and "<h1" not in html  # the form only, not the page
    # The objective page marks the link for the script, and still links to the page.
    page = client.get("/plan/objectives/B3").get_data(as_text=True)
    assert f'href="/feedback/comments/{c.id}/flag" data-flag-link' in page
    assert "/static/js/comments.js" in page


def test_a_flag_sent_by_the_script_answers_json(client, login, plan, member, other):
    c = make_comment(other, "B3", "Spam, spam, spam.")
    login(member)
    resp = client.post_form(f"/feedback/comments/{c.id}/flag", {"reason": "spam"},
                            headers=JSON)
    assert resp.status_code == 200
    assert resp.get_json() == {"message": "Thank you. The moderators will look at this comment.",
                               "hidden": False}
    assert _flags(c.id) == 1
    flag = db.session.scalar(sa.select(CommentFlag))
    assert (flag.reason, flag.user_id) == ("spam", member.id)
    assert "The moderators will look" not in client.get("/plan/objectives/B3").get_data(
        as_text=True)  # no flash left over for the next page


@pytest.mark.parametrize("app_config", [{"FLAGS_TO_HIDE": 1}])
def test_the_answer_says_when_the_flag_hid_the_comment(client, login, plan, member, other,
                                                       app_config):
    c = make_comment(other, "B3", "Hidden by one flag.")
    login(member)
    body = client.post_form(f"/feedback/comments/{c.id}/flag", {"reason": "abusive"},
                            headers=JSON).get_json()
    assert body["hidden"] is True and body["message"].endswith("It is hidden until they have.")


def test_a_refused_flag_answers_the_form_again_with_errors_and_what_was_typed(
        client, login, plan, member, other):
    c = make_comment(other, "B3", "Hmm.")
    login(member)
    resp = client.post_form(f"/feedback/comments/{c.id}/flag",
                            {"reason": "other", "note": "x" * 501}, headers=JSON)
    assert resp.status_code == 400 and resp.is_json
    body = resp.get_json()
    assert body["errors"] and 'id="error-summary"' in body["html"]
    assert "x" * 501 in body["html"]
    assert re.search(r'<input checked id="reason-\d" name="reason" required type="radio" '
                     r'value="other">', body["html"])
    assert _flags(c.id) == 0
    client.post_form(f"/feedback/comments/{c.id}/flag", {"reason": "spam"}, headers=JSON)
    resp = client.post_form(f"/feedback/comments/{c.id}/flag", {"reason": "abusive"},
                            headers=JSON)
    assert resp.status_code == 409
    assert "You have already flagged this comment." in resp.get_json()["html"]
    assert _flags(c.id) == 1


def test_a_flag_without_the_csrf_token_is_refused(client, login, plan, member, other):
    c = make_comment(other, "B3", "Forged flag.")
    login(member)
    resp = client.post(f"/feedback/comments/{c.id}/flag", data={"reason": "spam"},
                       headers=JSON)
    assert resp.status_code == 400 and _flags(c.id) == 0
