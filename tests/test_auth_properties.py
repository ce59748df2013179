"""Property tests: whatever is typed into the registration, sign-in and profile forms,
the answer is a 4xx with a message next to a field (or a success), never a 500, and
nothing half-done is stored."""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from portal.extensions import db
from portal.models import User
from tests.factories import PASSWORD, make_user

SETTINGS = settings(max_examples=60, deadline=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture,
                                           HealthCheck.too_slow])
nasty = st.one_of(
    st.text(max_size=300),
    st.text(alphabet=st.characters(codec="utf-8"), min_size=0, max_size=40),
    st.sampled_from(["", " ", "<script>alert(1)</script>", "a@b", "@example.org",
                     "x" * 300 + "@example.org", "null\x00byte@example.org", "é@ü.example",
                     "' OR 1=1 --", "\u202e\u200b", "🙂" * 50]),
)
ERROR_ID = re.compile(r'id="([a-z_]+)-error"')


def _user_count() -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(User))


def _assert_field_error_or_redirect(resp, fields: set[str]) -> None:
    assert resp.status_code < 500
    if resp.status_code == 302:
        return
    assert 400 <= resp.status_code < 500
    html = resp.get_data(as_text=True)
    assert set(ERROR_ID.findall(html)) & fields, html[:500]


@pytest.fixture
def token(client):
    return client.csrf_token()


@SETTINGS
@given(email=nasty, name=nasty, password=nasty)
def test_registration_never_fails_badly(client, token, email, name, password):
    before = _user_count()
    resp = client.post("/auth/register", data={"csrf_token": token, "email": email,
                                               "display_name": name, "password": password})
    _assert_field_error_or_redirect(resp, {"email", "display_name", "password"})
    if resp.status_code != 302:
        assert _user_count() == before
    else:
        assert _user_count() <= before + 1
        db.session.execute(sa.delete(User))
        db.session.commit()


@SETTINGS
@given(email=nasty, password=nasty)
def test_login_never_fails_badly(client, token, email, password):
    resp = client.post("/auth/login", data={"csrf_token": token, "email": email,
                                            "password": password})
    assert resp.status_code != 302  # nobody has these credentials
    _assert_field_error_or_redirect(resp, {"email", "password"})


@SETTINGS
@given(name=nasty, region=nasty, career=nasty)
def test_profile_never_fails_badly(client, name, region, career):
    user = db.session.scalar(sa.select(User).where(User.email == "prop@example.org"))
    if user is None:
        user = make_user(email="prop@example.org", display_name="Before")
        client.post_form("/auth/login", {"email": "prop@example.org", "password": PASSWORD})
    token = client.csrf_token()
    resp = client.post("/account", data={"csrf_token": token, "display_name": name,
                                         "region": region, "career_stage": career})
    _assert_field_error_or_redirect(resp, {"display_name", "region", "career_stage"})
    db.session.expire_all()
    user = db.session.scalar(sa.select(User).where(User.email == "prop@example.org"))
    if resp.status_code != 302:
        assert user.display_name == "Before"  # nothing half-stored
    else:
        assert user.display_name == name.strip()
        user.display_name = "Before"
        db.session.commit()
