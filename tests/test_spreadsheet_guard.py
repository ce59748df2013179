"""No formula reaches a spreadsheet through a CSV or XLSX export, whatever hides it."""

from __future__ import annotations

import csv
import io

import openpyxl
import pytest
from hypothesis import given
from hypothesis import strategies as st

from portal.reports import comments as report_comments
from portal.reports.tables import Cell, Column, Table, csv_safe, to_csv, to_xlsx
from portal.spreadsheet import FORMULA_STARTS, formula_safe, starts_like_formula
from tests import factories

HIDERS = ["\ufeff", "\ufeff\ufeff", "\u200b", "\u200c", "\u200d", "\u2060", "\u200e",
          "\u200f", "\u202a", "\u202e", "\u2066", "\u2069", "\u00ad", "\x00", "\x01", "\x1f",
          "\x7f", " ", "  ", "\u00a0", "\u3000", "\u2028", "\u3164", "\ufeff \u200b"]
ATTACKS = ["=HYPERLINK(\"http://evil.example\")", "+1+cmd|' /C calc'!A0", "-2+3",
           "@SUM(1)", "\t=1", "\r=1", "\uff1dcmd()"]


@pytest.mark.parametrize("hider", HIDERS)
@pytest.mark.parametrize("attack", ATTACKS)
def test_invisible_characters_and_whitespace_do_not_hide_a_formula(hider, attack):
    value = hider + attack
    assert formula_safe(value) == "'" + value
    assert csv_safe(value).startswith("'")


def test_a_byte_order_mark_before_an_equals_sign_is_guarded():
    assert formula_safe("\ufeff=1+1") == "'\ufeff=1+1"


@pytest.mark.parametrize("plain", ["Plain words", "a=b", "Libraries: 3 + 4", "", "\ufeffHello",
                                   "2024-01-01", "\u200b\u200bnote"])
def test_ordinary_text_is_left_alone(plain):
    assert formula_safe(plain) == plain


def test_non_text_is_left_alone():
    assert formula_safe(-3) == -3 and formula_safe(None) is None and formula_safe(2.5) == 2.5


@given(st.lists(st.sampled_from(HIDERS), max_size=6).map("".join),
       st.sampled_from(sorted(FORMULA_STARTS)), st.text(max_size=20))
def test_any_invisible_prefix_before_a_formula_character_is_guarded(prefix, start, rest):
    assert formula_safe(prefix + start + rest).startswith("'")


@given(st.text(max_size=30))
def test_the_guard_only_ever_prefixes(text):
    out = formula_safe(text)
    assert out in (text, "'" + text)
    assert not starts_like_formula(out)


def _table(texts: list[str]) -> Table:
    table = Table(name="probe", caption="\ufeff=caption()",
                  columns=[Column("text", "\u200b=header()", numeric=False)])
    table.rows = [{"text": Cell(t)} for t in texts]
    return table


def test_csv_and_xlsx_writers_guard_every_text_cell():
    texts = [h + a for h in ("\ufeff", "\u200b ", "") for a in ATTACKS]
    table = _table(texts)
    rows = list(csv.reader(io.StringIO(to_csv(table))))
    assert all(cell.startswith("'") for row in rows for cell in row), rows
    book = openpyxl.load_workbook(io.BytesIO(to_xlsx([table], "probe")))
    cells = [c for row in book.active.iter_rows() for c in row if c.value is not None]
    assert cells and all(c.data_type == "s" and str(c.value).startswith("'") for c in cells)


def test_the_comment_export_guards_a_byte_order_mark(app, plan):
    rnd = factories.make_round()
    objective = factories.objective("A1")
    for i in range(20):
        factories.make_raw_comment(objective, rnd, f"\ufeff=HYPERLINK(\"x{i}\")", commit=False)
    factories.make_raw_comment(objective, rnd, "\u200b\u2060 +cmd|' /C calc'!A0")
    text = report_comments.export_csv(report_comments.CommentFilter())
    bodies = [row[-1] for row in list(csv.reader(io.StringIO(text)))[1:]]
    assert len(bodies) == 21 and all(b.startswith("'") for b in bodies)
