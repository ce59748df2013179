"""Single e-mails (verification, reset, invitation ...) as jobs: the request records
the job in its own transaction, a worker delivers it and retries with backoff while
the mail server is down. Transactional mail ignores unsubscribes and bounces."""

from __future__ import annotations

from typing import Any

from portal.jobs import outbox
from portal.mail import deliver, make_message

TASK = "mail.send"


def queue_mail(to: str, subject: str, body: str,
               headers: tuple[tuple[str, str], ...] = ()) -> None:
    """Record one e-mail to send; it goes out after the caller's commit. `headers` are
    extra header lines (List-Unsubscribe on bulk mail)."""
    payload: dict[str, Any] = {"to": to, "subject": subject, "body": body}
    if headers:
        payload["headers"] = [list(pair) for pair in headers]
    outbox.enqueue(TASK, payload)


@outbox.handler(TASK)
def _send(payload: dict[str, Any]) -> None:
    # MailError propagates: the job is marked failed and retried later.
    headers = tuple((name, value) for name, value in payload.get("headers", ()))
    deliver(make_message(payload["to"], payload["subject"], payload["body"], headers))
