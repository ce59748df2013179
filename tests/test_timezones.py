"""Each person's time zone: the filters (both sides of each clock change, unknown zones),
the choice on My account and at registration, admin date-time fields read in the
editor's zone and stored as UTC, pages and e-mails in the reader's zone."""

from __future__ import annotations

import re
import zoneinfo
from datetime import UTC, datetime, time, timedelta

import pytest
import sqlalchemy as sa
from werkzeug.datastructures import MultiDict

from portal import timezones
from portal.extensions import db
from portal.feedback import notify
from portal.forms import PortalForm, ZonedDateTimeField
from portal.models import ActivityPreference, Campaign, FeedbackRound, User
from portal.templating import format_date, format_datetime
from portal.timeutil import now_utc
from tests import factories

NY = "America/New_York"


def _local(value: datetime, name: str) -> datetime:
    """The expected wall clock, computed apart from the code under test."""
    return value.replace(tzinfo=UTC).astimezone(zoneinfo.ZoneInfo(name))


# Filters ----------------------------------------------------------------------------

@pytest.mark.parametrize(("utc", "shown"), [
    # Spring forward in New York, 8 March 2026 at 02:00 EST (07:00 UTC).
    (datetime(2026, 3, 8, 6, 59), "8 March 2026, 01:59 EST"),
    (datetime(2026, 3, 8, 7, 0), "8 March 2026, 03:00 EDT"),
    # Fall back, 1 November 2026 at 02:00 EDT (06:00 UTC): 01:30 happens twice.
    (datetime(2026, 11, 1, 5, 30), "1 November 2026, 01:30 EDT"),
    (datetime(2026, 11, 1, 6, 30), "1 November 2026, 01:30 EST"),
    (datetime(2026, 12, 3, 19, 0), "3 December 2026, 14:00 EST"),
])
def test_datetime_filter_follows_daylight_saving_time_on_both_sides(utc, shown):
    assert format_datetime(utc, name=NY) == shown


def test_zones_without_letters_show_their_offset_and_utc_stays_utc():
    assert format_datetime(datetime(2026, 6, 1, 12, 0), name="Asia/Kathmandu") == \
        "1 June 2026, 17:45 UTC+5:45"
    assert format_datetime(datetime(2026, 6, 1, 12, 0), name="America/Sao_Paulo") == \
        "1 June 2026, 09:00 UTC\u22123"
    assert format_datetime(datetime(2026, 6, 1, 12, 0), name="UTC") == "1 June 2026, 12:00 UTC"
    assert format_datetime(None) == ""


@pytest.mark.parametrize("name", ["Not/AZone", "", None, "../../etc/passwd", "x" * 500])
def test_an_unknown_zone_is_shown_as_utc(name):
    assert format_datetime(datetime(2026, 6, 1, 12, 0), name=name) == "1 June 2026, 12:00 UTC"
    assert timezones.normalise(name) == "UTC" and not timezones.is_valid(name)


def test_a_zone_that_cannot_be_loaded_falls_back_to_utc(monkeypatch):
    def broken(name):
        raise zoneinfo.ZoneInfoNotFoundError(name)

    timezones._load.cache_clear()
    monkeypatch.setattr(timezones.zoneinfo, "ZoneInfo", broken)
    try:
        assert format_datetime(datetime(2026, 6, 1, 12, 0), name="Europe/Paris") == \
            "1 June 2026, 12:00 UTC"
    finally:
        monkeypatch.undo()
        timezones._load.cache_clear()
    assert format_datetime(datetime(2026, 6, 1, 12, 0), name="Europe/Paris") == \
        "1 June 2026, 14:00 CEST"


def test_date_filter_takes_the_day_in_the_zone_and_leaves_plain_dates_alone():
    late = datetime(2026, 12, 3, 3, 0)  # still 2 December in Chicago
    assert format_date(late, name="America/Chicago") == "2 December 2026"
    assert format_date(late, name="Asia/Tokyo") == "3 December 2026"
    assert format_date(late.date(), name="America/Chicago") == "3 December 2026"


def test_typed_times_convert_to_utc_and_a_skipped_time_is_recognised():
    assert timezones.to_utc(datetime(2026, 1, 15, 9, 0), NY) == datetime(2026, 1, 15, 14, 0)
    assert timezones.to_utc(datetime(2026, 7, 1, 9, 0), NY) == datetime(2026, 7, 1, 13, 0)
    # The repeated hour is its first occurrence (still daylight time).
    assert timezones.to_utc(datetime(2026, 11, 1, 1, 30), NY) == datetime(2026, 11, 1, 5, 30)
    assert not timezones.exists(datetime(2026, 3, 8, 2, 30), NY)
    assert timezones.exists(datetime(2026, 3, 8, 3, 30), NY)


def test_the_zone_choices_are_grouped_and_every_one_loads():
    choices = timezones.choices()
    assert choices[0][0] == "UTC"
    assert ("America/Chicago", "Chicago", "America") in choices
    assert ("America/Argentina/Buenos_Aires", "Argentina / Buenos Aires", "America") in choices
    assert all(timezones.is_valid(value) for value, _, _ in choices)
    assert not any(value.startswith(("US/", "Etc/")) for value, _, _ in choices)


class _NewYorkForm(PortalForm):
    class Meta:
        csrf = False

    at = ZonedDateTimeField("At ({zone})", format=["%Y-%m-%dT%H:%M"], zone=NY)


class _EditorForm(PortalForm):
    class Meta:
        csrf = False

    at = ZonedDateTimeField("At ({zone})", format=["%Y-%m-%dT%H:%M"])


def test_the_zoned_field_reads_in_the_zone_stores_utc_and_shows_back(app):
    with app.test_request_context():
        form = _NewYorkForm(MultiDict({"at": "2026-07-01T09:00"}))
        assert form.at.label.text == "At (America/New_York)"
        assert form.validate() and form.at.data == datetime(2026, 7, 1, 13, 0)
        assert _NewYorkForm(data={"at": datetime(2026, 1, 15, 14, 0)}).at._value() == \
            "2026-01-15T09:00"
        gap = _NewYorkForm(MultiDict({"at": "2026-03-08T02:30"}))
        assert not gap.validate() and "does not exist" in gap.at.errors[0]
        assert gap.at._value() == "2026-03-08T02:30"
        # Nobody signed in: the editor's zone is UTC.
        assert _EditorForm().at.label.text == "At (UTC)"


# My account and registration ----------------------------------------------------------

def test_account_page_offers_grouped_zones_with_the_current_one_selected(client, member,
                                                                         login):
    member.time_zone = "America/Chicago"
    db.session.commit()
    login(member)
    html = client.get("/account").get_data(as_text=True)
    assert '<label for="time_zone">Time zone</label>' in html
    assert '<optgroup label="America">' in html
    assert re.search(r'<option selected value="America/Chicago">Chicago</option>', html)
    assert 'class="field time-zone-field' in html
    assert "<script>" not in html


def test_account_saves_a_valid_zone(client, member, login):
    login(member)
    resp = client.post_form("/account", {"display_name": member.display_name,
                                         "time_zone": "Asia/Kolkata"})
    assert resp.status_code == 302
    db.session.expire_all()
    assert db.session.get(User, member.id).time_zone == "Asia/Kolkata"
    # The member's own data download says which zone they chose; its times stay UTC.
    data = client.get("/account/data").get_json()
    assert data["profile"]["time_zone"] == "Asia/Kolkata"
    assert data["profile"]["created_at"].endswith("Z")


@pytest.mark.parametrize("bad", ["Mars/Olympus_Mons", "", "UTC; DROP TABLE users", "x" * 300])
def test_account_refuses_an_unknown_zone_and_keeps_what_was_typed(client, member, login, bad):
    login(member)
    resp = client.post_form("/account", {"display_name": "Typed New Name", "time_zone": bad,
                                         "region": "west"})
    assert resp.status_code == 400
    html = resp.get_data(as_text=True)
    assert "Choose your time zone from the list." in html
    assert 'value="Typed New Name"' in html
    assert 'aria-describedby="time_zone-hint time_zone-error"' in html
    db.session.expire_all()
    user = db.session.get(User, member.id)
    assert (user.time_zone, user.display_name) == ("UTC", member.display_name)


def test_registration_keeps_the_browsers_zone_or_starts_in_utc(client):
    page = client.get("/auth/register").get_data(as_text=True)
    assert re.search(r'<input data-time-zone-guess="" id="time_zone" name="time_zone" '
                     r'type="hidden" value="">', page)
    for email, guess, stored in (("a@example.org", "America/Chicago", "America/Chicago"),
                                 ("b@example.org", "Nowhere/Special", "UTC"),
                                 ("c@example.org", None, "UTC")):
        data = {"email": email, "display_name": "New", "password": "plum orchard at midnight"}
        if guess is not None:
            data["time_zone"] = guess
        assert client.post_form("/auth/register", data).status_code == 302
        user = db.session.scalar(sa.select(User).where(User.email == email))
        assert user.time_zone == stored


# Admin date-time fields -----------------------------------------------------------------

def test_a_round_typed_in_new_york_is_stored_in_utc_and_shown_back_there(client, login,
                                                                        admin):
    admin.time_zone = NY
    db.session.commit()
    login(admin)
    page = client.get("/admin/rounds/").get_data(as_text=True)
    assert "Opens at (America/New_York)" in page and "Times are in your time zone, " \
        "America/New_York" in page
    resp = client.post_form("/admin/rounds/", {
        "name": "Across the change", "opens_at": "2099-01-15T09:00",
        "closes_at": "2099-07-01T09:00"})
    assert resp.status_code == 302
    rnd = db.session.scalar(sa.select(FeedbackRound))
    # 09:00 EST is 14:00 UTC; 09:00 EDT is 13:00 UTC.
    assert (rnd.opens_at, rnd.closes_at) == (datetime(2099, 1, 15, 14, 0),
                                             datetime(2099, 7, 1, 13, 0))
    page = client.get("/admin/rounds/").get_data(as_text=True)
    assert "15 January 2099, 09:00 EST" in page and "1 July 2099, 09:00 EDT" in page


def test_a_time_skipped_by_the_clock_change_is_refused_with_nothing_lost(client, login,
                                                                       admin):
    admin.time_zone = NY
    db.session.commit()
    login(admin)
    resp = client.post_form("/admin/rounds/", {
        "name": "Spring gap", "opens_at": "2027-03-14T02:30", "closes_at": "2099-07-01T09:00"})
    assert resp.status_code == 400
    html = resp.get_data(as_text=True)
    assert "14 March 2027, 02:30 does not exist in America/New_York" in html
    assert 'value="Spring gap"' in html and 'value="2027-03-14T02:30"' in html
    assert db.session.scalar(sa.select(sa.func.count()).select_from(FeedbackRound)) == 0


def test_a_campaign_stop_date_typed_in_tokyo_is_stored_in_utc(client, login, admin):
    survey = factories.make_survey(anonymous=True)
    factories.make_roster_entry("tokyo@example.org")
    admin.time_zone = "Asia/Tokyo"
    db.session.commit()
    login(admin)
    stop = (now_utc() + timedelta(days=20)).replace(hour=8, minute=0, second=0, microsecond=0)
    typed = _local(stop, "Asia/Tokyo").strftime("%Y-%m-%dT%H:%M")
    resp = client.post_form("/admin/campaigns/new", {
        "survey_id": str(survey.id), "name": "Tokyo", "audience_kind": "roster",
        "subject": "Views on {survey}", "body": "Hello {name}: {link}",
        "reminder_subject": "", "reminder_body": "", "send_at": "", "reminder_count": "0",
        "reminder_days": "3", "stop_at": typed, "action": "create"})
    assert resp.status_code == 302, resp.get_data(as_text=True)[:2000]
    campaign = db.session.scalar(sa.select(Campaign))
    assert campaign.stop_at == stop
    page = client.get(resp.location).get_data(as_text=True)
    assert _local(stop, "Asia/Tokyo").strftime("%-d %B %Y, %H:%M JST") in page
    # The flash after scheduling names the send time in the admin's zone too.
    sent = _local(campaign.send_at, "Asia/Tokyo").strftime("%-d %B %Y, %H:%M JST")
    assert f"the invitation goes out on {sent}." in page


# Pages and e-mails in the reader's zone ---------------------------------------------------

def test_a_page_shows_the_round_closing_in_the_members_zone(client, login, plan, member):
    factories.make_round(closes_at=datetime(2099, 1, 15, 20, 0))
    member.time_zone = "Asia/Tokyo"
    db.session.commit()
    login(member)
    html = client.get("/plan/objectives/A1").get_data(as_text=True)
    assert "open until 16 January 2099, 05:00 JST" in html


def test_an_admin_sees_the_members_zone_with_times_in_their_own(client, login, admin,
                                                                 member):
    member.time_zone = "Australia/Sydney"
    admin.time_zone = "Europe/London"
    db.session.commit()
    login(admin)
    html = client.get(f"/admin/users/{member.id}").get_data(as_text=True)
    assert "<dt>Time zone</dt><dd>Australia/Sydney" in html
    registered = _local(member.created_at, "Europe/London")
    assert f"{registered:%-d %B %Y, %H:%M} {registered.tzname()}" in html


def test_a_stored_zone_that_no_longer_exists_shows_utc_without_failing(client, login, plan,
                                                                      member):
    factories.make_round(closes_at=datetime(2099, 1, 15, 20, 0))
    db.session.execute(sa.update(User).where(User.id == member.id)
                       .values(time_zone="Gone/Away"))
    db.session.commit()
    login(member)
    resp = client.get("/plan/objectives/A1")
    assert resp.status_code == 200
    assert "open until 15 January 2099, 20:00 UTC" in resp.get_data(as_text=True)


def _closes_soon_at_0330_utc() -> datetime:
    return datetime.combine((now_utc() + timedelta(days=20)).date(), time(3, 30))


def test_activity_mail_names_the_dates_in_each_recipients_zone(app, plan):
    closes = _closes_soon_at_0330_utc()
    chicago = factories.make_user(time_zone="America/Chicago")
    tokyo = factories.make_user(time_zone="Asia/Tokyo")
    for user in (chicago, tokyo):
        db.session.add(ActivityPreference(user_id=user.id, replies="none", updates="none",
                                          surveys="none", rounds="instant"))
    db.session.commit()
    rnd = factories.make_round(name="Zoned round", closes_at=closes)
    assert notify.announce_due() == 2
    for user in (chicago, tokyo):
        local = _local(closes, user.time_zone)
        body = next(m.body for m in factories.mail_outbox() if m.to == user.email)
        assert f"It closes on {local:%-d %B %Y, %H:%M} {local.tzname()}." in body, body
    # Chicago reads the evening before; Tokyo the same day: the day itself moved.
    assert _local(closes, "America/Chicago").date() < closes.date()
    assert rnd.closes_at == closes  # stored in UTC, untouched


def test_a_campaign_invitation_says_when_the_survey_closes_in_the_recipients_zone(
        client, login, admin):
    closes = _closes_soon_at_0330_utc()
    survey = factories.make_survey(anonymous=True, closes_at=closes)
    for email in ("chi@example.org", "roster@example.org"):
        factories.make_roster_entry(email)
    factories.make_user(email="chi@example.org", time_zone="America/Chicago")
    login(admin)
    resp = client.post_form("/admin/campaigns/new", {
        "survey_id": str(survey.id), "name": "Zones", "audience_kind": "roster",
        "subject": "Views on {survey}", "body": "Hello {name}: {link} (until {closes})",
        "reminder_subject": "", "reminder_body": "", "send_at": "", "reminder_count": "0",
        "reminder_days": "3", "stop_at": (closes - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M"),
        "action": "create"})
    assert resp.status_code == 302, resp.get_data(as_text=True)[:2000]
    mails = {m.to: m.body for m in factories.mail_outbox() if m.subject.startswith("Views on")}
    local = _local(closes, "America/Chicago")
    assert f"(until {local:%-d %B %Y, %H:%M} {local.tzname()})" in mails["chi@example.org"]
    # A roster address without an account has no zone: UTC, named.
    assert f"(until {closes:%-d %B %Y}, 03:30 UTC)" in mails["roster@example.org"]


def test_a_survey_schedule_typed_in_paris_is_stored_in_utc_and_shown_back_in_paris(
        client, login, admin):
    survey = factories.make_survey(status="draft")
    admin.time_zone = "Europe/Paris"
    db.session.commit()
    login(admin)
    resp = client.post_form(f"/admin/surveys/{survey.id}", {
        "title": survey.title, "introduction": "", "anonymous": "y", "objective": "",
        "opens_at": "2031-07-01T09:00", "closes_at": "2031-12-01T09:00"})
    assert resp.status_code == 302
    db.session.expire_all()
    # Summer time in Paris is UTC+2, winter time UTC+1.
    assert (survey.opens_at, survey.closes_at) == (datetime(2031, 7, 1, 7, 0),
                                                   datetime(2031, 12, 1, 8, 0))
    page = client.get(f"/admin/surveys/{survey.id}").get_data(as_text=True)
    assert "Opens at (Europe/Paris, optional)" in page
    assert 'value="2031-07-01T09:00"' in page and 'value="2031-12-01T09:00"' in page
    assert "Scheduled to open 1 July 2031, 09:00 CEST" in page
    assert "Closes 1 December 2031, 09:00 CET" in page
