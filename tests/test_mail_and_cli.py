"""The mail layer (console, memory, a real SMTP server on loopback) and the account CLI."""

from __future__ import annotations

import socket

import pytest
import sqlalchemy as sa

from portal.extensions import db
from portal.mail import external_url, outbox, send_mail
from portal.models import AuditEvent, RosterEntry, User


def test_memory_backend_collects_messages(app):
    assert send_mail("a@example.org", "Hello", "Body") is True
    assert [(m.to, m.subject, m.body) for m in outbox()] == [("a@example.org", "Hello", "Body")]


def test_console_backend_prints_the_message(app, capsys):
    app.config["MAIL_BACKEND"] = "console"
    send_mail("a@example.org", "Console subject", "Open https://x.example/link")
    err = capsys.readouterr().err
    assert "Console subject" in err and "https://x.example/link" in err
    assert outbox() == []


def test_unknown_backend_is_a_configuration_error(app):
    app.config["MAIL_BACKEND"] = "pigeon"
    with pytest.raises(RuntimeError):
        send_mail("a@example.org", "S", "B")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_smtp_backend_sends_through_a_real_server(app):
    from aiosmtpd.controller import Controller
    from aiosmtpd.handlers import Message as MessageHandler

    received = []

    class Collect(MessageHandler):
        def handle_message(self, message):
            received.append(message)

    port = _free_port()
    controller = Controller(Collect(), hostname="127.0.0.1", port=port)
    controller.start()
    try:
        app.config.update(MAIL_BACKEND="smtp", MAIL_SERVER="127.0.0.1", MAIL_PORT=port)
        assert send_mail("member@example.org", "Réinitialiser ✓", "Line one\nLien ✓") is True
    finally:
        controller.stop()
    [message] = received
    assert message["To"] == "member@example.org"
    from email.header import decode_header, make_header

    assert str(make_header(decode_header(message["Subject"]))) == "Réinitialiser ✓"
    payload = message.get_payload(decode=True).decode(message.get_content_charset() or "utf-8")
    assert "Lien ✓" in payload


def test_smtp_failure_is_reported_not_raised(app):
    app.config.update(MAIL_BACKEND="smtp", MAIL_SERVER="127.0.0.1", MAIL_PORT=_free_port())
    assert send_mail("a@example.org", "S", "B") is False


def test_external_urls_use_base_url(app):
    app.config["BASE_URL"] = "https://portal.example.org/"
    assert external_url("auth.login") == "https://portal.example.org/auth/login"


# CLI ----------------------------------------------------------------------------------

def test_user_create_prints_a_one_time_link_and_no_password(app, runner, client):
    result = runner.invoke(args=["user", "create", "Boss@Example.org", "--role", "admin"])
    assert result.exit_code == 0, result.output
    user = db.session.scalar(sa.select(User).where(User.email == "boss@example.org"))
    assert user.role == "admin" and user.password_hash is None
    assert "password" not in result.output.lower().replace("set the password", "")
    link = [w for w in result.output.split() if "/auth/reset/" in w][0]
    path = link.split("127.0.0.1:5000", 1)[1]
    resp = client.post_form(path, {"password": "a chief's own passphrase"})
    assert resp.status_code == 302
    resp = client.post_form("/auth/login", {"email": "boss@example.org",
                                            "password": "a chief's own passphrase"})
    assert resp.status_code == 302
    assert client.post_form(path, {"password": "a second passphrase!"}).status_code == 400
    again = runner.invoke(args=["user", "create", "boss@example.org"])
    assert again.exit_code == 1 and "already exists" in again.output
    bad = runner.invoke(args=["user", "create", "not-an-address"])
    assert bad.exit_code == 1
    assert db.session.scalar(sa.select(AuditEvent.action)) == "user.create"


def test_roster_import_command(app, runner, tmp_path):
    good = tmp_path / "roster.csv"
    good.write_text("member_id,email,membership_type\nM1,a@example.org,regular\n", "utf-8")
    result = runner.invoke(args=["roster", "import", str(good)])
    assert result.exit_code == 0 and "Imported 1 members" in result.output
    bad = tmp_path / "bad.csv"
    bad.write_text("member_id,email,membership_type\nM2,b@example.org,regular\n"
                   "M3,broken,regular\n", "utf-8")
    result = runner.invoke(args=["roster", "import", str(bad)])
    assert result.exit_code == 1 and "line 3:" in result.output
    assert db.session.scalars(sa.select(RosterEntry.email)).all() == ["a@example.org"]
