"""Report tables: one structure rendered by the pages and written by the exports.

A page builds `Table`s whose cells already went through `portal.privacy`; the
HTML macro, the CSV writer and the XLSX writer all read the same cells, so an
export can never show a figure the page hides.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from portal import numfmt, privacy
from portal.spreadsheet import formula_safe


@dataclass(frozen=True)
class Cell:
    """One table cell: `text` for the page, `values` for the exports (one per
    export column of its Column), `sort` for ordering (None sorts last)."""

    text: str
    values: tuple[Any, ...] = ()
    sort: Any = None
    sub: str = ""            # second line on the page, e.g. the interval
    flag: str = ""           # extra marker text (e.g. "▲ higher")
    css: str = ""            # class for the cell (heatmap shading)
    href: str | None = None
    suppressed: bool = False


@dataclass(frozen=True)
class Column:
    key: str
    label: str
    numeric: bool = True
    export_labels: tuple[str, ...] = ()
    abbr: str | None = None
    sortable: bool = True

    @property
    def exports(self) -> tuple[str, ...]:
        return self.export_labels or (self.label,)


@dataclass
class Table:
    name: str                  # used in export file names and URLs
    caption: str
    columns: list[Column]
    rows: list[dict[str, Cell]] = field(default_factory=list)
    row_header: str | None = None   # the column whose cells are row headers (th scope=row)
    note: str = ""

    def sorted_by(self, key: str | None, descending: bool) -> Table:
        """A copy sorted by one column (None values last in either direction)."""
        if key is None or key not in {c.key for c in self.columns if c.sortable}:
            return self

        def sort_key(row: dict[str, Cell]):
            s = row[key].sort
            return (s is None, s if s is not None else 0)

        present = [r for r in self.rows if r[key].sort is not None]
        missing = [r for r in self.rows if r[key].sort is None]
        present.sort(key=sort_key, reverse=descending)
        return Table(self.name, self.caption, self.columns, present + missing,
                     self.row_header, self.note)

    def export_header(self) -> list[str]:
        return [label for c in self.columns for label in c.exports]

    def export_rows(self) -> list[list[Any]]:
        out = []
        for row in self.rows:
            line: list[Any] = []
            for c in self.columns:
                cell = row[c.key]
                vals = cell.values or (cell.text,)
                vals = tuple(vals) + ("",) * (len(c.exports) - len(vals))
                line.extend(vals[: len(c.exports)])
            out.append(line)
        return out


# ---------------------------------------------------------------------------
# Cell helpers: every figure passes through portal.privacy here.


def suppressed_cell(width: int = 1, label: str | None = None) -> Cell:
    label = label or privacy.suppressed_label()
    return Cell(label, (label,) + ("",) * (width - 1), None, suppressed=True)


def empty_cell(width: int = 1) -> Cell:
    return Cell("–", ("",) * width, None)


def text_cell(text: str, href: str | None = None, sort: Any = None) -> Cell:
    return Cell(text, (text,), text if sort is None else sort, href=href)


def count_cell(n: int | None, withheld: bool = False) -> Cell:
    """A count already passed through privacy (None = suppressed; `withheld`: hidden
    because it would give away a small group by difference)."""
    if withheld:
        return suppressed_cell(label=privacy.withheld_label())
    if n is None:
        return suppressed_cell()
    return Cell(f"{n:,}", (n,), n)


def pct(x: float | None, digits: int = 0) -> str:
    return numfmt.percent(x, digits)


def share_cell(est, reportable: bool, with_interval: bool = True, allowed: bool = True) -> Cell:
    """A Proportion as "62%" with "55–68%" beneath; exported as percentages.

    `reportable`: its base is large enough; `allowed`: it passes the rule for shares
    (SliceEstimate.show_share), else it reads as hidden because of a small group."""
    width = 3 if with_interval else 1
    # k of n also tells n - k: a share is a pair of counts, and both must be reportable,
    # or "97% of 31" would give away the one member a suppressed table cell hides.
    if not reportable:
        return suppressed_cell(width)
    if not allowed and est.n and privacy.is_reportable_split(est.k, est.n):
        return suppressed_cell(width, privacy.withheld_label())
    if not allowed or not privacy.is_reportable_split(est.k, est.n):
        return suppressed_cell(width, privacy.split_suppressed_label())
    if est.p is None:
        return empty_cell(width)
    values: tuple = (round(100 * est.p, 1),)
    sub = ""
    if with_interval:
        values += (round(100 * est.lo, 1), round(100 * est.hi, 1))
        sub = numfmt.percent_interval(est.lo, est.hi)
    return Cell(pct(est.p), values, est.p, sub=sub)


def mean_cell(est, reportable: bool, digits: int = 2, signed: bool = False) -> Cell:
    """A Mean (or paired difference) as "4.12" with its interval beneath."""
    if not reportable:
        return suppressed_cell(3)
    if est.mean is None:
        # No mean although there are answers: the disclosure step withheld it.
        return suppressed_cell(3, privacy.withheld_label()) if est.n else empty_cell(3)
    fmt = numfmt.signed if signed else numfmt.number
    lo = "" if est.lo is None else round(est.lo, 3)
    hi = "" if est.hi is None else round(est.hi, 3)
    sub = numfmt.interval(est.lo, est.hi, digits, sign=signed)
    return Cell(fmt(est.mean, digits), (round(est.mean, 3), lo, hi), est.mean, sub=sub)


# ---------------------------------------------------------------------------
# Writers


def to_csv(table: Table) -> str:
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow([csv_safe(v) for v in table.export_header()])
    for row in table.export_rows():
        writer.writerow([csv_safe(v) for v in row])
    return buf.getvalue()


def csv_safe(value: Any) -> Any:
    """Neutralise spreadsheet formulas in text cells (CSV injection), even behind a
    byte-order mark, invisible characters or whitespace (portal/spreadsheet.py)."""
    return formula_safe(value)


def _write(sheet, row: int, col: int, value: Any, fmt=None) -> None:
    # Text always as a string cell, guarded like the CSV: never a formula, and safe
    # again when someone saves the sheet as CSV.
    if isinstance(value, str):
        sheet.write_string(row, col, formula_safe(value), fmt)
    else:
        sheet.write(row, col, value, fmt)


def to_xlsx(tables: Sequence[Table], title: str) -> bytes:
    """One worksheet per table; numbers stay numbers."""
    import xlsxwriter

    buf = io.BytesIO()
    book = xlsxwriter.Workbook(buf, {"in_memory": True, "strings_to_formulas": False,
                                     "strings_to_urls": False})
    bold = book.add_format({"bold": True})
    used: set[str] = set()
    for table in tables:
        name = _sheet_name(table.name, used)
        sheet = book.add_worksheet(name)
        _write(sheet, 0, 0, table.caption, bold)
        if table.note:
            _write(sheet, 1, 0, table.note)
        header = table.export_header()
        for col, label in enumerate(header):
            _write(sheet, 3, col, label, bold)
        for r, row in enumerate(table.export_rows(), start=4):
            for c, value in enumerate(row):
                _write(sheet, r, c, value)
        sheet.set_column(0, max(len(header) - 1, 0), 16)
    book.set_properties({"title": title})
    book.close()
    return buf.getvalue()


def _sheet_name(name: str, used: set[str]) -> str:
    base = "".join(ch for ch in name if ch not in "[]:*?/\\")[:28] or "table"
    candidate, i = base, 2
    while candidate in used:
        candidate = f"{base[:25]}-{i}"
        i += 1
    used.add(candidate)
    return candidate


Builder = Callable[[], list[Table]]
