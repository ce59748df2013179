"""Factories for test objects. They flush and commit, like a finished request would."""

from __future__ import annotations

import itertools

from portal.auth.passwords import hash_password
from portal.extensions import db
from portal.models import User
from portal.plan import planfile
from portal.plan import services as plan_services
from portal.timeutil import now_utc

PASSWORD = "correct horse battery staple"
_seq = itertools.count(1)


def load_plan():
    plan_services.import_plan(planfile.parse(planfile.bundled_plan_text()))
    db.session.commit()
    return plan_services.current_plan()


def make_user(role: str = "member", email: str | None = None, display_name: str | None = None,
              password: str = PASSWORD, verified: bool = True, active: bool = True,
              **segments) -> User:
    n = next(_seq)
    user = User(
        email=(email or f"user{n}@example.org").lower(),
        display_name=display_name or f"User {n}",
        password_hash=hash_password(password),
        role=role,
        active=active,
        email_verified_at=now_utc() if verified else None,
        **segments,
    )
    db.session.add(user)
    db.session.commit()
    return user


# Accounts ---------------------------------------------------------------------

def mail_outbox():
    """Messages sent so far with the memory mail backend (the test configuration's)."""
    from portal.mail import outbox

    return outbox()


def link_path(message, marker: str) -> str:
    """The site-relative path of the first link in `message` containing `marker`."""
    import re
    from urllib.parse import urlsplit

    for url in re.findall(r"https?://\S+", message.body):
        if marker in url:
            parts = urlsplit(url)
            return parts.path + (f"?{parts.query}" if parts.query else "")
    raise AssertionError(f"no link with {marker!r} in: {message.body}")


def make_roster_entry(email: str, member_number: str | None = None,
                      membership_type: str = "regular", **segments):
    from portal.models import RosterEntry

    entry = RosterEntry(email=email.lower(), member_number=member_number or f"M{next(_seq)}",
                        membership_type=membership_type, **segments)
    db.session.add(entry)
    db.session.commit()
    return entry
