"""Helpers shared by the forms of every area."""

from __future__ import annotations

from flask_wtf import FlaskForm

from portal.errors import PortalError


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


class QueryForm(FlaskForm):
    """A filter form read from the query string (GET): it changes nothing, so it
    carries no CSRF token; the server still validates every value."""

    class Meta:
        csrf = False
