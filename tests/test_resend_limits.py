"""'Send the link again' is limited per signed-in account, like the other account POSTs."""

from __future__ import annotations

import pytest

from tests.factories import mail_outbox, make_user


@pytest.fixture
def app_config():
    return {"RATELIMIT_ENABLED": True, "RATELIMIT_AUTH_PER_IP": "50 per minute",
            "RATELIMIT_AUTH_PER_ACCOUNT": "3 per minute"}


def test_sending_the_link_again_is_rate_limited_per_account(client, login):
    user = make_user(verified=False, email="slow@example.org")
    login(user)
    before = len(mail_outbox())
    for _ in range(3):
        assert client.post_form("/auth/verify/resend",
                                environ_base={"REMOTE_ADDR": "10.9.0.1"}).status_code == 302
    resp = client.post_form("/auth/verify/resend", environ_base={"REMOTE_ADDR": "10.9.0.2"})
    assert resp.status_code == 429 and "Retry-After" in resp.headers
    assert len(mail_outbox()) == before + 3
