"""The e-mail that lets the owner of an account link their association sign-in to it."""

from __future__ import annotations

from flask import current_app

from portal.mail import external_url, send_mail
from portal.models import IdentityProvider, User

SITE = "Member Feedback Portal"


def send_link(user: User, provider: IdentityProvider, token: str) -> bool:
    link = external_url("sso.link_confirm", token=token)
    minutes = current_app.config["SSO_LINK_MINUTES"]
    return send_mail(user.email, f"Link your {provider.name} sign-in to the {SITE}", (
        f"Hello {user.display_name},\n\n"
        f"Someone (perhaps you) signed in with {provider.name} and asked to use it for your "
        "portal account. To link them, open this link and press the button:\n\n"
        f"{link}\n\n"
        f"The link works once and for {minutes} minutes. If it was not you, ignore this "
        "message: nothing changes.\n"))
