"""Destructive actions ask on a page of their own that works without JavaScript:
hiding a comment, closing a round, deleting an account."""

from __future__ import annotations

import re

from portal.extensions import db
from portal.models import Comment, FeedbackRound
from tests.factories import make_comment, make_round


def _forms_posting_to(html: str, action: str) -> list[str]:
    return re.findall(rf'<form[^>]*action="{re.escape(action)}"[^>]*>', html)


def test_hiding_a_comment_is_confirmed_on_its_own_page(client, login, admin, member, plan):
    c = make_comment(member, "A3", "Words a moderator may hide.")
    login(admin)
    detail = client.get(f"/admin/moderation/comments/{c.id}").get_data(as_text=True)
    # The review page only links to the confirmation; it no longer hides in one click.
    assert not _forms_posting_to(detail, f"/admin/moderation/comments/{c.id}/hide")
    assert f'href="/admin/moderation/comments/{c.id}/hide"' in detail
    resp = client.get(f"/admin/moderation/comments/{c.id}/hide")
    html = resp.get_data(as_text=True)
    assert resp.status_code == 200
    assert "<h1>Hide this comment?</h1>" in html
    assert "Words a moderator may hide." in html
    assert _forms_posting_to(html, f"/admin/moderation/comments/{c.id}/hide")
    assert 'class="button danger"' in html and "data-confirm" not in html
    assert db.session.get(Comment, c.id).status == "visible"  # a GET changes nothing


def test_a_refused_hide_stays_on_the_confirmation_page_with_the_reason(client, login, admin,
                                                                      member, plan):
    c = make_comment(member, "A3", "Words.")
    login(admin)
    resp = client.post_form(f"/admin/moderation/comments/{c.id}/hide", {"reason": "x" * 501})
    html = resp.get_data(as_text=True)
    assert resp.status_code == 400
    assert "<h1>Hide this comment?</h1>" in html and "x" * 501 in html
    db.session.expire_all()
    assert db.session.get(Comment, c.id).status == "visible"


def test_hide_without_a_csrf_token_is_refused(client, login, admin, member, plan):
    c = make_comment(member, "A3", "Words.")
    login(admin)
    resp = client.post(f"/admin/moderation/comments/{c.id}/hide", data={"reason": "Rude."})
    assert resp.status_code == 400
    db.session.expire_all()
    assert db.session.get(Comment, c.id).status == "visible"


def test_closing_a_round_is_confirmed_on_its_own_page(client, login, admin):
    rnd = make_round("Spring", status="open")
    login(admin)
    index = client.get("/admin/rounds/").get_data(as_text=True)
    assert not _forms_posting_to(index, f"/admin/rounds/{rnd.id}/close")
    assert f'href="/admin/rounds/{rnd.id}/close"' in index
    resp = client.get(f"/admin/rounds/{rnd.id}/close")
    html = resp.get_data(as_text=True)
    assert resp.status_code == 200
    assert "Close the round “Spring” now?" in html
    assert _forms_posting_to(html, f"/admin/rounds/{rnd.id}/close")
    db.session.expire_all()
    assert db.session.get(FeedbackRound, rnd.id).status == "open"
    resp = client.post_form(f"/admin/rounds/{rnd.id}/close")
    assert resp.status_code == 302
    db.session.expire_all()
    assert db.session.get(FeedbackRound, rnd.id).status == "closed"
    # Once closed, the page says so and offers no button.
    html = client.get(f"/admin/rounds/{rnd.id}/close").get_data(as_text=True)
    assert "nothing to close" in html
    assert not _forms_posting_to(html, f"/admin/rounds/{rnd.id}/close")
    assert client.get("/admin/rounds/9999/close").status_code == 404


def test_members_cannot_reach_the_confirmation_pages(client, login, member, plan):
    c = make_comment(member, "A3", "Words.")
    rnd = make_round("Spring", status="open")
    login(member)
    assert client.get(f"/admin/moderation/comments/{c.id}/hide").status_code == 403
    assert client.get(f"/admin/rounds/{rnd.id}/close").status_code == 403


def test_deleting_an_account_has_its_own_page_and_a_danger_button(client, login, member):
    login(member)
    profile = client.get("/account").get_data(as_text=True)
    assert 'class="button warning" href="/account/delete"' in profile
    html = client.get("/account/delete").get_data(as_text=True)
    assert 'class="button danger">Delete my account</button>' in html


def test_closing_a_survey_is_confirmed_on_its_own_page(client, login, admin):
    from portal.models import Survey
    from tests.factories import make_survey

    survey = make_survey()
    login(admin)
    edit = client.get(f"/admin/surveys/{survey.id}").get_data(as_text=True)
    assert not _forms_posting_to(edit, f"/admin/surveys/{survey.id}/close")
    assert f'href="/admin/surveys/{survey.id}/close"' in edit
    html = client.get(f"/admin/surveys/{survey.id}/close").get_data(as_text=True)
    assert "Close the survey “Every type” now?" in html
    assert _forms_posting_to(html, f"/admin/surveys/{survey.id}/close")
    db.session.expire_all()
    assert db.session.get(Survey, survey.id).status == "open"
    assert client.post_form(f"/admin/surveys/{survey.id}/close").status_code == 302
    db.session.expire_all()
    assert db.session.get(Survey, survey.id).status == "closed"
    assert "nothing to close" in client.get(
        f"/admin/surveys/{survey.id}/close").get_data(as_text=True)


def test_deleting_a_comment_is_confirmed_on_its_own_page(client, login, member, plan):
    c = make_comment(member, "A3", "Words I may regret.")
    login(member)
    objective = client.get("/plan/objectives/A3").get_data(as_text=True)
    # The comment list links to the confirmation; it no longer deletes in one click.
    assert not _forms_posting_to(objective, f"/feedback/comments/{c.id}/delete")
    assert f'href="/feedback/comments/{c.id}/delete?next=' in objective
    assert "data-confirm" not in objective
    resp = client.get(f"/feedback/comments/{c.id}/delete",
                      query_string={"next": f"/plan/objectives/A3#comment-{c.id}"})
    html = resp.get_data(as_text=True)
    assert resp.status_code == 200
    assert "<h1>Delete your comment?</h1>" in html and "Words I may regret." in html
    assert _forms_posting_to(html, f"/feedback/comments/{c.id}/delete")
    assert 'class="button danger">Delete my comment</button>' in html
    # Cancel goes back to where the member was.
    assert f'<a href="/plan/objectives/A3#comment-{c.id}">Cancel: keep it</a>' in html
    db.session.expire_all()
    assert db.session.get(Comment, c.id).status == "visible"  # a GET changes nothing
    resp = client.post_form(f"/feedback/comments/{c.id}/delete")
    assert resp.status_code == 302 and resp.location.endswith("/plan/objectives/A3#comments")
    db.session.expire_all()
    assert db.session.get(Comment, c.id).status == "deleted"
    html = client.get(f"/feedback/comments/{c.id}/delete").get_data(as_text=True)
    assert "nothing to delete" in html
    assert not _forms_posting_to(html, f"/feedback/comments/{c.id}/delete")


def test_the_comment_confirmation_ignores_a_foreign_next(client, login, member, plan):
    c = make_comment(member, "A3", "Words.")
    login(member)
    html = client.get(f"/feedback/comments/{c.id}/delete",
                      query_string={"next": "https://evil.example/"}).get_data(as_text=True)
    assert "evil.example" not in html
    assert f'href="/feedback/comments/{c.id}#comment-{c.id}">Cancel: keep it' in html


def test_only_the_author_can_see_or_use_the_comment_confirmation(client, login, member, plan):
    from tests.factories import make_user

    c = make_comment(member, "A3", "Not yours.")
    login(make_user(email="someone@example.org"))
    resp = client.get(f"/feedback/comments/{c.id}/delete")
    assert resp.status_code == 403 and "Not yours." not in resp.get_data(as_text=True)
    assert client.post_form(f"/feedback/comments/{c.id}/delete").status_code == 403
    assert client.get("/feedback/comments/424242/delete").status_code == 404
    db.session.expire_all()
    assert db.session.get(Comment, c.id).status == "visible"


def test_deleting_a_comment_without_a_csrf_token_is_refused(client, login, member, plan):
    c = make_comment(member, "A3", "Words.")
    login(member)
    assert client.post(f"/feedback/comments/{c.id}/delete").status_code == 400
    db.session.expire_all()
    assert db.session.get(Comment, c.id).status == "visible"


def test_deleting_a_draft_survey_is_confirmed_on_its_own_page(client, login, admin):
    from portal.models import Survey
    from tests.factories import make_survey

    survey = make_survey(status="draft")
    login(admin)
    edit = client.get(f"/admin/surveys/{survey.id}").get_data(as_text=True)
    assert not _forms_posting_to(edit, f"/admin/surveys/{survey.id}/delete")
    assert f'href="/admin/surveys/{survey.id}/delete"' in edit
    resp = client.get(f"/admin/surveys/{survey.id}/delete")
    html = resp.get_data(as_text=True)
    assert resp.status_code == 200
    assert "Delete the draft survey “Every type”?" in html
    assert _forms_posting_to(html, f"/admin/surveys/{survey.id}/delete")
    assert 'class="button danger">Delete the draft</button>' in html
    assert f'<a href="/admin/surveys/{survey.id}">Cancel: keep it</a>' in html
    assert db.session.get(Survey, survey.id) is not None  # a GET changes nothing
    # Without the CSRF token nothing happens.
    assert client.post(f"/admin/surveys/{survey.id}/delete").status_code == 400
    db.session.expire_all()
    assert db.session.get(Survey, survey.id) is not None
    resp = client.post_form(f"/admin/surveys/{survey.id}/delete")
    assert resp.status_code == 302 and resp.location.endswith("/admin/surveys/")
    db.session.expire_all()
    assert db.session.get(Survey, survey.id) is None
    assert client.get(f"/admin/surveys/{survey.id}/delete").status_code == 404


def test_an_open_survey_has_no_delete_button_on_its_confirmation_page(client, login, admin,
                                                                      member):
    from portal.models import Survey
    from tests.factories import make_survey

    survey = make_survey()
    login(admin)
    html = client.get(f"/admin/surveys/{survey.id}/delete").get_data(as_text=True)
    assert "Only a draft survey without responses can be deleted" in html
    assert not _forms_posting_to(html, f"/admin/surveys/{survey.id}/delete")
    assert client.post_form(f"/admin/surveys/{survey.id}/delete").status_code == 409
    assert db.session.get(Survey, survey.id) is not None
    login(member)
    assert client.get(f"/admin/surveys/{survey.id}/delete").status_code == 403
