"""Campaign e-mail texts: placeholders, checking them and filling them in."""

from __future__ import annotations

import string
from datetime import datetime

from portal import timezones

PLACEHOLDERS = {
    "name": ("the member's display name (or \u201cmember\u201d for a roster address "
             "without an account)"),
    "survey": "the title of the survey, or the name of the feedback round",
    "link": "the personal link to the survey or round (required)",
    "closes": ("the date and time the survey or round closes, in the recipient's time "
               "zone, or \u201cwhen it closes\u201d"),
}

DEFAULT_SUBJECT = "Your views, please: {survey}"
DEFAULT_BODY = (
    "Hello {name},\n\n"
    "The association would like to hear from you in the survey \u201c{survey}\u201d.\n\n"
    "Your personal link (it works once, and only for you):\n\n{link}\n\n"
    "The survey is open until {closes}.\n\nThank you.\n")
DEFAULT_REMINDER_SUBJECT = "Reminder: {survey}"
DEFAULT_REMINDER_BODY = (
    "Hello {name},\n\n"
    "A short reminder: the survey \u201c{survey}\u201d is open until {closes}, and we "
    "have not yet heard from you.\n\nYour personal link:\n\n{link}\n\n"
    "If you have already taken part, thank you, and please ignore this message.\n")

# A feedback round's texts: its members rate the plan's objectives.
DEFAULT_ROUND_SUBJECT = "Your views on the strategic plan: {survey}"
DEFAULT_ROUND_BODY = (
    "Hello {name},\n\n"
    "The feedback round \u201c{survey}\u201d is open: tell the association how important "
    "each objective of its strategic plan is to you, and how well it is doing on it.\n\n"
    "Your personal link (it works once, and only for you):\n\n{link}\n\n"
    "The round is open until {closes}.\n\nThank you.\n")
DEFAULT_ROUND_REMINDER_BODY = (
    "Hello {name},\n\n"
    "A short reminder: the feedback round \u201c{survey}\u201d is open until {closes}, and "
    "we have not yet had your ratings.\n\nYour personal link:\n\n{link}\n\n"
    "If you have already rated, thank you, and please ignore this message.\n")

FOOTER = (
    "\n--\nYou receive this because you are on the association's member list.\n"
    "Unsubscribe from invitations and reminders: {unsubscribe}\n"
    "Your notification preferences: {preferences}\n")


def problems(text: str, *, need_link: bool) -> list[str]:
    """What is wrong with a template: unknown or malformed placeholders, no {link}."""
    found: set[str] = set()
    try:
        for _literal, field, spec, conversion in string.Formatter().parse(text):
            if field is None:
                continue
            if field == "" or spec or conversion or field not in PLACEHOLDERS:
                shown = "{" + field + "}" if field else "{}"
                return [f"Unknown placeholder {shown}: use only "
                        + ", ".join("{" + p + "}" for p in PLACEHOLDERS) + "."]
            found.add(field)
    except ValueError:
        return ["A brace is not closed: write placeholders as {name}; "
                "for a brace itself write {{ or }}."]
    if need_link and "link" not in found:
        return ["The message must contain {link}, the member's personal link."]
    return []


def fill(text: str, values: dict[str, str]) -> str:
    return text.format_map({k: values.get(k, "") for k in PLACEHOLDERS})


def closes_label(closes_at: datetime | None, zone: str | None = None) -> str:
    """When the survey closes, in `zone` (default: whoever the text is shown to)."""
    return timezones.format_datetime(closes_at, name=zone) if closes_at else "it closes"


def fill_footer(unsubscribe: str, preferences: str) -> str:
    return FOOTER.format(unsubscribe=unsubscribe, preferences=preferences)
