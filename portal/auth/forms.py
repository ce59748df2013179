"""Account forms. Every field has a length limit; the services apply the domain rules."""

from __future__ import annotations

from wtforms import BooleanField, EmailField, HiddenField, PasswordField, StringField
from wtforms.validators import DataRequired, Email, Length, ValidationError

from portal.auth.passwords import MAX_LENGTH, MIN_LENGTH, password_problem
from portal.forms import PortalForm

PASSWORD_HINT = (f"{MIN_LENGTH} to {MAX_LENGTH} characters. Any characters, including "
                 "spaces; a few words you will remember make a good password.")


def _email_field(label: str = "E-mail address") -> EmailField:
    return EmailField(label, validators=[
        DataRequired("Enter your e-mail address."),
        Length(max=254, message="An e-mail address has at most 254 characters."),
        Email(message="Enter an e-mail address like name@example.org.",
              check_deliverability=False),
    ])


def _password_field(label: str, required: str) -> PasswordField:
    return PasswordField(label, validators=[
        DataRequired(required),
        Length(max=MAX_LENGTH, message=f"Use at most {MAX_LENGTH} characters."),
    ])


def _no_control_characters(form, field) -> None:
    if field.data and any(ord(c) < 32 or 0x7F <= ord(c) < 0xA0 for c in field.data):
        raise ValidationError("Remove the control characters.")


class LoginForm(PortalForm):
    email = _email_field()
    password = _password_field("Password", "Enter your password.")
    remember = BooleanField("Keep me signed in on this device")


class RegisterForm(PortalForm):
    email = _email_field()
    display_name = StringField("Display name", validators=[
        DataRequired("Enter the name other members will see."),
        Length(max=80, message="Use at most 80 characters."),
        _no_control_characters,
    ])
    password = _password_field("Password", "Choose a password.")
    invite = HiddenField(validators=[Length(max=200)])
    # Filled by static/js/portal.js with the browser's zone; without it, or with a
    # name the tz database does not know, the account starts in UTC (never an error:
    # the member cannot see or fix a hidden field). They change it on My account.
    time_zone = HiddenField()

    def validate_password(self, field) -> None:
        # The password rules run with the other fields, so every problem shows at once
        # (the service checks them again).
        if field.data and len(field.data) <= MAX_LENGTH:
            email = self.email.data if isinstance(self.email.data, str) else None
            problem = password_problem(field.data, email or None)
            if problem:
                raise ValidationError(problem)


class ForgotPasswordForm(PortalForm):
    email = _email_field()


class SigninLinkForm(PortalForm):
    email = _email_field()


class ResetPasswordForm(PortalForm):
    password = _password_field("New password", "Choose a new password.")


class ChangePasswordForm(PortalForm):
    current_password = _password_field("Current password", "Enter your current password.")
    new_password = _password_field("New password", "Choose a new password.")


class ConfirmPasswordForm(PortalForm):
    password = _password_field("Password", "Enter your password.")


class ConfirmForm(PortalForm):
    """A button and its CSRF token (verification links, resending a link)."""
