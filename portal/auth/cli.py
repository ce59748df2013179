"""`flask user create` and `flask roster import`. Each command commits explicitly."""

from __future__ import annotations

import click
from email_validator import EmailNotValidError, validate_email
from flask import current_app
from flask.cli import AppGroup

from portal import audit
from portal.admin import roster
from portal.auth import services
from portal.extensions import db
from portal.mail import external_url
from portal.models import Role, User
from portal.numfmt import plural
from portal.timeutil import now_utc

user_cli = AppGroup("user", help="Create accounts from the command line.")
roster_cli = AppGroup("roster", help="Import the member roster.")


@user_cli.command("create")
@click.argument("email")
@click.option("--role", type=click.Choice([r.value for r in Role]), default=Role.MEMBER.value,
              show_default=True)
@click.option("--name", "display_name", default=None, help="Display name (default: from EMAIL).")
def user_create(email: str, role: str, display_name: str | None) -> None:
    """Create an account and print a one-time link to set its password."""
    try:
        email = validate_email(email.strip(), check_deliverability=False).normalized.lower()
    except EmailNotValidError as exc:
        click.echo(f"error: {exc}", err=True)
        raise SystemExit(1)
    if services.find_user_by_email(email) is not None:
        click.echo(f"error: an account for {email} already exists.", err=True)
        raise SystemExit(1)
    try:
        # No password at all until the link is used: never a default password.
        user = User(email=email, display_name=(display_name or email.split("@")[0])[:80],
                    role=role, password_hash=None, email_verified_at=now_utc())
        db.session.add(user)
        db.session.flush()
        token = services.issue_set_password(user)
        audit.record(None, "user.create", user, {"role": role, "via": "command line"})
        db.session.commit()
    except Exception:
        db.session.rollback()
        raise
    click.echo(f"Created {role} account {email}.")
    click.echo("Open this link to set the password (it works once, for "
               f"{current_app.config['SET_PASSWORD_HOURS']} hours):")
    click.echo(external_url("auth.reset", token=token))


@roster_cli.command("import")
@click.argument("file", type=click.File("rb"))
def roster_import(file) -> None:
    """Replace the member roster with FILE (CSV); nothing changes if any line is wrong."""
    try:
        count = roster.import_roster(None, roster.decode(file.read()))
        db.session.commit()
    except roster.RosterError as exc:
        db.session.rollback()
        for problem in exc.problems:
            click.echo(f"error: {problem}", err=True)
        click.echo(f"{plural(len(exc.problems), 'problem')}; nothing was imported.", err=True)
        raise SystemExit(1)
    except Exception:
        db.session.rollback()
        raise
    click.echo(f"Imported {count} members into the roster.")
