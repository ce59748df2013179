"""Helpers shared by the forms of every area."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import DateTimeLocalField, SelectField
from wtforms.validators import Length, ValidationError

from portal import timezones
from portal.errors import PortalError

# WTForms' default messages name no field ("This field is required."); PortalForm
# rewrites them so that the message alone, inline or in the error summary, says which
# field and what to do (GOV.UK style).
_GENERIC_REQUIRED = {"This field is required."}
_GENERIC_CHOICE = {"Not a valid choice.", "Invalid Choice: could not coerce.",
                   "'%(value)s' is not a valid choice for this field."}
_GENERIC_NUMBER = {"Not a valid integer value.": "a whole number",
                   "Not a valid decimal value.": "a number",
                   "Not a valid float value.": "a number"}
_DETERMINERS = {"a", "an", "the", "your", "my", "our", "their", "its", "this", "that"}
_CHOICE_TYPES = {"RadioField", "SelectField", "SelectMultipleField", "BooleanField"}


def _phrase(label: str) -> str:
    text = label.strip().rstrip(":.")
    if len(text) > 1 and not text[:2].isupper():
        text = text[0].lower() + text[1:]
    return text


def required_message(field) -> str:
    """'Enter your comment', 'Select a region', 'Answer “Why …?”'."""
    label = field.label.text if field.label else field.name
    if label.rstrip().endswith("?"):
        return f"Answer the question “{label.strip()}”."
    verb = "Select" if field.type in _CHOICE_TYPES else "Enter"
    phrase = _phrase(label)
    if phrase.split(" ", 1)[0] not in _DETERMINERS:
        phrase = "the " + phrase
    return f"{verb} {phrase}."


def too_long_message(field, limit: int, length: int) -> str:
    """The message for a text over its maximum: the field, the limit and how far over."""
    label = field.label.text if field.label else field.name
    over = length - limit
    return (f"{label.strip().rstrip(':.?')} must be {limit:,} characters or fewer. "
            f"It has {length:,} now: shorten it by {over:,} "
            f"character{'' if over == 1 else 's'}.")


def _length_messages(field) -> set[str]:
    return {v.message for v in field.validators
            if isinstance(v, Length) and isinstance(v.message, str)}


def name_errors(form: FlaskForm) -> None:
    """Replace WTForms' anonymous messages on `form` with ones that name the field."""
    for field in form:
        if not field.errors or field.type == "CSRFTokenField":
            continue
        errors = list(field.errors)
        limit = getattr(field.flags, "maxlength", None)
        data = field.data if isinstance(field.data, str) else None
        counted = field.type in ("StringField", "TextAreaField")  # as the form macro
        if counted and limit and data is not None and len(data) > limit:
            known = _length_messages(field)
            errors = [e for e in errors if e not in known
                      and not e.startswith(("Field must be", "Field cannot be longer"))]
            errors.insert(0, too_long_message(field, limit, len(data)))
        out = []
        for e in errors:
            if e in _GENERIC_REQUIRED:
                e = required_message(field)
            elif e in _GENERIC_NUMBER:
                e = f"Enter the {_phrase(field.label.text)} as {_GENERIC_NUMBER[e]}."
            elif e in _GENERIC_CHOICE:
                e = f"Select one of the options listed for the {_phrase(field.label.text)}."
            if e not in out:
                out.append(e)
        field.errors = out


class PortalForm(FlaskForm):
    """Every portal form: validation messages that name their field."""

    def validate(self, extra_validators=None) -> bool:
        # Browsers send a textarea's line breaks as CRLF; counted as one character, as
        # the live count and the services count them, so a text that fits is not refused.
        for field in self:
            if field.type == "TextAreaField" and isinstance(field.data, str):
                field.data = field.data.replace("\r\n", "\n")
        ok = super().validate(extra_validators=extra_validators)
        if not ok:
            name_errors(self)
        return ok


def attach_error(form: FlaskForm, err: PortalError) -> None:
    """Show a domain error next to its field (or above the form when it names none)."""
    field = getattr(form, err.field, None) if err.field else None
    if field is not None and hasattr(field, "errors"):
        if not isinstance(field.errors, list):
            field.errors = list(field.errors)
        field.errors.append(err.message)
    else:
        form.form_errors.append(err.message)


try:  # WTForms 3.3 deprecates (value, label) tuples in favour of SelectChoice.
    from wtforms.fields.choices import SelectChoice
except ImportError:  # pragma: no cover - older WTForms
    SelectChoice = None


def choice_list(pairs) -> list:
    """Choices for a SelectField or RadioField from (value, label) pairs, in the form
    the installed WTForms expects without deprecation warnings."""
    if SelectChoice is None:
        return [tuple(p) for p in pairs]
    return [SelectChoice(value, label) for value, label in pairs]


def choice_value(choice) -> str:
    return next(iter(choice))


class QueryForm(PortalForm):
    """A filter form read from the query string (GET): it changes nothing, so it
    carries no CSRF token; the server still validates every value."""

    class Meta:
        csrf = False


class ZonedDateTimeField(DateTimeLocalField):
    """A date and time typed in the editor's own time zone. `data` is the naive UTC the
    database stores: typed text is read in the zone and converted, a stored value is
    shown back in the zone. "{zone}" in the label becomes the zone's name, so the field
    says which clock it reads. A time skipped when clocks go forward is refused."""

    def __init__(self, label=None, validators=None, zone: str | None = None, **kwargs):
        self.zone_name = timezones.normalise(zone) if zone else timezones.current_name()
        if isinstance(label, str):
            label = label.replace("{zone}", self.zone_name)
        super().__init__(label, validators, **kwargs)

    def process_formdata(self, valuelist):
        self.skipped: str | None = None
        super().process_formdata(valuelist)
        if self.data is None:
            return
        if not timezones.exists(self.data, self.zone_name):
            typed = self.data.strftime("%-d %B %Y, %H:%M")
            self.data = None
            self.skipped = (f"{typed} does not exist in {self.zone_name}: the clocks go "
                            "forward then. Choose a time an hour later or earlier.")
            return
        self.data = timezones.to_utc(self.data, self.zone_name)

    def post_validate(self, form, validation_stopped):
        # After the validators: a "required" one would replace this message by its own.
        if getattr(self, "skipped", None):
            self.errors = [self.skipped]

    def _value(self):
        if self.raw_data:
            return " ".join(self.raw_data)
        if self.data is None:
            return ""
        local = timezones.to_local(self.data, self.zone_name)
        return local.strftime(self.format[0])


class TimeZoneField(SelectField):
    """The zones grouped by region, with the person's own zone offered even when it is
    an older name a browser reported (Asia/Calcutta). Any zone of the tz database is
    accepted; anything else is refused with a message."""

    def __init__(self, label=None, validators=None, **kwargs):
        super().__init__(label, validators, choices=[], **kwargs)
        self._offered = timezones.choices()

    def _zone_choices(self) -> list:
        offered = self._offered
        if self.data and timezones.is_valid(self.data) and \
                self.data not in {value for value, _, _ in offered}:
            offered = [*offered, (self.data, self.data, "Other")]
        if SelectChoice is None:  # pragma: no cover - older WTForms
            return [(value, text) for value, text, _ in offered]
        return [SelectChoice(value, text, optgroup=group or None)
                for value, text, group in offered]

    def iter_choices(self):
        self.choices = self._zone_choices()
        return super().iter_choices()

    def has_groups(self):
        self.choices = self._zone_choices()
        return super().has_groups()

    def iter_groups(self):
        self.choices = self._zone_choices()
        return super().iter_groups()

    def pre_validate(self, form):
        if not timezones.is_valid(self.data):
            raise ValidationError("Choose your time zone from the list.")
