"""Logs go to stderr, one line per event."""

from __future__ import annotations

import logging
import sys
import time

from flask import Flask, g, request
from flask_login import current_user


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

    @app.before_request
    def _start_timer() -> None:
        g.request_started = time.perf_counter()

    @app.after_request
    def _log_request(response):
        started = g.get("request_started")
        ms = (time.perf_counter() - started) * 1000 if started else 0.0
        # The URL rule, never the path: paths can carry tokens (reset links).
        rule = request.url_rule.rule if request.url_rule else "<unmatched>"
        user = current_user.get_id().split(".")[0] if current_user.is_authenticated else "-"
        access.info(
            "%s %s %s %.1fms user=%s", request.method, rule, response.status_code, ms, user
        )
        return response
