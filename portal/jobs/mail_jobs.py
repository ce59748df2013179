"""Single e-mails (verification, reset, invitation ...) as jobs: the request records
the job in its own transaction, a worker delivers it and retries with backoff while
the mail server is down. Transactional mail ignores unsubscribes and bounces."""

from __future__ import annotations

from typing import Any

from portal.jobs import outbox
from portal.mail import deliver, make_message

TASK = "mail.send"


def queue_mail(to: str, subject: str, body: str) -> None:
    """Record one e-mail to send; it goes out after the caller's commit."""
    outbox.enqueue(TASK, {"to": to, "subject": subject, "body": body})


@outbox.handler(TASK)
def _send(payload: dict[str, Any]) -> None:
    # MailError propagates: the job is marked failed and retried later.
    deliver(make_message(payload["to"], payload["subject"], payload["body"]))
