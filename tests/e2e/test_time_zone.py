"""The browser's time zone: registration keeps it (portal.js fills a hidden field), My
account offers it when the saved zone differs, and pages then show times in it."""

from __future__ import annotations

import sqlalchemy as sa

from portal.extensions import db
from portal.models import User
from tests import factories
from tests.e2e.conftest import check_page, lookup, sign_in

ZONE = "America/Chicago"


def _zone_of(email: str) -> str | None:
    return db.session.scalar(sa.select(User.time_zone).where(User.email == email))


def test_registration_keeps_the_browsers_zone(browser, live_server, live_app):
    ctx = browser.new_context(viewport={"width": 1280, "height": 900}, timezone_id=ZONE)
    try:
        page = ctx.new_page()
        page.goto(live_server.url + "/auth/register")
        assert page.locator("#time_zone").input_value() == ZONE
        page.get_by_label("E-mail address").fill("chi.cago@example.org")
        page.get_by_label("Display name").fill("Chi Cago")
        page.get_by_label("Password", exact=True).fill("a long passphrase from chicago")
        page.get_by_role("button", name="Create account").click()
        page.wait_for_load_state()
        assert lookup(live_app, lambda: _zone_of("chi.cago@example.org")) == ZONE
    finally:
        ctx.close()


def test_my_account_offers_the_devices_zone_and_pages_use_it(browser, live_server, live_app):
    email = "zoe.zone@example.org"
    lookup(live_app, lambda: factories.make_user(email=email, display_name="Zoe Zone"))
    ctx = browser.new_context(viewport={"width": 1280, "height": 900}, timezone_id=ZONE)
    try:
        page = ctx.new_page()
        page.set_default_timeout(10_000)
        page.base = live_server.url  # type: ignore[attr-defined]
        sign_in(page, email)
        page.goto(page.base + "/account")
        select = page.get_by_label("Time zone")
        assert select.input_value() == "UTC"
        offer = page.get_by_role("button", name=f"Use this device\u2019s time zone: {ZONE}")
        check_page(page, "account time zone offered", shots=True)
        offer.click()
        assert select.input_value() == ZONE and offer.count() == 0
        page.get_by_role("button", name="Save profile").click()
        page.wait_for_load_state()
        assert lookup(live_app, lambda: _zone_of(email)) == ZONE
        page.goto(page.base + "/account")
        assert page.get_by_label("Time zone").input_value() == ZONE
        assert page.get_by_role("button", name=f"Use this device\u2019s time zone: {ZONE}") \
            .count() == 0
        page.goto(page.base + "/plan/objectives/A1")
        text = page.locator("main").inner_text()
        assert " CST" in text or " CDT" in text
        check_page(page, "objective in chicago time", shots=True)
    finally:
        ctx.close()
