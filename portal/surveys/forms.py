"""Forms of the member survey pages.

The questions of a section are defined by admins at run time, so their fields are
read and checked by `portal.surveys.answers`; these Flask-WTF forms carry the
CSRF token and the button that was pressed.
"""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import HiddenField


class SectionForm(FlaskForm):
    """One page of a survey. Buttons post `action` = next, previous or save."""


class ActionForm(FlaskForm):
    """Start, change answers or submit: a button and the CSRF token."""

    confirm = HiddenField(default="yes")
