"""The sending rate, shared by every worker: Huey's rate limits count in the queue's
storage (Redis in production, the SQLite queue file on the embedded default), so
MAIL_RATE_PER_SECOND and MAIL_RATE_PER_HOUR hold across workers and hosts. The
windows are fixed (per second, per hour), as Huey implements them."""

from __future__ import annotations

import time

from flask import current_app
from huey.exceptions import RateLimitExceeded

# Longer than this to wait: give the messages back and reschedule the job instead.
MAX_SLEEP_SECONDS = 5.0


class MustWait(Exception):
    def __init__(self, seconds: float) -> None:
        super().__init__(f"sending rate reached; wait {seconds:.0f} s")
        self.seconds = seconds


def _limits():
    huey = current_app.extensions["portal_jobs"].huey
    cfg = current_app.config
    out = []
    if cfg.get("MAIL_RATE_PER_SECOND"):
        out.append(huey.rate_limit("mail-per-second", cfg["MAIL_RATE_PER_SECOND"], 1))
    if cfg.get("MAIL_RATE_PER_HOUR"):
        out.append(huey.rate_limit("mail-per-hour", cfg["MAIL_RATE_PER_HOUR"], 3600))
    return out


class Throttle:
    def __init__(self) -> None:
        self.limits = _limits()

    def take(self) -> None:
        """Wait for one message's turn; raises MustWait when the wait would be long."""
        for limit in self.limits:
            while True:
                try:
                    limit.acquire()
                    break
                except RateLimitExceeded as exc:
                    wait = float(exc.delay or 1.0)
                    if wait > MAX_SLEEP_SECONDS:
                        raise MustWait(wait) from exc
                    time.sleep(min(wait, 1.0) + 0.001)
