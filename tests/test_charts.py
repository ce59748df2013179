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


def test_scatter_labels_never_overlap_and_crowded_points_go_to_a_table():
    import itertools
    import random

    from portal.charts import Point, _box, _overlaps, _place_labels

    rng = random.Random(4)
    centres = [(rng.uniform(80, 520), rng.uniform(40, 480)) for _ in range(40)]
    labels = [f"{chr(65 + i % 5)}{i}" for i in range(40)]
    dots = [(cx - 5, cy - 5, cx + 5, cy + 5) for cx, cy in centres]
    spots = _place_labels(centres, labels, dots, (64, 20, 540, 504))
    placed = [(i, _box(s[0], s[1], labels[i], s[2], 11)) for i, s in enumerate(spots) if s]
    assert len(placed) >= 30
    for (_, a), (_, b) in itertools.combinations(placed, 2):
        assert not _overlaps(a, b)
    for i, box in placed:
        assert not any(_overlaps(box, dot) for j, dot in enumerate(dots) if j != i)
    # Twelve objectives on one spot: some names cannot sit beside it and are listed.
    crowd = [Point(f"X{i}", 3.0 + i * 0.001, 3.0) for i in range(12)]
    svg, _, listed = str(charts.scatter(crowd, 3.0, 3.0, "t", "d")).partition("</svg>")
    assert "Points not labelled in the chart for lack of room" in listed
    for i in range(12):
        assert (f">X{i}<" in svg) != (f">X{i}<" in listed), i
