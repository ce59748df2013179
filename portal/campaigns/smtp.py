"""SMTP for bulk mail: one connection for many messages, and a commit point at the
end of DATA so that a worker killed at any moment neither loses nor doubles mail.

A message is handed over in two steps. `begin()` sends MAIL FROM, RCPT TO, DATA and
the whole message but not the final "." line; the caller then records the message
as sent and commits; `finish()` sends the "." and reads the server's answer. A
server keeps a message only once it has the final ".", so:

- killed before the commit: the message is still "sending" in the database, the
  server dropped the unfinished DATA with the connection, and the lease running out
  sends it again: once;
- killed after the commit: the server gets the "." (it is the next bytes) or drops
  the connection without it; the database says "sent". The window between the two
  is the commit's answer coming back plus one `send()` call: on PostgreSQL the mark
  is committed without waiting for the WAL flush (`synchronous_commit` off for that
  transaction), so the window is one local round trip, well under a millisecond, not
  a disk flush. A kill inside it still loses that one message; a database crash just
  after it can forget the mark, and the message goes out twice;
- the server refuses the "." (4xx, 5xx): the row is put back to deferred or bounced.
"""

from __future__ import annotations

import contextlib
import quopri
import re
import smtplib
import socket
from email.header import Header
from email.utils import formatdate, make_msgid

from flask import current_app

from portal.mail import MailError, Message

CRLF = b"\r\n"
_DOT_LINE = re.compile(rb"(?m)^\.")


class Refused(MailError):
    """The server answered with an error code (`code` 4xx: try later, 5xx: never)."""

    def __init__(self, code: int, text: str) -> None:
        super().__init__(f"{code} {text}"[:200])
        self.code = code

    @property
    def permanent(self) -> bool:
        return 500 <= self.code < 600


def _header(value: str) -> str:
    value = " ".join(value.replace("\r", " ").replace("\n", " ").split())
    if value.isascii():
        return value
    return Header(value, "utf-8").encode()


def bulk_bytes(message: Message) -> bytes:
    """The message as SMTP DATA, built directly: the email package's header registry
    costs milliseconds a message, which a 50,000-address campaign feels."""
    lines = [f"From: {_header(message.sender)}", f"To: {_header(message.to)}",
             f"Subject: {_header(message.subject)}",
             f"Date: {formatdate(localtime=False)}",
             f"Message-ID: {make_msgid(domain='portal.local')}", "MIME-Version: 1.0",
             "Content-Type: text/plain; charset=utf-8",
             "Content-Transfer-Encoding: quoted-printable"]
    lines += [f"{name}: {_header(value)}" for name, value in message.headers]
    body = quopri.encodestring(message.body.replace("\r\n", "\n").encode("utf-8"))
    return ("\r\n".join(lines) + "\r\n\r\n").encode("ascii") + body.replace(b"\n", CRLF)


def _payload(data: bytes) -> bytes:
    data = _DOT_LINE.sub(b"..", data)
    if not data.endswith(CRLF):
        data += CRLF
    return data


class BulkConnection:
    """One SMTP session reused for a batch; reopened after any error."""

    def __init__(self) -> None:
        self.smtp: smtplib.SMTP | None = None

    def _open(self) -> smtplib.SMTP:
        cfg = current_app.config
        try:
            smtp = smtplib.SMTP(cfg["MAIL_SERVER"], cfg["MAIL_PORT"], timeout=15)
            # The final "." is a small write right after the message: without NODELAY,
            # Nagle's algorithm holds it until the server's delayed ACK (~40 ms a message).
            smtp.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            smtp.ehlo()
            if cfg.get("MAIL_USE_TLS"):
                smtp.starttls()
                smtp.ehlo()
            if cfg.get("MAIL_USERNAME"):
                smtp.login(cfg["MAIL_USERNAME"], cfg["MAIL_PASSWORD"])
        except (OSError, smtplib.SMTPException) as exc:
            raise MailError(f"could not connect: {type(exc).__name__}") from exc
        return smtp

    def begin(self, sender: str, to: str, message: bytes) -> None:
        """Everything up to, not including, the final "." of DATA."""
        if self.smtp is None:
            self.smtp = self._open()
        smtp = self.smtp
        try:
            code, text = smtp.mail(sender)
            if code != 250:
                self._reset()
                raise Refused(code, text.decode(errors="replace"))
            code, text = smtp.rcpt(to)
            if code not in (250, 251):
                self._reset()
                raise Refused(code, text.decode(errors="replace"))
            smtp.putcmd("data")
            code, text = smtp.getreply()
            if code != 354:
                self._reset()
                raise Refused(code, text.decode(errors="replace"))
            smtp.send(_payload(message))
        except (OSError, smtplib.SMTPException) as exc:
            self.close()
            raise MailError(f"connection lost: {type(exc).__name__}") from exc

    def finish(self) -> None:
        """Send the final "." and read the answer."""
        smtp = self.smtp
        try:
            smtp.send(b"." + CRLF)
            code, text = smtp.getreply()
        except (OSError, smtplib.SMTPException, AttributeError) as exc:
            self.close()
            raise MailError(f"connection lost: {type(exc).__name__}") from exc
        if code != 250:
            raise Refused(code, text.decode(errors="replace"))

    def _reset(self) -> None:
        try:
            self.smtp.rset()
        except (OSError, smtplib.SMTPException):
            self.close()

    def close(self) -> None:
        if self.smtp is not None:
            try:
                self.smtp.quit()
            except (OSError, smtplib.SMTPException):
                with contextlib.suppress(OSError):
                    self.smtp.close()
            self.smtp = None
