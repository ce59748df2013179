"""Issue 18, member copy and small faults: visible character limits that never cut a
text, messages that name their field, the thank-you page on reload, the unverified
member's page, used verification links, every registration problem at once, plurals
and a steady survey section count."""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa
from flask_wtf import FlaskForm
from wtforms import RadioField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length

from portal.extensions import db
from portal.forms import PortalForm, choice_list
from portal.models import Comment, SurveyDraft, SurveyParticipation, User
from portal.numfmt import plural
from tests import factories
from tests.factories import link_path, mail_outbox, make_comment, make_user
from tests.test_surveys_taking import SECTION_1, SECTION_2, SECTION_3, post_section, take_survey

LONG = ("Lorem ipsum dolor sit amet, consectetur adipiscing elit. " * 130)[:7000]


def _count(model) -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(model))


# Character limits ------------------------------------------------------------------

def test_the_comment_box_states_its_limit_and_has_no_browser_maxlength(client, login, plan,
                                                                       member):
    login(member)
    html = client.get("/plan/objectives/A1").get_data(as_text=True)
    box = re.search(r"<textarea[^>]*name=\"body\"[^>]*>", html).group(0)
    assert "maxlength=" not in box.replace("data-maxlength", "")
    assert 'data-maxlength="5000"' in box
    assert 'aria-describedby="body-hint body-limit"' in box
    assert '<p class="hint char-limit" id="body-limit">You can enter up to 5,000 characters.</p>' \
        in html


def test_an_overlong_comment_is_refused_named_and_kept_whole(client, login, plan, member):
    login(member)
    resp = client.post_form("/feedback/objectives/A1/comments", {"body": LONG})
    html = resp.get_data(as_text=True)
    assert resp.status_code == 400
    message = ("Your comment must be 5,000 characters or fewer. It has 7,000 now: "
               "shorten it by 2,000 characters.")
    assert html.count(message) == 2  # in the error summary and next to the field
    assert LONG in html  # every character typed comes back, nothing cut
    assert _count(Comment) == 0


def test_an_overlong_edit_is_refused_and_the_comment_is_not_cut(client, login, plan, member):
    c = make_comment(member, "A1", "Short and sweet.")
    login(member)
    resp = client.post_form(f"/feedback/comments/{c.id}/edit", {"body": LONG})
    html = resp.get_data(as_text=True)
    assert resp.status_code == 400
    assert "Your comment must be 5,000 characters or fewer" in html and LONG in html
    db.session.expire_all()
    assert db.session.get(Comment, c.id).body == "Short and sweet."


def test_survey_text_answers_state_the_limit_and_keep_an_overlong_text(client, login,
                                                                       member):
    survey = factories.make_survey()
    login(member)
    client.post_form(f"/surveys/{survey.id}/start")
    for n, data in enumerate((SECTION_1, SECTION_2, SECTION_3), start=1):
        assert post_section(client, survey.id, n, data).status_code == 302
    page = client.get(f"/surveys/{survey.id}/sections/4").get_data(as_text=True)
    assert " maxlength=" not in page
    assert "You can enter up to 20 characters." in page and 'data-maxlength="20"' in page
    assert 'aria-describedby="q-q9-limit"' in page
    resp = post_section(client, survey.id, 4, {"q-q9": "Head of digital services"})
    html = resp.get_data(as_text=True)
    assert resp.status_code == 422
    assert "Your answer must be 20 characters or fewer. It has 24 now" in html
    assert 'value="Head of digital services"' in html
    db.session.expire_all()
    assert "q9" not in db.session.scalar(sa.select(SurveyDraft)).answers


# Messages that name their field ------------------------------------------------------

class _Sample(PortalForm):
    title = StringField("Title", validators=[DataRequired(), Length(max=10)])
    comment = TextAreaField("Your comment", validators=[DataRequired()])
    region = RadioField("Region", choices=choice_list([("n", "North")]),
                        validators=[DataRequired()])


def test_generic_messages_are_rewritten_to_name_the_field(app):
    with app.test_request_context(method="POST", data={"title": "x" * 12, "region": "z"}):
        form = _Sample(meta={"csrf": False})
        assert not form.validate()
        assert form.title.errors == [
            "Title must be 10 characters or fewer. It has 12 now: shorten it by 2 characters."]
        assert form.comment.errors == ["Enter your comment."]
        assert form.region.errors == ["Select one of the options listed for the region."]
    with app.test_request_context(method="POST", data={}):
        form = _Sample(meta={"csrf": False})
        form.validate()
        assert form.title.errors == ["Enter the title."]
        assert form.region.errors == ["Select the region."]
    assert issubclass(_Sample, FlaskForm)


def test_the_error_summary_shows_the_message_without_a_label_prefix(client, login, plan,
                                                                     member, leader):
    c = make_comment(leader, "A1", "A comment to flag.")
    login(member)
    resp = client.post_form(f"/feedback/comments/{c.id}/flag", {"reason": ""})
    html = resp.get_data(as_text=True)
    assert resp.status_code == 400
    assert "?: " not in html
    assert ">Choose why you are flagging this comment.</a></li>" in html


# The thank-you page on reload -----------------------------------------------------

def test_reloading_the_thank_you_page_thanks_again_and_stores_nothing(client, login, member):
    survey = factories.make_survey()
    login(member)
    first = take_survey(client, survey)
    assert first.status_code == 200 and "Lead a team." in first.get_data(as_text=True)
    again = client.post_form(f"/surveys/{survey.id}/submit")
    html = again.get_data(as_text=True)
    assert again.status_code == 200
    assert "Thank you: your answers are received" in html and "already submitted" in html
    assert "Lead a team." not in html  # anonymous answers are never shown twice
    assert _count(SurveyParticipation) == 1


def test_reloading_an_attributed_thank_you_page_shows_the_stored_answers(client, login,
                                                                        member):
    survey = factories.make_survey(anonymous=False)
    login(member)
    assert take_survey(client, survey).status_code == 200
    again = client.post_form(f"/surveys/{survey.id}/submit")
    assert again.status_code == 200 and "Lead a team." in again.get_data(as_text=True)
    assert _count(SurveyParticipation) == 1


def test_a_reloaded_submit_still_needs_its_csrf_token(client, login, member):
    survey = factories.make_survey()
    login(member)
    take_survey(client, survey)
    assert client.post(f"/surveys/{survey.id}/submit").status_code == 400


# Unverified members ---------------------------------------------------------------

@pytest.fixture
def unverified(app):
    return make_user(verified=False, email="new@example.org")


def test_an_unverified_member_gets_a_clear_page_with_a_new_link(client, login, unverified):
    login(unverified)
    resp = client.get("/surveys/")
    html = resp.get_data(as_text=True)
    assert resp.status_code == 403
    assert "<h1>Verify your e-mail address first</h1>" in html
    assert "new@example.org" in html and "Access denied" not in html
    assert re.search(r'<form method="post" action="/auth/verify/resend">\s*'
                     r'<input type="hidden" name="csrf_token"', html)
    assert "Send the link again" in html
    before = len(mail_outbox())
    resp = client.post_form("/auth/verify/resend")
    assert resp.status_code == 302
    assert len(mail_outbox()) == before + 1 and mail_outbox()[-1].to == "new@example.org"
    # Without its token the form is refused and nothing is sent.
    assert client.post("/auth/verify/resend").status_code == 400
    assert len(mail_outbox()) == before + 1


def test_an_unverified_member_is_not_offered_the_next_objective(client, login, plan,
                                                                unverified):
    factories.make_round("Open now", status="open")
    login(unverified)
    html = client.get("/plan/objectives/A1").get_data(as_text=True)
    assert "Rate the next objective" not in html
    assert "Send the link again" in html


# Verification links ---------------------------------------------------------------

def _register(client, **fields):
    data = {"email": "fresh@example.org", "display_name": "Fresh Member",
            "password": "a long and good password", **fields}
    return client.post_form("/auth/register", data)


def test_a_used_verification_link_says_so_and_offers_no_button(client):
    _register(client)
    path = link_path(mail_outbox()[-1], "/auth/verify/")
    assert "Confirm my address" in client.get(path).get_data(as_text=True)
    assert client.post_form(path).status_code == 302
    resp = client.get(path)
    html = resp.get_data(as_text=True)
    assert resp.status_code == 200
    assert "This link has already been used" in html and "is verified" in html
    assert "Confirm my address" not in html and 'href="/auth/login"' in html
    again = client.post_form(path)
    assert again.status_code == 400 and "Confirm my address" not in again.get_data(as_text=True)


def test_a_replaced_or_unknown_verification_link_gives_the_next_step(client, login):
    _register(client)
    old = link_path(mail_outbox()[-1], "/auth/verify/")
    user = db.session.scalar(sa.select(User).where(User.email == "fresh@example.org"))
    login(user, password="a long and good password")
    assert client.post_form("/auth/verify/resend").status_code == 302
    resp = client.get(old)
    html = resp.get_data(as_text=True)
    assert resp.status_code == 400
    assert "This link no longer works" in html and "newer verification link" in html
    assert "Confirm my address" not in html and "Send the link again" in html
    resp = client.get("/auth/verify/not-a-real-token")
    assert resp.status_code == 404 and "not valid" in resp.get_data(as_text=True)


# Registration ---------------------------------------------------------------------

def test_registration_shows_every_problem_at_once(client):
    resp = _register(client, email="not an address", display_name="", password="short")
    html = resp.get_data(as_text=True)
    assert resp.status_code == 400
    for message in ("Enter an e-mail address like name@example.org.",
                    "Enter the name other members will see.",
                    "Your password must be at least 12 characters long."):
        assert html.count(message) == 2, message  # summary and field
    assert _count(User) == 0


def test_registration_checks_the_password_against_the_address_with_the_rest(client):
    resp = _register(client, email="margaret@example.org", display_name="",
                     password="margaret's own password")
    html = resp.get_data(as_text=True)
    assert resp.status_code == 400
    assert "Enter the name other members will see." in html
    assert "Your password must not contain your e-mail address." in html


# Plurals and counts ---------------------------------------------------------------

def test_plural():
    assert plural(1, "problem") == "1 problem"
    assert plural(0, "problem") == "0 problems"
    assert plural(1200, "address", "addresses") == "1,200 addresses"


def test_the_admin_home_counts_people_in_the_right_number(client, login, admin, leader):
    login(admin)
    html = " ".join(client.get("/admin").get_data(as_text=True).split())
    assert "1 leader," in html and "1 admin." in html and "1 leaders" not in html


def test_the_section_count_does_not_grow_when_a_section_is_revealed(client, login, member):
    survey = factories.make_survey()
    login(member)
    client.post_form(f"/surveys/{survey.id}/start")
    assert "Section 1 of 4" in client.get(
        f"/surveys/{survey.id}/sections/1").get_data(as_text=True)
    post_section(client, survey.id, 1, SECTION_1)  # reveals "At work"
    assert "Section 2 of 4" in client.get(
        f"/surveys/{survey.id}/sections/2").get_data(as_text=True)


def test_the_section_count_drops_once_when_a_section_is_ruled_out(client, login, member):
    survey = factories.make_survey()
    login(member)
    client.post_form(f"/surveys/{survey.id}/start")
    post_section(client, survey.id, 1, {"q-q1": "no"})
    page = client.get(f"/surveys/{survey.id}/sections/2").get_data(as_text=True)
    assert "Section 2 of 3" in page


def test_the_domain_error_summary_says_which_scale(client, login, plan, member):
    from portal.models import Objective

    factories.make_round("Open now", status="open")
    login(member)
    e2 = db.session.scalar(sa.select(Objective.id).where(Objective.code == "E2"))
    resp = client.post_form("/feedback/domains/E/ratings", {f"performance_{e2}": "77"})
    html = resp.get_data(as_text=True)
    assert resp.status_code == 400
    assert ">E2, performance: Choose one of the answers on the scale.</a></li>" in html


def test_an_unverified_member_can_ask_for_a_link_on_the_pages_that_need_one(client, login,
                                                                           plan, unverified):
    login(unverified)
    # No round open: the comment section offers the link.
    html = client.get("/plan/objectives/A1").get_data(as_text=True)
    assert html.count("Send the link again") == 1
    factories.make_round("Open now", status="open")
    html = client.get("/plan/domains/B").get_data(as_text=True)
    assert "Send the link again" in html and "You have rated" not in html


def test_line_breaks_count_once_against_the_limit(client, login, plan, member):
    login(member)
    body = ("line\r\n" * 1000)[:-2]  # 4,999 characters once each break counts as one
    resp = client.post_form("/feedback/objectives/A1/comments", {"body": body})
    assert resp.status_code == 302
    assert db.session.scalar(sa.select(Comment.body)) == body.replace("\r\n", "\n")
