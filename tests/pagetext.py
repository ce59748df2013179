"""Reading report tables as text in tests.

A hidden cell shows its note number ("[1]", with "hidden, see note 1 below the table"
for screen readers) and the table's notes under it give the words once. Tests that read
a row's cells as words put each note's words back into its cells first.
"""

from __future__ import annotations

import re

_TABLE = re.compile(r'<div class="report-table" id="([^"]+)">(.*?)</table>\s*</div>\s*'
                    r'(?:<ol class="table-notes"[^>]*>(.*?)</ol>)?', re.S)
_NOTE = re.compile(r'<li id="[^"]+-note-(\d+)">\[\d+\] (hidden: fewer than \d+ on one side|'
                   r"withheld to protect a small group|fewer than \d+|[^:<.]*)", re.S)
_CELL = re.compile(r'<span aria-hidden="true">\[(\d+)\]</span><span class="visually-hidden">'
                   r"hidden, see note \d+ below the table</span>")


def inline_table_notes(html: str) -> str:
    """The page with each hidden cell's note number replaced by its note's words."""
    def table(m: re.Match) -> str:
        notes = dict(_NOTE.findall(m.group(3) or ""))
        return _CELL.sub(lambda c: notes.get(c.group(1), c.group(0)), m.group(0))

    return _TABLE.sub(table, html)
