"""Helpers shared by the survey tests.

`fresh_login` wraps the conftest `login` fixture: the test app context stays
pushed across requests, so Flask's `g` (where Flask-WTF caches the CSRF token)
outlives the session that signing in or out clears. Dropping the cached token
around those steps makes the next page put a fresh token into the new session,
as a browser would see. Each survey test module overrides `login` with it.
"""

from __future__ import annotations

from flask import g


def fresh_login(login, client):
    def _login(user, *args, **kwargs):
        g.pop("csrf_token", None)
        client.post_form("/auth/logout")
        g.pop("csrf_token", None)
        resp = login(user, *args, **kwargs)
        g.pop("csrf_token", None)
        return resp

    return _login
