"""Small-group suppression: the one place that decides whether a figure may be shown.

Pages, exports and the API all pass their counts through these functions, so a
figure about fewer than PRIVACY_MIN_N people never leaves the portal.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping
from typing import TypeVar

from flask import current_app, has_app_context

K = TypeVar("K", bound=Hashable)

DEFAULT_MIN_N = 10
DEFAULT_MIN_COMMENTS = 20


def min_n() -> int:
    """The smallest number of people a shown figure may describe."""
    if has_app_context():
        return int(current_app.config.get("PRIVACY_MIN_N", DEFAULT_MIN_N))
    return DEFAULT_MIN_N


def min_comments() -> int:
    """The number of comments a slice needs before texts or themes are shown."""
    if has_app_context():
        return int(current_app.config.get("PRIVACY_MIN_COMMENTS", DEFAULT_MIN_COMMENTS))
    return DEFAULT_MIN_COMMENTS


def is_reportable(n: int | None, threshold: int | None = None) -> bool:
    """True when a group of `n` people is large enough to describe."""
    return n is not None and n >= (min_n() if threshold is None else threshold)


def suppressed_label(threshold: int | None = None) -> str:
    return f"fewer than {min_n() if threshold is None else threshold}"


def split_suppressed_label(threshold: int | None = None) -> str:
    """Text for a share hidden because one side of it (k or n - k) is a small group."""
    return f"hidden: fewer than {min_n() if threshold is None else threshold} on one side"


def suppress_cells(counts: Mapping[K, int], threshold: int | None = None) -> dict[K, int | None]:
    """Hide every cell describing between 1 and threshold-1 people (None = hidden).

    Where exactly one cell is hidden, the next smallest cell is hidden too, so
    the hidden one cannot be recovered by subtracting the others from a total.
    Zero cells describe nobody and stay visible; they never serve as the
    complementary cell, which must hide a real figure.
    """
    limit = min_n() if threshold is None else threshold
    hidden = {k for k, v in counts.items() if 0 < v < limit}
    if len(hidden) == 1:
        candidates = sorted(
            ((v, i, k) for i, (k, v) in enumerate(counts.items()) if k not in hidden and v > 0),
            key=lambda t: (t[0], t[1]),
        )
        if candidates:
            hidden.add(candidates[0][2])
    return {k: (None if k in hidden else v) for k, v in counts.items()}


def is_reportable_split(k: int, n: int, threshold: int | None = None) -> bool:
    """Whether k of n may be shown as a share: neither the k people nor the other
    n - k may be a group of 1 to threshold-1 (an empty side describes nobody)."""
    return all(part == 0 or is_reportable(part, threshold) for part in (k, n - k))


def suppress_total(n: int, threshold: int | None = None) -> int | None:
    """A single figure about `n` people: shown only when n reaches the threshold."""
    return n if n == 0 or is_reportable(n, threshold) else None


def withheld_label() -> str:
    """Text for a figure withheld because, with the figures beside it, it would give
    back a hidden count (portal.disclosure)."""
    return "withheld to protect a small group"


def suppression_reason(label: str) -> str:
    """What a table's note adds to a suppressed cell's label: why it is hidden."""
    if label == withheld_label():
        return (": with the figures beside it, this figure would give back a count of "
                f"fewer than {min_n()} members, so it is not shown.")
    if label.startswith("hidden: fewer than"):
        return (": a share is two counts (those who gave the answer and those who did "
                "not), and one of them is a group too small to show.")
    if label.startswith("fewer than"):
        return " members: too few to show without risking that someone is recognised."
    return "."


def display(value: int | float | None, threshold: int | None = None, fmt: str = "{}") -> str:
    """Text for a cell: the figure, or "fewer than N" when it was suppressed."""
    if value is None:
        return suppressed_label(threshold)
    return fmt.format(value)
