"""Work that runs once the response has gone out to the client.

Mail that a request triggers but whose sending must not show in the response's
timing (the e-mail to an owner whose account sees failed sign-ins: an unknown address
gets none, so sending it inline would tell the two apart). The WSGI server calls the
response's close callbacks after it has sent the body. A job queue can take this over
behind `after_response` without its callers changing.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from flask import Flask, current_app, g, has_request_context

log = logging.getLogger("portal.deferred")


def after_response(func: Callable[..., object], *args: object) -> None:
    """Run `func(*args)` in an application context after the response is sent
    (at once outside a request, e.g. in a CLI command)."""
    if not has_request_context():
        func(*args)
        return
    g.setdefault("_after_response", []).append((func, args))


def init_app(app: Flask) -> None:
    @app.after_request
    def _attach(response):
        pending = g.pop("_after_response", None)
        if pending:
            target = current_app._get_current_object()
            response.call_on_close(lambda: _run(target, pending))
        return response


def _run(app: Flask, pending: list) -> None:
    for func, args in pending:
        try:
            with app.app_context():
                func(*args)
        except Exception:  # a failed e-mail must not break the next one
            log.exception("deferred work failed: %s", getattr(func, "__name__", func))
