"""Helpers shared by the forms of every area."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms.validators import Length

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
