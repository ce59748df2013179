"""The texts of account e-mails. Sent by views after their commit."""

from __future__ import annotations

from flask import current_app

from portal.mail import external_url, send_mail
from portal.models import User

SITE = "Member Feedback Portal"


def send_verification(user: User, token: str) -> bool:
    link = external_url("auth.verify", token=token)
    hours = current_app.config["VERIFY_TOKEN_HOURS"]
    return send_mail(user.email, f"Confirm your e-mail address for the {SITE}", (
        f"Hello {user.display_name},\n\n"
        "Please confirm your e-mail address by opening this link and pressing the button:\n\n"
        f"{link}\n\n"
        f"The link works once and for {hours} hours. Until you confirm, you can read the plan "
        "but not rate, comment or answer surveys.\n\n"
        "If you did not create an account, ignore this message.\n"))


def send_already_registered(user: User) -> bool:
    link = external_url("auth.forgot")
    return send_mail(user.email, f"Someone tried to register with your address at the {SITE}", (
        f"Hello {user.display_name},\n\n"
        "Someone (perhaps you) tried to create an account with this e-mail address, but you "
        "already have one. If you have forgotten your password, you can set a new one here:\n\n"
        f"{link}\n\n"
        "If it was not you, you can ignore this message: nothing has changed.\n"))


def send_reset(user: User, token: str) -> bool:
    link = external_url("auth.reset", token=token)
    minutes = current_app.config["PASSWORD_RESET_MINUTES"]
    return send_mail(user.email, f"Reset your password for the {SITE}", (
        f"Hello {user.display_name},\n\n"
        "Open this link to choose a new password:\n\n"
        f"{link}\n\n"
        f"The link works once and for {minutes} minutes. If you did not ask for it, ignore this "
        "message: your password stays as it is.\n"))


def send_invitation(email: str, token: str) -> bool:
    link = external_url("auth.register", invite=token)
    days = current_app.config["INVITATION_DAYS"]
    return send_mail(email, f"You are invited to the {SITE}", (
        "Hello,\n\n"
        "You are invited to give your feedback on the association's strategic plan. "
        "Create your account here:\n\n"
        f"{link}\n\n"
        f"The invitation works for {days} days.\n"))
