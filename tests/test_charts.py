"""Charts are never drawn empty, and rows left out say so once, under the chart."""

from __future__ import annotations

from portal import charts
from portal.charts import Distribution

FULL = {1: 5, 2: 10, 3: 20, 4: 40, 5: 25}


def test_a_row_with_a_hidden_answer_is_left_out_and_named_once_under_the_chart():
    out = str(charts.diverging(
        [Distribution("Mid-career", FULL), Distribution("Retired", {**FULL, 1: None}),
         Distribution("Coarse", {}, groups={(1, 2, 3): 30, (4, 5): 40}),
         Distribution("Grouped", {}, groups={(1, 2): 30, (3,): 20, (4, 5): 50})],
        "Importance", "desc", {}))
    svg, _, note = out.partition("</svg>")
    assert "Mid-career" in svg and "Grouped" in svg
    assert "Retired" not in svg and "Coarse" not in svg and "Not drawn" not in svg
    assert note.count("Not drawn") == 1 and "Retired, Coarse" in note


def test_nothing_to_draw_is_one_sentence_not_an_empty_chart():
    hidden = str(charts.diverging([Distribution("Retired", {**FULL, 2: None})], "t", "d", {}))
    assert "<svg" not in hidden and "No bar can be drawn" in hidden
    empty = str(charts.diverging([Distribution("Nobody", dict.fromkeys(FULL, 0))], "t", "d", {}))
    assert "<svg" not in empty and "no figures to draw yet" in empty
    assert "<svg" not in str(charts.dot_whisker([], "t", "d"))


def test_labels_are_escaped():
    out = str(charts.diverging([Distribution("<b>x</b>", {**FULL, 3: None})], "t", "d", {}))
    assert "<b>x</b>" not in out
