"""Invitation campaigns: the admin form and its bad input, personal links, reminders only
to those who have not taken part (read from participation records alone), unsubscribes,
bounces, status pages and sending twice at once."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
import sqlalchemy as sa

from portal.campaigns import links, texts, waves
from portal.extensions import db
from portal.models import (
    Campaign,
    CampaignMessage,
    CampaignRecipient,
    Invitation,
    Job,
    MailSuppression,
    SurveyParticipation,
    User,
)
from portal.timeutil import now_utc
from tests import factories
from tests.factories import (
    link_path,
    mail_outbox,
    make_rating,
    make_roster_entry,
    make_round,
    make_survey,
    make_user,
)
from tests.smtp_sink import SmtpSink

FMT = "%Y-%m-%dT%H:%M"


@pytest.fixture
def survey(app):
    return make_survey(anonymous=True)


@pytest.fixture
def roster(app):
    """Twelve roster addresses: eight students, four mid-career; the first three have
    accounts."""
    entries = []
    for i in range(12):
        stage = "student" if i < 8 else "mid"
        entries.append(make_roster_entry(f"r{i}@example.org", career_stage=stage))
    for i in range(3):
        make_user(email=f"r{i}@example.org", display_name=f"Reader {i}", career_stage="student")
    return entries


@pytest.fixture
def as_admin(client, login, admin):
    login(admin)
    return client


def _form(survey, **overrides) -> dict:
    now = now_utc()
    data = {"survey_id": str(survey.id) if survey else "0", "name": "Spring invitation",
            "audience_kind": "roster",
            "subject": "Your views on {survey}",
            "body": "Hello {name}, please answer: {link} (open until {closes})",
            "reminder_subject": "Reminder: {survey}",
            "reminder_body": "Hello {name}, still time: {link}",
            "send_at": "", "reminder_count": "2", "reminder_days": "3",
            "stop_at": (now + timedelta(days=30)).strftime(FMT), "action": "create"}
    data.update(overrides)
    return data


def _campaign() -> Campaign:
    return db.session.scalars(sa.select(Campaign)).one()


def _statuses(campaign_id: int, wave: int) -> dict[str, str]:
    db.session.expire_all()
    rows = db.session.execute(
        sa.select(CampaignRecipient.email, CampaignMessage.status)
        .join(CampaignMessage, CampaignMessage.recipient_id == CampaignRecipient.id)
        .where(CampaignMessage.campaign_id == campaign_id, CampaignMessage.wave == wave)).all()
    return dict(rows)


def test_an_admin_invites_the_roster_and_each_address_gets_one_personal_link(
        as_admin, survey, roster):
    resp = as_admin.post_form("/admin/campaigns/new", _form(survey))
    assert resp.status_code == 302, resp.get_data(as_text=True)[:3000]
    campaign = _campaign()
    invitations = [m for m in mail_outbox() if m.subject == f"Your views on {survey.title}"]
    assert sorted(m.to for m in invitations) == sorted(e.email for e in roster)
    assert set(_statuses(campaign.id, 0).values()) == {"sent"}
    tokens = set()
    for message in invitations:
        path = link_path(message, "/campaigns/i/")
        token = path.rsplit("/", 1)[1]
        tokens.add(token)
        # The link holds no personal data: nothing of the address is in it.
        assert message.to.split("@")[0] not in token and "example" not in token
        headers = dict(message.headers)
        assert headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
        assert headers["List-Unsubscribe"].startswith("<http") and "/campaigns/unsubscribe/" \
            in headers["List-Unsubscribe"]
        assert "/campaigns/preferences/" in message.body
    assert len(tokens) == len(roster)
    # Only the hash of each token is stored.
    stored = set(db.session.scalars(sa.select(CampaignRecipient.token_hash)))
    assert stored == {links.digest(t) for t in tokens} and not stored & tokens
    # The first reminder waits for its time, the scheduler's job (not a page) starts it.
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Job).where(
        Job.task == "campaign.wave", Job.status == "queued")) == 1


@pytest.mark.parametrize(("change", "field_message"), [
    ({"aud_career_stage": "retired"}, "This audience has no addresses"),
    ({"reminder_count": "5", "reminder_days": "7"}, "after the stop date"),
    ({"body": "Hello {nmae}: {link}"}, "Unknown placeholder {nmae}"),
    ({"body": "Hello {name}, no link"}, "must contain {link}"),
    ({"subject": "Oops {"}, "A brace is not closed"),
    ({"send_at": (now_utc() - timedelta(days=1)).strftime(FMT)}, "The send time is in the past"),
    ({"stop_at": ""}, "Choose a stop date"),
    ({"reminder_count": "-1"}, "between 0 and 10"),
    ({"survey_id": "0"}, "Choose the survey"),
])
def test_bad_campaigns_get_a_clear_error_and_nothing_is_queued(
        as_admin, survey, roster, change, field_message):
    resp = as_admin.post_form("/admin/campaigns/new", _form(survey, **change))
    html = resp.get_data(as_text=True)
    assert resp.status_code == 400 and field_message in html, html[:3000]
    assert 'class="field-error"' in html and "There is a problem" in html
    # What was typed is still there.
    assert "Spring invitation" in html
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Campaign)) == 0
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Job)) == 0
    assert mail_outbox() == []


def test_a_closed_survey_cannot_be_chosen(as_admin, roster):
    closed = make_survey(status="closed")
    resp = as_admin.post_form("/admin/campaigns/new", _form(closed))
    assert resp.status_code == 400
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Job)) == 0
    # The service says why when asked directly.
    from portal.campaigns import services

    data = services.CampaignInput(name="x", survey_id=closed.id, audience_kind="roster",
                                  stop_at=now_utc() + timedelta(days=3))
    with pytest.raises(services.CampaignInvalid) as err:
        services.validate(data)
    assert "is closed" in err.value.problems["survey_id"]


def test_preview_and_test_send_go_to_the_admin_only(as_admin, survey, roster, admin):
    resp = as_admin.post_form("/admin/campaigns/new", _form(survey, action="preview"))
    html = resp.get_data(as_text=True)
    assert resp.status_code == 200 and f"Hello {admin.display_name}, please answer:" in html
    assert "EXAMPLE-PERSONAL-LINK" in html and mail_outbox() == []
    resp = as_admin.post_form("/admin/campaigns/new", _form(survey, action="test"))
    assert resp.status_code == 200
    assert [m.to for m in mail_outbox()] == [admin.email]
    assert mail_outbox()[0].subject.startswith("[Test] ")
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Campaign)) == 0


def _create(as_admin, survey, **overrides) -> Campaign:
    resp = as_admin.post_form("/admin/campaigns/new", _form(survey, **overrides))
    assert resp.status_code == 302, resp.get_data(as_text=True)[:3000]
    return _campaign()


def _link_for(email: str) -> str:
    return link_path([m for m in mail_outbox() if m.to == email][-1], "/campaigns/i/")


def test_a_member_follows_the_link_once_and_it_leads_to_the_survey(
        app, client, login, as_admin, survey, roster):
    _create(as_admin, survey)
    path = _link_for("r0@example.org")
    member = db.session.scalar(sa.select(User).where(User.email == "r0@example.org"))
    login(member)
    page = client.get(path)
    assert page.status_code == 200 and "Continue to the survey" in page.get_data(as_text=True)
    assert client.post(path).status_code == 400  # no CSRF token: nothing used up
    resp = client.post_form(path)
    assert resp.status_code == 302 and resp.headers["Location"].endswith(f"/surveys/{survey.id}")
    again = client.post_form(path)
    assert again.status_code == 410 and "already been used" in again.get_data(as_text=True)
    forged = client.get("/campaigns/i/not-a-real-token")
    assert forged.status_code == 404 and "sign in" in forged.get_data(as_text=True)


def test_signed_out_the_link_asks_for_sign_in_and_another_account_is_refused(
        client, login, as_admin, survey, roster, member):
    _create(as_admin, survey)
    path = _link_for("r1@example.org")
    client.post_form("/auth/logout")
    resp = client.post_form(path)
    assert resp.status_code == 302 and "/auth/login" in resp.headers["Location"]
    login(member)
    resp = client.post_form(path)
    assert resp.status_code == 403 and "another member" in resp.get_data(as_text=True)


def test_a_roster_address_without_an_account_registers_with_its_address_confirmed(
        client, as_admin, survey, roster):
    _create(as_admin, survey)
    path = _link_for("r5@example.org")
    client.post_form("/auth/logout")
    resp = client.post_form(path)
    assert resp.status_code == 302 and "/auth/register?invite=" in resp.headers["Location"]
    page = client.get(resp.headers["Location"]).get_data(as_text=True)
    assert "r5@example.org" in page
    invitation = db.session.scalars(sa.select(Invitation)).one()
    assert invitation.email == "r5@example.org"


def test_an_expired_or_stopped_campaign_link_says_so(client, as_admin, survey, roster):
    campaign = _create(as_admin, survey, reminder_count="1")
    path = _link_for("r2@example.org")
    resp = as_admin.post_form(f"/admin/campaigns/{campaign.id}/stop")
    assert resp.status_code == 302
    page = client.get(path)
    assert page.status_code == 410 and "expired" in page.get_data(as_text=True)


def _take_part(email: str, survey) -> None:
    user = db.session.scalar(sa.select(User).where(User.email == email))
    db.session.add(SurveyParticipation(survey_id=survey.id, user_id=user.id))
    db.session.commit()


RESPONSE_TABLES = ("survey_responses", "survey_answers", "survey_pool", "survey_drafts",
                   "survey_attributions", "survey_answer_counts", "survey_question_counts")


def test_reminders_go_only_to_those_who_have_not_taken_part_and_never_read_a_response(
        app, as_admin, survey, roster):
    campaign = _create(as_admin, survey)
    _take_part("r0@example.org", survey)
    # r3 registers later and takes part: found by address.
    make_user(email="r3@example.org")
    _take_part("r3@example.org", survey)
    mail_outbox().clear()
    statements: list[str] = []

    def spy(conn, cursor, statement, *args):
        statements.append(statement.lower())

    sa.event.listen(db.engine, "before_cursor_execute", spy)
    try:
        later = now_utc() + timedelta(days=3, minutes=1)
        assert waves.start_wave(campaign.id, 1, now=later) == "started"
        db.session.commit()
    finally:
        sa.event.remove(db.engine, "before_cursor_execute", spy)
    reminded = sorted(m.to for m in mail_outbox() if m.subject.startswith("Reminder:"))
    assert reminded == sorted(f"r{i}@example.org" for i in range(12) if i not in (0, 3))
    assert statements and any("survey_participations" in s for s in statements)
    for table in RESPONSE_TABLES:
        assert not any(table in s for s in statements), table
    # A reminder starts once: again at the same time, or later, does nothing.
    assert waves.start_wave(campaign.id, 1, now=later) == "already started"
    # Too early for the second reminder.
    assert waves.start_wave(campaign.id, 2, now=later) == "not due"


def test_one_click_unsubscribe_takes_effect_before_the_next_send(
        app, client, as_admin, survey, roster):
    campaign = _create(as_admin, survey)
    message = [m for m in mail_outbox() if m.to == "r4@example.org"][0]
    url = dict(message.headers)["List-Unsubscribe"].strip("<>")
    client.post_form("/auth/logout")
    client.cookie_jar.clear() if hasattr(client, "cookie_jar") else None
    # RFC 8058: a POST with this body, no cookie, no CSRF token.
    resp = app.test_client().post(url.split("127.0.0.1:5000", 1)[-1],
                                  data={"List-Unsubscribe": "One-Click"})
    assert resp.status_code == 200 and "unsubscribed" in resp.get_data(as_text=True)
    assert db.session.get(MailSuppression, "r4@example.org").unsubscribed_at is not None
    mail_outbox().clear()
    waves.start_wave(campaign.id, 1, now=now_utc() + timedelta(days=3, minutes=1))
    db.session.commit()
    assert "r4@example.org" not in [m.to for m in mail_outbox()]
    assert _statuses(campaign.id, 1)["r4@example.org"] == "opted_out"
    # The preferences page turns invitations back on; account mail was never affected.
    token = url.rsplit("/", 1)[1]
    resp = client.post_form(f"/campaigns/preferences/{token}", {"campaigns": "on"})
    assert resp.status_code == 302
    db.session.expire_all()
    assert db.session.get(MailSuppression, "r4@example.org").unsubscribed_at is None
    bad = client.post_form(f"/campaigns/preferences/{token}", {"campaigns": "maybe"})
    assert bad.status_code == 400


def test_smtp_statuses_bounces_and_deferral_are_recorded_per_recipient(
        app, as_admin, survey):
    for email in ("ok1@example.org", "bounce-me@example.org", "ok2@example.org"):
        make_roster_entry(email)
    sink = SmtpSink().start()
    app.config.update(MAIL_BACKEND="smtp", MAIL_SERVER="127.0.0.1", MAIL_PORT=sink.port,
                      CAMPAIGN_HARD_BOUNCE_LIMIT=1)
    try:
        campaign = _create(as_admin, survey, reminder_count="1")
    finally:
        sink.stop()
    statuses = _statuses(campaign.id, 0)
    assert statuses == {"ok1@example.org": "sent", "bounce-me@example.org": "bounced",
                        "ok2@example.org": "sent"}
    assert sorted(sink.recipients()) == ["ok1@example.org", "ok2@example.org"]
    assert db.session.get(MailSuppression, "bounce-me@example.org").suppressed_at is not None
    # The server is down for the reminder: deferred, nothing lost.
    waves.start_wave(campaign.id, 1, now=now_utc() + timedelta(days=3, minutes=1))
    db.session.commit()
    assert set(_statuses(campaign.id, 1).values()) == {"deferred"}
    assert "bounce-me@example.org" not in _statuses(campaign.id, 1)
    sink = SmtpSink(sink.port).start()
    try:
        db.session.execute(sa.update(CampaignMessage).values(next_attempt_at=now_utc()))
        db.session.execute(sa.update(Job).where(Job.task == "campaign.send")
                           .values(run_at=now_utc()))
        db.session.commit()
        from portal.jobs import outbox

        outbox.sweep()
    finally:
        sink.stop()
    assert set(_statuses(campaign.id, 1).values()) == {"sent"}
    assert sorted(sink.recipients()) == ["ok1@example.org", "ok2@example.org"]


def test_the_same_wave_started_twice_at_once_sends_once(app, survey, roster, admin):
    from portal.campaigns import services

    app.config["JOBS_IMMEDIATE"] = True
    campaign = services.create_campaign(admin, services.CampaignInput(
        name="Race", survey_id=survey.id, audience_kind="roster",
        send_at=now_utc() + timedelta(hours=1), stop_at=now_utc() + timedelta(days=9)))
    db.session.commit()
    campaign_id = campaign.id
    later = now_utc() + timedelta(hours=1, minutes=1)
    barrier = threading.Barrier(2)
    results = []

    def start():
        with app.app_context():
            barrier.wait()
            results.append(waves.start_wave(campaign_id, 0, now=later))
            db.session.commit()

    threads = [threading.Thread(target=start) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results) == ["already started", "started"]
    assert sorted(m.to for m in mail_outbox()) == sorted(e.email for e in roster)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(CampaignMessage)) == 12


def test_status_page_counts_pass_the_privacy_threshold_for_anonymous_surveys(
        app, as_admin, survey, roster):
    app.config["PRIVACY_MIN_N"] = 5
    campaign = _create(as_admin, survey)
    for i in range(3):
        _take_part(f"r{i}@example.org", survey)
    waves.start_wave(campaign.id, 1, now=now_utc() + timedelta(days=3, minutes=1))
    db.session.commit()
    html = as_admin.get(f"/admin/campaigns/{campaign.id}").get_data(as_text=True)
    assert "Reminder 1" in html
    # Three took part: fewer than the threshold, so neither the wave's "took part"
    # nor the per-recipient list says who.
    assert "Took part</th>" in html and "Latest reminder" not in html
    assert "Not yet reportable" in html and "more response" not in html
    for i in range(3):
        assert f"r{i}@example.org</th><td>Sent</td><td></td>" in html.replace("\n", "").replace(
            "      ", "")


def test_an_attributed_survey_shows_the_shortfall_and_each_recipient(
        app, as_admin, roster):
    app.config["PRIVACY_MIN_N"] = 5
    survey = make_survey(anonymous=False)
    campaign = _create(as_admin, survey)
    _take_part("r0@example.org", survey)
    html = as_admin.get(f"/admin/campaigns/{campaign.id}").get_data(as_text=True)
    assert "4 more responses before their results can be shown" in html
    assert "Latest reminder" in html


def test_the_sending_rate_holds(app, as_admin, survey, roster):
    import time

    app.config["MAIL_RATE_PER_SECOND"] = 5
    started = time.monotonic()
    _create(as_admin, survey, reminder_count="0")
    elapsed = time.monotonic() - started
    assert len(mail_outbox()) == 12
    # 12 messages at 5 per (fixed) second need at least two window changes.
    assert elapsed >= 1.0


def test_account_mail_reaches_an_unsubscribed_address(client, member):
    """Transactional mail is separate from campaigns: an unsubscribe never stops it."""
    db.session.add(MailSuppression(email=member.email, unsubscribed_at=now_utc(),
                                   hard_bounces=5, suppressed_at=now_utc()))
    db.session.commit()
    resp = client.post_form("/auth/forgot", {"email": member.email})
    assert resp.status_code == 302
    assert [m.to for m in mail_outbox() if "Reset your password" in m.subject] == [member.email]


def test_a_segment_short_of_reportable_can_be_reminded_on_its_own(app, as_admin, survey,
                                                                  roster):
    app.config["PRIVACY_MIN_N"] = 5
    campaign = _create(as_admin, survey)
    html = as_admin.get(f"/admin/campaigns/{campaign.id}").get_data(as_text=True)
    # Nobody has taken part: every segment value present is short, and each offers its
    # own reminder; the link names its segment for screen readers.
    assert html.count("Remind this segment") >= 2
    link = f"/admin/campaigns/new?survey={survey.id}&amp;remind=career_stage:student"
    assert link in html
    assert "Remind this segment<span class=\"visually-hidden\">: Career stage, " in html
    page = as_admin.get(link.replace("&amp;", "&"))
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert "A reminder to one segment: Career stage," in text
    assert '<option selected value="student">' in text
    assert f'value="{texts.DEFAULT_REMINDER_SUBJECT}"' in text
    # The admin sends it as it stands: its audience is that segment alone.
    resp = as_admin.post_form("/admin/campaigns/new", _form(
        survey, name="Reminder to students", aud_career_stage="student",
        subject=texts.DEFAULT_REMINDER_SUBJECT, body=texts.DEFAULT_REMINDER_BODY))
    assert resp.status_code == 302
    second = db.session.scalars(sa.select(Campaign).where(Campaign.id != campaign.id)).one()
    assert second.audience_segments == {"career_stage": ["student"]}


def test_reminding_an_unknown_segment_is_a_404(as_admin, survey):
    for remind in ("nonsense:student", "career_stage:nonsense", "career_stage"):
        resp = as_admin.get(f"/admin/campaigns/new?survey={survey.id}&remind={remind}")
        assert resp.status_code == 404, remind


# Campaigns that invite to a feedback round ------------------------------------------


@pytest.fixture
def rnd(app, plan):
    return make_round("Spring 2027 round", closes_at=now_utc() + timedelta(days=40))


def _round_form(rnd, **overrides) -> dict:
    data = _form(None, survey_id="0", round_id=str(rnd.id), subject="Rate the plan: {survey}",
                 body="Hello {name}, rate here: {link} (open until {closes})",
                 reminder_body="Hello {name}, still time to rate: {link}")
    data.update(overrides)
    return data


def test_an_admin_invites_the_roster_to_a_round_and_the_link_leads_to_the_plan(
        client, login, as_admin, rnd, roster):
    page = as_admin.get(f"/admin/campaigns/new?round={rnd.id}").get_data(as_text=True)
    assert f'<option selected value="{rnd.id}">Spring 2027 round</option>' in page
    assert "The feedback round \u201c{survey}\u201d is open" in page  # the round's own text
    resp = as_admin.post_form("/admin/campaigns/new", _round_form(rnd))
    assert resp.status_code == 302, resp.get_data(as_text=True)[:3000]
    campaign = db.session.scalars(sa.select(Campaign)).one()
    assert campaign.round_id == rnd.id and campaign.survey_id is None
    invitations = [m for m in mail_outbox() if m.subject == "Rate the plan: Spring 2027 round"]
    assert sorted(m.to for m in invitations) == sorted(e.email for e in roster)
    assert texts.closes_label(rnd.closes_at) in invitations[0].body
    listed = as_admin.get("/admin/campaigns").get_data(as_text=True)
    assert "Spring 2027 round (feedback round)" in listed
    path = _link_for("r0@example.org")
    member = db.session.scalar(sa.select(User).where(User.email == "r0@example.org"))
    login(member)
    shown = client.get(path).get_data(as_text=True)
    assert "Your invitation: Spring 2027 round" in shown and "Continue to the plan" in shown
    resp = client.post_form(path)
    assert resp.status_code == 302 and resp.headers["Location"].endswith("/")



def test_round_reminders_go_only_to_those_who_have_not_rated_in_the_round(
        app, as_admin, rnd, roster):
    app.config["PRIVACY_MIN_N"] = 2
    as_admin.post_form("/admin/campaigns/new", _round_form(rnd, reminder_count="1"))
    campaign = db.session.scalars(sa.select(Campaign)).one()
    rated = db.session.scalar(sa.select(User).where(User.email == "r1@example.org"))
    make_rating(rated, factories.objective("A1"), rnd, 4, 3)
    # A rating in another round is not taking part in this one.
    other = make_round("Old round", status="closed", opens_at=now_utc() - timedelta(days=90),
                       closes_at=now_utc() - timedelta(days=60))
    make_rating(db.session.scalar(sa.select(User).where(User.email == "r2@example.org")),
                factories.objective("A1"), other, 5, 5)
    before = len(mail_outbox())
    assert waves.start_wave(campaign.id, 1, now=now_utc() + timedelta(days=3, minutes=1)) \
        == "started"
    db.session.commit()
    reminded = sorted(m.to for m in mail_outbox()[before:])
    assert "r1@example.org" not in reminded and "r2@example.org" in reminded
    assert len(reminded) == len(roster) - 1
    wave_rows = db.session.execute(
        sa.select(CampaignRecipient.email).join(
            CampaignMessage, CampaignMessage.recipient_id == CampaignRecipient.id)
        .where(CampaignMessage.wave == 1)).scalars().all()
    assert sorted(wave_rows) == reminded
    # Who rated is private: the page lists invitations only, no "Took part" per person.
    html = as_admin.get(f"/admin/campaigns/{campaign.id}").get_data(as_text=True)
    assert "Latest reminder" not in html and "feedback round: counts of fewer than 2" in html


@pytest.mark.parametrize(("change", "field_message"), [
    ({"survey_id": "0", "round_id": "0"}, "Choose the survey or the feedback round"),
    ({"stop_at": "LATE"}, "The feedback round closes on"),
])
def test_a_wrong_round_campaign_gets_a_form_error_and_queues_nothing(
        as_admin, rnd, roster, change, field_message):
    if change.get("stop_at") == "LATE":
        change = {"stop_at": (rnd.closes_at + timedelta(days=1)).strftime(FMT)}
    resp = as_admin.post_form("/admin/campaigns/new", _round_form(rnd, **change))
    assert resp.status_code == 400
    assert field_message in resp.get_data(as_text=True)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Campaign)) == 0
    assert mail_outbox() == []


def test_a_survey_and_a_round_together_or_a_round_not_open_are_refused(as_admin, plan, roster):
    survey = factories.make_survey()
    open_round = make_round("Open round")
    resp = as_admin.post_form("/admin/campaigns/new", _form(survey, round_id=str(open_round.id)))
    assert resp.status_code == 400 and "not both" in resp.get_data(as_text=True)
    for status, message in (("draft", "is not open yet"), ("closed", "is closed")):
        target = make_round(f"A {status} round", status=status)
        # Neither is offered in the list; a forged choice is refused by the service too.
        from portal.campaigns import services

        with pytest.raises(services.CampaignInvalid) as err:
            services.validate(services.CampaignInput(
                name="x", survey_id=None, round_id=target.id, audience_kind="roster",
                stop_at=now_utc() + timedelta(days=5)))
        assert message in err.value.problems["round_id"]
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Campaign)) == 0


def test_the_rounds_page_offers_an_invitation_to_the_open_round(as_admin, rnd):
    html = as_admin.get("/admin/rounds/").get_data(as_text=True)
    assert f'href="/admin/campaigns/new?round={rnd.id}"' in html
    assert "Invite members<span class=\"visually-hidden\"> to Spring 2027 round</span>" in html
