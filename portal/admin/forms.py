"""Admin console forms."""

from __future__ import annotations

from flask_wtf.file import FileField
from wtforms import (
    BooleanField,
    DateField,
    HiddenField,
    RadioField,
    SelectField,
    StringField,
    TextAreaField,
    ValidationError,
)
from wtforms.validators import DataRequired, Email, Length, Optional

from portal import timezones
from portal.auth.registration import MODES
from portal.forms import PortalForm, QueryForm, choice_list
from portal.models.user import ROLE_LABELS
from portal.plan.planfile import MAX_TEXT

ROLE_PAIRS = [(role.value, label) for role, label in ROLE_LABELS.items()]


class UserFilterForm(QueryForm):
    """GET filters of the user list."""

    q = StringField("Search e-mail, name or member id", validators=[Optional(), Length(max=100)])
    role = SelectField("Role", choices=choice_list([("", "Any role"), *ROLE_PAIRS]),
                       validators=[Optional()])
    status = SelectField("Status", choices=choice_list([("", "Any status"), ("active", "Active"),
                                                        ("deactivated", "Deactivated")]),
                         validators=[Optional()])
    verified = SelectField("E-mail", choices=choice_list([
        ("", "Verified or not"), ("yes", "Verified"),
                                                          ("no", "Not verified")]),
                           validators=[Optional()])


class RoleForm(PortalForm):
    role = RadioField("Role", choices=choice_list(ROLE_PAIRS),
                      validators=[DataRequired("Choose a role.")])


class ActionForm(PortalForm):
    """A button with its CSRF token."""


class RegistrationModeForm(PortalForm):
    mode = RadioField("Who may register", choices=choice_list(MODES.items()),
                      validators=[DataRequired("Choose a registration mode.")])


class RosterForm(PortalForm):
    # Required unless the file is already waiting for confirmation (`pending`).
    file = FileField("Roster file (CSV)")
    pending = HiddenField()
    confirm = BooleanField("Yes, replace the current roster with this file")

    def validate_file(self, field) -> None:
        if not field.data and not self.pending.data:
            raise ValidationError("Choose a CSV file.")


class InvitationForm(PortalForm):
    email = StringField("E-mail address to invite", validators=[
        DataRequired("Enter an e-mail address."), Length(max=254),
        Email(message="Enter an e-mail address like name@example.org.",
              check_deliverability=False)])


class StatementsForm(PortalForm):
    mission = TextAreaField("Mission", validators=[DataRequired("Enter the mission."),
                                                   Length(max=MAX_TEXT)])
    vision = TextAreaField("Vision", validators=[DataRequired("Enter the vision."),
                                                 Length(max=MAX_TEXT)])
    values = TextAreaField("Values, one per line", validators=[
        DataRequired("List at least one value."), Length(max=20_000)])


class DomainForm(PortalForm):
    title = StringField("Title", validators=[DataRequired("Enter the title."), Length(max=200)])
    goal = TextAreaField("Goal", validators=[DataRequired("Enter the goal."),
                                             Length(max=MAX_TEXT)])


class ObjectiveForm(PortalForm):
    text = TextAreaField("Objective text", validators=[DataRequired("Enter the text."),
                                                       Length(max=MAX_TEXT)])


class NewObjectiveForm(ObjectiveForm):
    code = StringField("Code", validators=[DataRequired("Enter a code."), Length(max=16)])


class AuditFilterForm(QueryForm):

    action = SelectField("Action", choices=choice_list([("", "Any action")]),
                         validators=[Optional()],
                         validate_choice=False)
    actor = StringField("Actor contains", validators=[Optional(), Length(max=254)])
    target_type = StringField("Target type", validators=[Optional(), Length(max=64)])
    # Days in the admin's own time zone, named in the labels.
    date_from = DateField("From (date, {zone})", validators=[Optional()])
    date_to = DateField("To (date, {zone})", validators=[Optional()])

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.zone_name = timezones.current_name()
        for field in (self.date_from, self.date_to):
            field.label.text = field.label.text.replace("{zone}", self.zone_name)
