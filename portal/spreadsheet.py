"""Text that spreadsheet programs must not run as a formula (CSV injection).

A cell whose text starts with = + - @ (or a tab, CR or LF) is prefixed with an
apostrophe so Excel, LibreOffice and Sheets show it as text. Invisible characters
and whitespace in front of the formula character do not hide it: spreadsheet
programs skip a byte-order mark, zero-width characters, bidi marks and spaces, and
still run what follows. Every CSV and XLSX export goes through `formula_safe`.
"""

from __future__ import annotations

import unicodedata
from typing import Any

# ASCII starters, plus the full-width and small forms some spreadsheet locales
# (and IMEs) treat as the same operators, and the minus sign.
FORMULA_STARTS = frozenset("=+-@\t\r\n\uff1d\uff0b\uff0d\uff20\ufe62\ufe63\ufe66\u2212")
# Letters that render as nothing (Hangul fillers, the braille blank) but are not
# format or space characters in Unicode's categories.
INVISIBLE_LETTERS = frozenset("\u115f\u1160\u3164\uffa0\u2800")


def _ignorable(ch: str) -> bool:
    # Cc: control characters; Cf: format characters (U+FEFF byte-order mark,
    # U+200B-U+200D zero-width space/non-joiner/joiner, U+2060 word joiner,
    # U+200E/U+200F and U+202A-U+202E, U+2066-U+2069 bidi marks, U+00AD soft hyphen);
    # Z*: every kind of space and line/paragraph separator.
    return (ch.isspace() or ch in INVISIBLE_LETTERS
            or unicodedata.category(ch) in ("Cc", "Cf", "Zs", "Zl", "Zp"))


def starts_like_formula(text: str) -> bool:
    """True when a spreadsheet could read `text` as a formula."""
    for ch in text:
        if ch in FORMULA_STARTS:
            return True
        if not _ignorable(ch):
            return False
    return False


def formula_safe(value: Any) -> Any:
    """`value` itself, or, for text a spreadsheet could run, the text behind an apostrophe."""
    if isinstance(value, str) and starts_like_formula(value):
        return "'" + value
    return value
