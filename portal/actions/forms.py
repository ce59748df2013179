"""Forms of the action plans: an action, and a progress note on it."""

from __future__ import annotations

from wtforms import BooleanField, DateField, IntegerField, SelectField, StringField, TextAreaField
from wtforms.validators import InputRequired, Length, NumberRange, Optional

from portal.actions.services import MAX_DETAIL, MAX_FINDING_NOTE, MAX_NOTE, MAX_TITLE
from portal.forms import PortalForm, choice_list
from portal.models import ACTION_STATUS_LABELS, FINDING_LABELS


def _optional_int(value):
    if value in (None, "", "None"):
        return None
    return int(value)


STATUS_CHOICES = [(s.value, label) for s, label in ACTION_STATUS_LABELS.items()]


class ActionForm(PortalForm):
    objective = SelectField("Objective", choices=[],
                            validators=[InputRequired(message="Choose the objective the "
                                                              "action is about.")])
    title = StringField("Title", validators=[
        InputRequired(message="Enter a short title for the action."),
        Length(max=MAX_TITLE, message=f"Keep the title under {MAX_TITLE} characters.")])
    detail = TextAreaField("What will be done", validators=[
        Length(max=MAX_DETAIL, message=f"Keep the description under {MAX_DETAIL:,} "
                                       "characters.")])
    owner_id = SelectField("Owner", coerce=_optional_int, choices=[],
                           validate_choice=True)
    due_on = DateField("Due date", validators=[
        InputRequired(message="Enter the date the action is due, for example 2027-03-31.")])
    status = SelectField("Status", choices=choice_list(STATUS_CHOICES),
                         validators=[InputRequired(message="Choose a status.")])
    progress = IntegerField("Progress (percent)", default=0, validators=[
        InputRequired(message="Enter the progress as a whole number from 0 to 100."),
        NumberRange(min=0, max=100, message="Progress is a whole number from 0 to 100.")])
    finding_kind = SelectField("What prompted it", choices=choice_list(
        (k.value, label) for k, label in FINDING_LABELS.items()),
        validators=[InputRequired(message="Choose what prompted the action.")])
    finding_note = StringField("The finding, in a sentence", validators=[
        Length(max=MAX_FINDING_NOTE, message=f"Keep what was found under "
                                             f"{MAX_FINDING_NOTE} characters.")])
    finding_url = StringField("Link to the evidence", validators=[Optional(), Length(max=500)])
    published = BooleanField("Show this action to members on the objective's page")

    def set_choices(self, objectives, owners) -> None:
        self.objective.choices = choice_list(
            [("", "Choose an objective"),
             *((o.code, f"{o.code} {o.text[:70]}") for o in objectives)])
        self.owner_id.choices = choice_list(
            [("", "No owner yet"), *((str(u.id), u.display_name or u.email) for u in owners)])


class NoteForm(PortalForm):
    body = TextAreaField("Progress note", validators=[
        Length(max=MAX_NOTE, message=f"Keep the note under {MAX_NOTE:,} characters.")])
    status = SelectField("Status", choices=choice_list([("", "Keep the status"),
                                                        *STATUS_CHOICES]))
    progress = IntegerField("Progress (percent)", validators=[
        Optional(), NumberRange(min=0, max=100,
                                message="Progress is a whole number from 0 to 100.")])
