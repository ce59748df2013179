"""Security events are logged one line each, and no secret ever reaches a log line.

One full journey (register, verify, wrong passwords, throttling, reset, sign-in,
password change, rating, comment, anonymous survey, admin actions, denied requests,
sign-out) runs with every logger at DEBUG; then every record is formatted the way
the portal's handler formats it and searched for each secret the journey used.
"""

from __future__ import annotations

import logging
import re

import pytest
import sqlalchemy as sa
from flask import g

from portal.extensions import db
from portal.logging_setup import OneLineFormatter
from portal.models import SurveyPoolEntry, SurveyResponse, User
from portal.surveys import pool
from tests import factories
from tests.factories import PASSWORD

FIRST = "first secret passphrase 11"
SECOND = "second secret passphrase 22"
THIRD = "third secret passphrase 33"
WRONG = "wrong secret passphrase 44"


@pytest.fixture
def app_config():
    return {"LOG_LEVEL": "DEBUG", "SIGNIN_FREE_FAILURES": 2}


def _fresh(client):
    g.pop("csrf_token", None)


class Secrets:
    def __init__(self) -> None:
        self.values: set[str] = {FIRST, SECOND, THIRD, WRONG, PASSWORD}

    def add(self, *values) -> None:
        self.values |= {str(v) for v in values if v and len(str(v)) >= 8}

    def cookies(self, client) -> None:
        for name in ("session", "remember_token", "portal_device"):
            cookie = client.get_cookie(name)
            if cookie is not None:
                self.add(cookie.value)
                # The signed payload and signature parts too: a log of half a cookie
                # is still a leak.
                self.add(*[part for part in cookie.value.split(".") if len(part) >= 12])


def _token_from(message, marker: str) -> str:
    path = factories.link_path(message, marker)
    return path.rsplit("/", 1)[1]


def test_no_secret_reaches_a_log_line_during_a_full_journey(app, client, login, plan, admin,
                                                             caplog):
    caplog.set_level(logging.DEBUG)
    secrets = Secrets()
    factories.make_round()
    survey = factories.make_survey()

    # Register and verify.
    resp = client.post_form("/auth/register", {"email": "new@example.org",
                                               "display_name": "Newcomer", "password": FIRST})
    assert resp.status_code == 302
    verify = _token_from(factories.mail_outbox()[-1], "/auth/verify/")
    secrets.add(verify)
    client.post_form(f"/auth/verify/{verify}")
    user = db.session.scalar(sa.select(User).where(User.email == "new@example.org"))
    secrets.cookies(client)

    # Wrong passwords up to the sign-in throttle, then a reset.
    _fresh(client)
    client.post_form("/auth/logout")
    for _ in range(4):
        _fresh(client)
        client.post_form("/auth/login", {"email": user.email, "password": WRONG})
    client.post_form("/auth/forgot", {"email": user.email})
    reset = _token_from(factories.mail_outbox()[-1], "/auth/reset/")
    secrets.add(reset)
    _fresh(client)
    assert client.post_form(f"/auth/reset/{reset}", {"password": SECOND}).status_code == 302

    # Sign in ("keep me signed in"), change the password, give feedback, answer a survey.
    _fresh(client)
    login(user, SECOND, remember=True)
    secrets.cookies(client)
    _fresh(client)
    resp = client.post_form("/auth/password", {"current_password": SECOND,
                                               "new_password": THIRD})
    assert resp.status_code == 302
    secrets.cookies(client)
    secrets.add(client.csrf_token())
    client.post_form("/feedback/objectives/A1/rating", {"importance": "4", "performance": "2"})
    client.post_form("/feedback/objectives/A1/comments", {"body": "Logs must stay clean."})
    client.post_form(f"/surveys/{survey.id}/start")
    from tests.test_surveys_taking import SECTION_1, SECTION_2, SECTION_3, SECTION_4

    for number, data in enumerate((SECTION_1, SECTION_2, SECTION_3, SECTION_4), start=1):
        client.post_form(f"/surveys/{survey.id}/sections/{number}", {**data, "action": "next"})
    assert client.post_form(f"/surveys/{survey.id}/submit").status_code == 200
    entry_id = db.session.scalar(sa.select(SurveyPoolEntry.id))
    secrets.add(str(entry_id), entry_id.hex)
    assert pool.release(survey.id, final=True).released == 1
    response_id = db.session.scalar(sa.select(SurveyResponse.id))
    secrets.add(str(response_id), response_id.hex)
    # Denied requests.
    assert client.get("/admin/users").status_code == 403
    assert client.get("/reports/").status_code == 403
    secrets.cookies(client)
    _fresh(client)
    client.post_form("/auth/logout")

    # An admin acts on the account.
    _fresh(client)
    login(admin)
    secrets.cookies(client)
    client.post_form(f"/admin/users/{user.id}/role", {"role": "leader"})
    client.post_form(f"/admin/users/{user.id}/deactivate")
    _fresh(client)
    client.post_form("/auth/logout")
    client.get("/account")  # anonymous: sign-in required

    formatter = OneLineFormatter("%(asctime)s %(levelname)s %(name)s %(message)s")
    lines = [formatter.format(r) for r in caplog.records]
    assert len(lines) > 50
    for line in lines:
        assert "\n" not in line
        leaked = [s for s in secrets.values if s in line]
        assert not leaked, (leaked, line)

    text = "\n".join(lines)
    for event in (r"login succeeded user=\d+", r"login failed user=\d+",
                  r"login throttled user=\d+ client=network",
                  r"password reset user=\d+", r"password changed user=\d+",
                  r"account registered user=\d+", r"logout user=\d+",
                  r"request denied status=403 GET /admin/users user=\d+",
                  r"request denied status=403 GET /reports/ user=\d+",
                  r"request denied status=401 POST /auth/login user=-",
                  r"sign-in required GET /account",
                  r"audit action=\S*role\S* actor=\d+ target=users:\d+",
                  r"audit action=\S*deactivat\S* actor=\d+ target=users:\d+"):
        assert re.search(event, text), event


def test_a_log_line_cannot_be_split_by_what_a_visitor_types(app, client, caplog):
    caplog.set_level(logging.DEBUG)
    client.post_form("/auth/login", {"email": "x@example.org\nFAKE ERROR admin logged in",
                                     "password": "y\r\nFAKE"})
    formatter = OneLineFormatter("%(message)s")
    for record in caplog.records:
        line = formatter.format(record)
        assert "\n" not in line and "\r" not in line
        assert "FAKE" not in line
