"""The texts of account e-mails. Each records a mail job (portal/jobs/mail_jobs.py)
in the caller's transaction; a worker sends it after the commit. Transactional mail:
unsubscribes and bounces never stop it."""

from __future__ import annotations

from flask import current_app

from portal import deferred
from portal.extensions import db
from portal.jobs.mail_jobs import queue_mail
from portal.mail import external_url
from portal.models import User

SITE = "Member Feedback Portal"


def send_verification(user: User, token: str) -> None:
    link = external_url("auth.verify", token=token)
    hours = current_app.config["VERIFY_TOKEN_HOURS"]
    queue_mail(user.email, f"Confirm your e-mail address for the {SITE}", (
        f"Hello {user.display_name},\n\n"
        "Please confirm your e-mail address by opening this link and pressing the button:\n\n"
        f"{link}\n\n"
        f"The link works once and for {hours} hours. Until you confirm, you can read the plan "
        "but not rate, comment or answer surveys.\n\n"
        "If you did not create an account, ignore this message.\n"))


def send_already_registered(user: User) -> None:
    link = external_url("auth.forgot")
    queue_mail(user.email, f"Someone tried to register with your address at the {SITE}", (
        f"Hello {user.display_name},\n\n"
        "Someone (perhaps you) tried to create an account with this e-mail address, but you "
        "already have one. If you have forgotten your password, you can set a new one here:\n\n"
        f"{link}\n\n"
        "If it was not you, you can ignore this message: nothing has changed.\n"))


def send_reset(user: User, token: str) -> None:
    link = external_url("auth.reset", token=token)
    minutes = current_app.config["PASSWORD_RESET_MINUTES"]
    queue_mail(user.email, f"Reset your password for the {SITE}", (
        f"Hello {user.display_name},\n\n"
        "Open this link to choose a new password:\n\n"
        f"{link}\n\n"
        f"The link works once and for {minutes} minutes. If you did not ask for it, ignore this "
        "message: your password stays as it is.\n"))


def send_invitation(email: str, token: str) -> None:
    link = external_url("auth.register", invite=token)
    days = current_app.config["INVITATION_DAYS"]
    queue_mail(email, f"You are invited to the {SITE}", (
        "Hello,\n\n"
        "You are invited to give your feedback on the association's strategic plan. "
        "Create your account here:\n\n"
        f"{link}\n\n"
        f"The invitation works for {days} days.\n"))


def send_signin_link(user: User, token: str) -> None:
    link = external_url("auth.link_signin", token=token)
    minutes = current_app.config["SIGNIN_LINK_MINUTES"]
    queue_mail(user.email, f"Your sign-in link for the {SITE}", (
        f"Hello {user.display_name},\n\n"
        "Open this link and press the button to sign in, without your password:\n\n"
        f"{link}\n\n"
        f"The link works once and for {minutes} minutes. It signs you in even while "
        "someone else is trying wrong passwords on your account.\n\n"
        "If you did not ask for it, ignore this message: nobody can use it but you.\n"))


def queue_failed_signins_alert(user_id: int, failures: int) -> None:
    """Tell the owner that their account sees failed sign-ins. The job is recorded after
    the response has gone out, so an address with an account answers as fast as one
    without."""
    deferred.after_response(_record_after_response, send_failed_signins_alert,
                            user_id, failures)


def queue_signin_link(user: User, token: str) -> None:
    """The sign-in link, recorded after the response like the alert above."""
    deferred.after_response(_record_after_response, _signin_link_by_id, user.id, token)


def _signin_link_by_id(user_id: int, token: str) -> None:
    user = db.session.get(User, user_id)
    if user is not None:
        send_signin_link(user, token)


def _record_after_response(func, *args) -> None:
    func(*args)
    db.session.commit()


def send_failed_signins_alert(user_id: int, failures: int) -> None:
    user = db.session.get(User, user_id)
    if user is None or not user.active:
        return
    password = external_url("auth.change_password")
    link = external_url("auth.link_request")
    queue_mail(user.email, f"Failed attempts to sign in to your account at the {SITE}", (
        f"Hello {user.display_name},\n\n"
        f"There have been {failures} failed attempts to sign in to your account since you "
        "last signed in. If they were not you, someone may be guessing your password.\n\n"
        "Your account is not locked: you can still sign in on a device you have used "
        "before, or with a sign-in link sent to this address:\n\n"
        f"{link}\n\n"
        "If you think someone may know your password, change it here:\n\n"
        f"{password}\n\n"
        "We send this message at most once a day.\n"))
