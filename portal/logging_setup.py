"""Logs go to stderr, one line per event."""

from __future__ import annotations

import logging
import sys
import time

from flask import Flask, g, request, session

DENIED = frozenset({401, 403, 429})
# Blueprints whose requests are logged without the user id (member survey pages).
ANONYMOUS_BLUEPRINTS = frozenset({"surveys"})


class OneLineFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        text = super().format(record)
        return text.replace("\r", "\\r").replace("\n", "\\n")


def init_app(app: Flask) -> None:
    root = logging.getLogger()
    if not any(getattr(h, "_portal", False) for h in root.handlers):
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(
            OneLineFormatter("%(asctime)s %(levelname)s %(name)s %(message)s", "%Y-%m-%dT%H:%M:%S")
        )
        handler._portal = True  # type: ignore[attr-defined]
        root.addHandler(handler)
    root.setLevel(app.config.get("LOG_LEVEL", "INFO"))
    app.logger.handlers.clear()
    app.logger.propagate = True
    access = logging.getLogger("portal.access")
    security = logging.getLogger("portal.security")

    @app.before_request
    def _start_timer() -> None:
        g.request_started = time.perf_counter()

    @app.after_request
    def _log_request(response):
        started = g.get("request_started")
        ms = (time.perf_counter() - started) * 1000 if started else 0.0
        # The URL rule, never the path: paths can carry tokens (reset links).
        rule = request.url_rule.rule if request.url_rule else "<unmatched>"
        # The session's user id, not current_user: no database access after the view
        # (the database may have gone away since; the log line must still be written).
        user = str(session.get("_user_id") or "-").split(".")[0]
        if request.blueprint in ANONYMOUS_BLUEPRINTS:
            # Taking a survey: no account in the line, so the log cannot pair a
            # member with the moment an anonymous answer was given.
            user = "-"
        access.info(
            "%s %s %s %.1fms user=%s", request.method, rule, response.status_code, ms, user
        )
        if response.status_code in DENIED:
            # A security event of its own: refused sign-in, missing role or object
            # rights, rate limit. The rule and user id only, never the path or a value.
            security.warning("request denied status=%s %s %s user=%s", response.status_code,
                             request.method, rule, user)
        return response
