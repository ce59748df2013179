"""Forms of the member survey pages.

The questions of a section are defined by admins at run time, so their fields are
read and checked by `portal.surveys.answers`; these Flask-WTF forms carry the
CSRF token and the button that was pressed.
"""

from __future__ import annotations

from wtforms import HiddenField

from portal.forms import PortalForm


class SectionForm(PortalForm):
    """One page of a survey. Buttons post `action` = next, previous or save."""


class ActionForm(PortalForm):
    """Start, change answers or submit: a button and the CSRF token."""

    confirm = HiddenField(default="yes")
