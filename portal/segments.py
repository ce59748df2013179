"""The member segment dimensions, declared once.

Forms, reports, exports, the roster import and the demo data all read this
module; nothing else lists segment values.
"""

from __future__ import annotations

from dataclasses import dataclass

PREFER_NOT = "undisclosed"
PREFER_NOT_LABEL = "Prefer not to say"
# Stored on an anonymous survey response in place of a value that too few
# participants share (portal/surveys/generalise.py).
GENERALISED = "generalised"
GENERALISED_LABEL = "Other or not shown"


@dataclass(frozen=True)
class Dimension:
    key: str  # column name on users and on anonymous survey responses
    label: str
    question: str
    values: tuple[tuple[str, str], ...]  # (code, label), without "Prefer not to say"

    @property
    def choices(self) -> list[tuple[str, str]]:
        """Every answer a member may give, "Prefer not to say" last."""
        return [*self.values, (PREFER_NOT, PREFER_NOT_LABEL)]

    @property
    def codes(self) -> list[str]:
        return [code for code, _ in self.choices]

    def label_for(self, code: str | None) -> str:
        if code is None:
            return "Not answered"
        if code == GENERALISED:
            return GENERALISED_LABEL
        return dict(self.choices).get(code, code)


DIMENSIONS: tuple[Dimension, ...] = (
    Dimension(
        "career_stage",
        "Career stage",
        "Where are you in your career?",
        (
            ("student", "Student or new to the field"),
            ("early", "Early career (0–5 years)"),
            ("mid", "Mid-career (6–15 years)"),
            ("senior", "Experienced (16+ years)"),
            ("retired", "Retired"),
        ),
    ),
    Dimension(
        "library_type",
        "Library type",
        "What kind of library do you work in?",
        (
            ("academic", "Academic"),
            ("public", "Public"),
            ("school", "School"),
            ("special", "Special (corporate, medical, law, government)"),
            ("other", "Other or not in a library"),
        ),
    ),
    Dimension(
        "work_role",
        "Role at work",
        "What is your role at work?",
        (
            ("librarian", "Librarian"),
            ("support", "Library support staff"),
            ("manager", "Manager or administrator"),
            ("educator", "Educator or researcher"),
            ("other", "Other"),
        ),
    ),
    Dimension(
        "region",
        "Region",
        "Where do you live?",
        (
            ("northeast", "Northeast (US)"),
            ("midwest", "Midwest (US)"),
            ("south", "South (US)"),
            ("west", "West (US)"),
            ("international", "International"),
        ),
    ),
    Dimension(
        "membership_type",
        "Membership type",
        "What type of membership do you hold?",
        (
            ("regular", "Regular"),
            ("student", "Student"),
            ("support_staff", "Support staff"),
            ("retired", "Retired"),
            ("trustee_associate", "Trustee or associate"),
        ),
    ),
)

BY_KEY: dict[str, Dimension] = {d.key: d for d in DIMENSIONS}
KEYS: tuple[str, ...] = tuple(d.key for d in DIMENSIONS)


def get(key: str) -> Dimension | None:
    """The dimension called `key`, or None for an unknown name (routes answer 404)."""
    return BY_KEY.get(key)


def is_valid(key: str, code: str | None) -> bool:
    dim = BY_KEY.get(key)
    return dim is not None and (code is None or code in dim.codes)


def filter_choices(not_answered: str, all_label: str = "All members",
                   keys: tuple[str, ...] | None = None, generalised: bool = False
                   ) -> list[tuple[str, str]]:
    """(value, label) pairs for a "members in segment" filter: every value of every
    dimension as "dimension:code", and "dimension:<not_answered>" for members who
    did not say. The first pair (value "") means no filter. `keys` limits the
    dimensions (a survey's breakdown); `generalised` adds "Other or not shown"."""
    out = [("", all_label)]
    for d in DIMENSIONS:
        if keys is not None and d.key not in keys:
            continue
        out += [(f"{d.key}:{code}", f"{d.label}: {label}") for code, label in d.choices]
        if generalised:
            out.append((f"{d.key}:{GENERALISED}", f"{d.label}: {GENERALISED_LABEL}"))
        out.append((f"{d.key}:{not_answered}", f"{d.label}: Not answered"))
    return out
