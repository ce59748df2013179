"""Account forms: the profile with its segment questions, and account deletion."""

from __future__ import annotations

from wtforms import PasswordField, RadioField, StringField
from wtforms.validators import DataRequired, Length, ValidationError

from portal import segments
from portal.auth.forms import _no_control_characters
from portal.forms import PortalForm, TimeZoneField, choice_list, choice_value


class OptionalRadioField(RadioField):
    """A radio group that may be left unanswered (data None), but refuses unknown codes."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.type = "RadioField"  # rendered by the forms macro as a fieldset

    def process_formdata(self, valuelist):
        self.data = valuelist[0] if valuelist and valuelist[0] != "" else None

    def pre_validate(self, form):
        if self.data is None:
            return
        if self.data not in {choice_value(c) for c in self.choices}:
            raise ValidationError("Choose one of the answers listed.")


def _segment_field(dim: segments.Dimension) -> OptionalRadioField:
    return OptionalRadioField(dim.question, choices=choice_list(dim.choices), validate_choice=True)


class ProfileForm(PortalForm):
    display_name = StringField("Display name", validators=[
        DataRequired("Enter the name other members will see."),
        Length(max=80, message="Use at most 80 characters."),
        _no_control_characters,
    ])
    time_zone = TimeZoneField("Time zone")


# One radio group per dimension declared in portal/segments.py.
for _dim in segments.DIMENSIONS:
    setattr(ProfileForm, _dim.key, _segment_field(_dim))


class DeleteSsoAccountForm(PortalForm):
    email = StringField("Your e-mail address", validators=[
        DataRequired("Type the e-mail address of your account to confirm."),
        Length(max=254, message="An e-mail address has at most 254 characters."),
    ])


class DeleteAccountForm(PortalForm):
    password = PasswordField("Your password", validators=[
        DataRequired("Enter your password to confirm."),
        Length(max=128, message="Use at most 128 characters."),
    ])
