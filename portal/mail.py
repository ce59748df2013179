"""A small mail layer: console (development), SMTP (production), memory (tests).

Web requests never call it: they record a job (`portal.jobs.mail_jobs.queue_mail`)
and a worker delivers it (`deliver`), retrying while the server is unreachable.

`send_mail(to, subject, body)` picks the backend named by MAIL_BACKEND. Links in
messages are built from BASE_URL (see `external_url`), never from the request's
Host header, so a forged Host cannot send members to another site.
"""

from __future__ import annotations

import logging
import smtplib
import sys
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate, make_msgid

from flask import current_app, url_for

log = logging.getLogger("portal.mail")


@dataclass(frozen=True)
class Message:
    to: str
    subject: str
    body: str
    sender: str
    # Extra header lines (List-Unsubscribe on bulk mail, ...).
    headers: tuple[tuple[str, str], ...] = ()


class MailError(RuntimeError):
    """The message could not be handed to the mail server."""


def outbox() -> list[Message]:
    """Messages sent with the memory backend (tests read them here)."""
    return current_app.extensions.setdefault("mail_outbox", [])


def external_url(endpoint: str, **values) -> str:
    """An absolute link for e-mails and the command line, rooted at BASE_URL."""
    base = current_app.config["BASE_URL"].rstrip("/")
    with current_app.test_request_context(base_url=base):
        return url_for(endpoint, _external=True, **values)


def _build(message: Message) -> EmailMessage:
    em = EmailMessage()
    em["From"] = message.sender
    em["To"] = message.to
    em["Subject"] = message.subject
    em["Date"] = formatdate(localtime=False)
    em["Message-ID"] = make_msgid(domain="portal.local")
    for name, value in message.headers:
        em[name] = value
    em.set_content(message.body)
    return em


def _send_console(message: Message) -> None:
    # Development: print the whole message so links can be followed.
    sys.stderr.write(f"\n----- mail to {message.to} -----\n{_build(message)}\n-----\n")
    sys.stderr.flush()


def _send_memory(message: Message) -> None:
    outbox().append(message)


def _send_smtp(message: Message) -> None:
    cfg = current_app.config
    try:
        with smtplib.SMTP(cfg["MAIL_SERVER"], cfg["MAIL_PORT"], timeout=15) as smtp:
            if cfg.get("MAIL_USE_TLS"):
                smtp.starttls()
            if cfg.get("MAIL_USERNAME"):
                smtp.login(cfg["MAIL_USERNAME"], cfg["MAIL_PASSWORD"])
            smtp.send_message(_build(message))
    except (OSError, smtplib.SMTPException) as exc:
        raise MailError(f"could not send mail: {type(exc).__name__}") from exc


BACKENDS = {"console": _send_console, "memory": _send_memory, "smtp": _send_smtp}


def backend() -> str:
    name = current_app.config.get("MAIL_BACKEND", "console")
    if name not in BACKENDS:
        raise RuntimeError(f"MAIL_BACKEND must be one of {sorted(BACKENDS)}, got {name!r}")
    return name


def make_message(to: str, subject: str, body: str,
                 headers: tuple[tuple[str, str], ...] = ()) -> Message:
    return Message(to=to, subject=subject, body=body, headers=headers,
                   sender=current_app.config["MAIL_DEFAULT_SENDER"])


def deliver(message: Message) -> None:
    """Hand one message to the backend; raises MailError when the server refused it
    (a job then retries it later)."""
    name = backend()
    BACKENDS[name](message)
    log.info("mail sent backend=%s subject=%r", name, message.subject)


def build(message: Message) -> EmailMessage:
    return _build(message)


def send_mail(to: str, subject: str, body: str) -> bool:
    """Send one plain-text message. Returns False (and logs) when the server refused it,
    so a page can say so instead of failing: the caller's data is already committed."""
    backend = current_app.config.get("MAIL_BACKEND", "console")
    if backend not in BACKENDS:
        raise RuntimeError(f"MAIL_BACKEND must be one of {sorted(BACKENDS)}, got {backend!r}")
    message = Message(to=to, subject=subject, body=body,
                      sender=current_app.config["MAIL_DEFAULT_SENDER"])
    try:
        BACKENDS[backend](message)
    except MailError as exc:
        log.error("mail not sent backend=%s: %s", backend, exc)
        return False
    # Never log the address or the body: they carry personal data and tokens.
    log.info("mail sent backend=%s subject=%r", backend, subject)
    return True
