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
