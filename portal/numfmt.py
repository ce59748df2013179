"""How the leadership pages write numbers: one place, so every page reads the same.

- No "-0", "+0.00" or "-0%": a value that rounds to zero is written as plain zero.
- p-values below 0.001 read "p < 0.001", never "p 0.000".
- Counts carry thousands separators.
- Decimals are fixed per measure: shares in whole percent, means and gaps to two
  decimals (fewer where the disclosure step rounded them), differences of shares
  in whole percentage points.
"""

from __future__ import annotations

MINUS = "-"


def _rounds_to_zero(x: float, digits: int) -> bool:
    return round(x, digits) == 0


def number(x: float | None, digits: int = 2) -> str:
    """A plain number; a value that rounds to zero never shows a sign."""
    if x is None:
        return "–"
    if _rounds_to_zero(x, digits):
        x = 0.0
    return f"{x:.{digits}f}"


def signed(x: float | None, digits: int = 2) -> str:
    """A difference with its sign ("+0.42", "-1.19"), plain "0.00" when it rounds to zero."""
    if x is None:
        return "–"
    if _rounds_to_zero(x, digits):
        return f"{0.0:.{digits}f}"
    return f"{x:+.{digits}f}"


def percent(share: float | None, digits: int = 0) -> str:
    """A share (0..1) in percent: "62%"."""
    if share is None:
        return "–"
    return f"{number(100 * share, digits)}%"


def points(diff: float | None, digits: int = 0) -> str:
    """A difference of two shares (in 0..1 units) in percentage points: "+5 pts"."""
    if diff is None:
        return "–"
    return f"{signed(100 * diff, digits)} pts"


def count(n: int | None) -> str:
    """A count with thousands separators: "50,000"."""
    return "–" if n is None else f"{int(n):,}"


def pvalue(p: float | None, name: str = "p") -> str:
    """"p = 0.012", "p < 0.001" (never "p 0.000"); "adjusted p < 0.001" with name."""
    if p is None:
        return f"{name} not available"
    if p < 0.001:
        return f"{name} < 0.001"
    return f"{name} = {min(p, 1.0):.3f}"


def interval(lo: float | None, hi: float | None, digits: int = 2, sign: bool = False) -> str:
    """"3.10 to 3.42" (or with signs for differences)."""
    if lo is None or hi is None:
        return ""
    fmt = signed if sign else number
    return f"{fmt(lo, digits)} to {fmt(hi, digits)}"


def percent_interval(lo: float | None, hi: float | None) -> str:
    """"55–68%"."""
    if lo is None or hi is None:
        return ""
    return f"{number(100 * lo, 0)}–{number(100 * hi, 0)}%"


def plural(n: int, singular: str, plural_form: str | None = None) -> str:
    """A count with its noun in the right number: "1 problem", "2 problems",
    "1 survey opened or closed"."""
    word = singular if int(n) == 1 else (plural_form or singular + "s")
    return f"{int(n):,} {word}"


def ordinal(n: int) -> str:
    """1st, 2nd, 3rd, 4th, 11th, 12th, 13th, 21st, 22nd ..."""
    n = int(n)
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def rank_range(best: int, worst: int) -> str:
    """A rank the data settle ("1st") or only narrow ("1st–3rd")."""
    return ordinal(best) if best == worst else f"{ordinal(best)}–{ordinal(worst)}"


def init_app(app) -> None:
    env = app.jinja_env.filters
    env["plural"] = plural
    env["num"] = number
    env["signed"] = signed
    env["percent"] = percent
    env["points"] = points
    env["count"] = count
    env["pvalue"] = pvalue
    env["rank_range"] = rank_range
